"""DORA's change lead time, from the first commit of a merged branch to production, beside the
lead time (merge -> production): read from git where the merge's second parent is there, by
`leadtime deploy` and by `leadtime backfill`. Truth from plain git (`git log p1..p2`)."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta

import httpx

from leadtime.tracer.gitinfo import first_commit_times
from tests.conftest import clean_env, run_leadtime
from tests.gitrepos import History, plain_git
from tests.server.live import Pipeline


def test_a_merge_begins_at_its_branch_oldest_commit_and_a_squash_has_no_branch():
    commits = {
        "m2": (["m1", "b3"], 50),
        "b3": (["b2", "m1"], 40),  # main merged back into the branch
        "b2": (["b1"], 30),
        "b1": (["m0"], 10),
        "m1": (["m0"], 20),
        "m0": ([], 0),
        "s1": (["m2"], 60),  # a squash merge: one parent
    }
    assert first_commit_times(["s1", "m2", "m1", "m0"], commits) == {"m2": 10}


def branch_start(history: History, merge: str) -> datetime:
    """Plain git: the author time of the oldest commit the merge brought in."""
    times = plain_git(history.path, "log", "--format=%at", f"{merge}^1..{merge}^2")
    return datetime.fromtimestamp(min(int(t) for t in times), UTC)


def build(tmp_path) -> tuple[History, list[str], str]:
    now = datetime.now(UTC).replace(microsecond=0)
    history = History(tmp_path / "repo", start=now - timedelta(hours=3), tick=timedelta(minutes=5))
    first = history.merge("feature-a")
    merges = [history.merge("feature-b", commits=3), history.merge("feature-c", commits=2)]
    squash = history.squash("feature-d")
    return history, [first, *merges], squash


def check(url: str, history: History, merges: list[str], squash: str) -> None:
    mergesets = {m["sha"]: m for m in httpx.get(f"{url}/api/mergesets").json()}
    deploys = {d["id"]: d for d in httpx.get(f"{url}/api/deploys").json()}
    changes = []
    for sha in merges:
        mergeset = mergesets[sha]
        start = branch_start(history, sha)
        assert datetime.fromisoformat(mergeset["first_commit_at"]) == start
        deployed = datetime.fromisoformat(deploys[mergeset["deploy_id"]]["finished_at"])
        assert mergeset["change_lead_time_seconds"] == (deployed - start).total_seconds()
        assert mergeset["change_lead_time_seconds"] > mergeset["lead_time_seconds"]
        changes.append(mergeset["change_lead_time_seconds"])
    assert mergesets[squash]["first_commit_at"] is None
    assert mergesets[squash]["change_lead_time_seconds"] is None
    summary = httpx.get(f"{url}/api/summary", params={"window": "7d"}).json()
    assert summary["change_lead_time_median_seconds"] == statistics.median(changes)
    dora = httpx.get(f"{url}/api/dora", params={"window": "7d"}).json()
    (lead,) = [key for key in dora["keys"] if key["key"] == "change_lead_time"]
    assert lead["value"] == statistics.median(changes)
    shipped = summary["mergesets_deployed"]
    assert f"first commit -> production of {len(changes)} of {shipped} mergesets" in lead["counts"]


def test_a_live_deploy_carries_where_each_merged_branch_began(served, tmp_path):
    history, merges, squash = build(tmp_path)
    pipeline = Pipeline(history, served, tmp_path)
    pipeline.test(merges[0])
    pipeline.deploy(merges[0])
    for sha in [*merges[1:], squash]:
        pipeline.test(sha)
    pipeline.deploy(squash)
    check(served, history, merges, squash)


def test_a_backfill_carries_where_each_merged_branch_began(served, tmp_path):
    history, merges, squash = build(tmp_path)
    history.tag("v1")
    env = clean_env(tmp_path, LEADTIME_URL=served)
    args = ["backfill", str(history.path), "--repo", "https://github.com/acme/shop"]
    done = run_leadtime([*args, "--since", "all", "--deploys-from-tags", "v*"], env)
    assert done.returncode == 0, done.stderr
    check(served, history, merges, squash)
