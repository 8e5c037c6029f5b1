"""`leadtime backfill` against a real `leadtime serve`, on a real repository with a past: merge
commits and squash merges that name their pull requests, annotated and lightweight release tags
as deploys, a deploy log. Truth from plain git."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.conftest import clean_env, run_leadtime
from tests.gitrepos import History, first_parent_between, plain_committed_at, plain_git
from tests.server.live import Pipeline

REPO = "https://github.com/acme/shop"


@pytest.fixture
def past(tmp_path):
    """Fifteen first-parent commits over the last 30 hours, released by two tags: v1.0
    (annotated, its tagger date an hour after its commit) and v1.1 (lightweight); two mergesets
    after v1.1 unreleased."""
    now = datetime.now(UTC).replace(microsecond=0)
    # Commits fall half an hour off the whole hours before now, so a `--since 8h` cutoff taken a
    # few seconds later by the test than by the CLI never lands between the two.
    start = now - timedelta(hours=30, minutes=30)
    history = History(tmp_path / "repo", start=start, tick=timedelta(hours=1))
    history.direct_pushes(3)
    history.merge("a", message="Merge pull request #41 from acme/a\n\nAdd the cart")
    history.squash("b", title="Fix the total (#42)")
    history.merge("c")
    v1 = history.squash("d", title="Show prices (#43)")
    history.annotated_tag("v1.0", at=history.committed_at(v1) + timedelta(hours=1))
    history.clock += timedelta(hours=1)
    history.fast_forward("e")
    history.merge("f", message="Merge pull request #44 from acme/f\n\nPay by card")
    history.merge("g")
    history.tag("v1.1")
    history.merge("h")
    history.squash("i", title="Refund (#45)")
    return history


def backfill(path, url: str, tmp_path, *args: str):
    env = clean_env(tmp_path, LEADTIME_URL=url)
    return run_leadtime(["backfill", str(path), "--repo", REPO, *args], env)


def api(url: str, path: str, **params):
    answer = httpx.get(f"{url}{path}", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_backfill_imports_the_past_and_its_tag_deploys_and_a_second_run_stores_nothing(
    served, tmp_path, past
):
    done = backfill(past.path, served, tmp_path, "--since", "all", "--deploys-from-tags", "v*")
    assert done.returncode == 0, done.stderr
    every = plain_git(past.path, "rev-list", "--first-parent", "main")
    assert f"mergesets  {len(every)}" in done.stdout and "deploys    2" in done.stdout

    mergesets = {m["sha"]: m for m in api(served, "/api/mergesets", limit=100)}
    assert set(mergesets) == set(every)
    numbers = {m["pr_number"]: m["pr_title"] for m in mergesets.values() if m["pr_number"]}
    assert numbers == {
        41: "Add the cart",
        42: "Fix the total",
        43: "Show prices",
        44: "Pay by card",
        45: "Refund",
    }
    v1, v11 = (
        plain_git(past.path, "rev-parse", f"{tag}^{{commit}}")[0] for tag in ("v1.0", "v1.1")
    )
    deploys = api(served, "/api/deploys")[::-1]
    assert [d["sha"] for d in deploys] == [v1, v11]
    assert [m["sha"] for m in deploys[0]["mergesets"]] == first_parent_between(past.path, None, v1)
    assert [m["sha"] for m in deploys[1]["mergesets"]] == first_parent_between(past.path, v1, v11)
    tagged_at = plain_committed_at(past.path, v1) + timedelta(hours=1)  # the tagger date
    assert datetime.fromisoformat(deploys[0]["finished_at"]) == tagged_at
    assert datetime.fromisoformat(deploys[1]["finished_at"]) == plain_committed_at(past.path, v11)
    for deploy in deploys:
        for mergeset in deploy["mergesets"]:
            truth = datetime.fromisoformat(deploy["finished_at"]) - plain_committed_at(
                past.path, mergeset["sha"]
            )
            assert mergesets[mergeset["sha"]]["lead_time_seconds"] == truth.total_seconds()
    oldest = plain_committed_at(past.path, every[-1])
    summary = api(served, "/api/summary", repo=REPO, window="30d")
    assert datetime.fromisoformat(summary["measured_since"]) == oldest

    again = backfill(
        past.path, served, tmp_path, "--since", "all", "--deploys-from-tags", "v*", "--json"
    )
    assert again.returncode == 0, again.stderr
    answer = json.loads(again.stdout)
    assert (answer["mergesets_new"], answer["deploys_new"]) == (0, 0)
    assert api(served, "/api/deploys")[::-1] == deploys


def test_after_a_backfill_the_first_live_deploy_ships_only_what_it_really_ships(
    served, tmp_path, past
):
    v11 = plain_git(past.path, "rev-parse", "v1.1^{commit}")[0]
    done = backfill(past.path, served, tmp_path, "--since", "all", "--deploys-from-tags", "v*")
    assert done.returncode == 0, done.stderr
    pipeline = Pipeline(past, served, tmp_path)
    live = past.merge("live-change")
    pipeline.test(live)
    pipeline.deploy(live)
    latest = api(served, "/api/deploys")[0]
    assert latest["sha"] == live
    assert [m["sha"] for m in latest["mergesets"]] == first_parent_between(past.path, v11, live)
    assert len(latest["mergesets"]) == 3  # h, i and the live change: not the imported past


def test_since_bounds_the_import_and_moves_the_adoption_point_to_its_oldest_mergeset(
    served, tmp_path, past
):
    done = backfill(
        past.path, served, tmp_path, "--since", "8h", "--deploys-from-tags", "v*", "--json"
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    cutoff = datetime.now(UTC) - timedelta(hours=8)
    recent = plain_git(
        past.path, "rev-list", "--first-parent", f"--since={cutoff.timestamp():.0f}", "main"
    )
    assert answer["mergesets"] == answer["mergesets_new"] == len(recent)
    assert datetime.fromisoformat(answer["measured_since"]) == plain_committed_at(
        past.path, recent[-1]
    )


def test_a_deploy_log_imports_its_deploys_and_a_bad_entry_stops_it_with_nothing_sent(
    served, tmp_path, past
):
    v1 = plain_git(past.path, "rev-parse", "v1.0^{commit}")[0]
    head = plain_git(past.path, "rev-parse", "main")[0]
    bad = tmp_path / "deploys.csv"
    bad.write_text(
        "sha,environment,finished_at,status\n"
        f"{v1[:10]},production,2026-11-30T10:00:00Z,succeeded\n"
        f"{head},production,yesterday,succeeded\n"
    )
    done = backfill(past.path, served, tmp_path, "--since", "all", "--deploys", str(bad))
    assert done.returncode == 1
    assert "deploys.csv: line 3: finished_at 'yesterday' is not a time" in done.stderr
    assert "Traceback" not in done.stderr
    assert api(served, "/api/mergesets") == [] and api(served, "/api/deploys") == []

    log = tmp_path / "deploys.json"
    finished = plain_committed_at(past.path, head) + timedelta(minutes=5)
    entries = [
        {"sha": v1[:10], "finished_at": (finished - timedelta(hours=6)).isoformat()},
        {"sha": head, "finished_at": finished.isoformat(), "status": "succeeded"},
    ]
    log.write_text(json.dumps(entries))
    done = backfill(past.path, served, tmp_path, "--since", "all", "--deploys", str(log))
    assert done.returncode == 0, done.stderr
    deploys = api(served, "/api/deploys")
    assert [d["sha"] for d in deploys] == [head, v1]  # the short sha made whole
    assert [m["sha"] for m in deploys[0]["mergesets"]] == first_parent_between(past.path, v1, head)


def test_a_dry_run_sends_nothing_and_no_deploy_source_is_a_usage_error(served, tmp_path, past):
    done = backfill(past.path, served, tmp_path, "--deploys-from-tags", "v*", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "dry run: nothing sent" in done.stdout
    assert api(served, "/api/mergesets") == []
    refused = backfill(past.path, served, tmp_path)
    assert refused.returncode == 2
    assert "--deploys-from-tags GLOB or --deploys FILE" in refused.stderr
    assert api(served, "/api/mergesets") == []


def test_a_tag_already_reported_live_is_not_imported_twice(served, tmp_path, past):
    pipeline = Pipeline(past, served, tmp_path)
    v11 = plain_git(past.path, "rev-parse", "v1.1^{commit}")[0]
    pipeline.test(v11)
    pipeline.deploy(v11)  # reported as it happened
    done = backfill(past.path, served, tmp_path, "--since", "all", "--deploys-from-tags", "v*")
    assert done.returncode == 0, done.stderr
    deploys = api(served, "/api/deploys")
    assert [d["sha"] for d in deploys].count(v11) == 1
    assert len(deploys) == 2
