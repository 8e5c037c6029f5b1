"""Deploys from shallow checkouts (GitHub's default `fetch-depth: 1`), made for real with
`git clone --depth N file://...`: the tracer says so once with the fix; the server fills the gap
from the mergesets it knows and marks the deploy `history: incomplete` when its own history
could not establish what it shipped; deep enough, it is complete. Truth from plain git."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta

import httpx

from tests.conftest import run_leadtime
from tests.gitrepos import History, first_parent_between, plain_git
from tests.server.live import Pipeline, ci_env


def shallow_clone(origin: History, depth: int, path) -> None:
    subprocess.run(
        [
            "git",
            "clone",
            "--quiet",
            f"--depth={depth}",
            "--branch=main",
            f"file://{origin.path}",
            str(path),
        ],
        check=True,
        capture_output=True,
    )


def deploy_from(path, url: str, tmp_path, run: int, sha: str) -> subprocess.CompletedProcess:
    env = ci_env(tmp_path, url, run, sha)
    args = ["deploy", "production", "--service", "shop", "--", "true"]
    return run_leadtime(args, env, cwd=path)


def test_a_shallow_deploy_is_filled_from_what_is_known_and_says_it_is_incomplete(served, tmp_path):
    now = datetime.now(UTC).replace(microsecond=0)
    origin = History(
        tmp_path / "origin", start=now - timedelta(minutes=30), tick=timedelta(minutes=1)
    )
    pipeline = Pipeline(origin, served, tmp_path)
    first = origin.merge("feature-a")
    pipeline.test(first)
    pipeline.deploy(first)
    gap = [origin.merge("feature-b"), origin.squash("feature-c")]
    for sha in gap:
        pipeline.test(sha)  # main-branch pipelines: leadtime knows these
    head = origin.merge("feature-d")
    origin.repo.git.checkout("main")

    shallow_clone(origin, 1, tmp_path / "depth1")
    done = deploy_from(tmp_path / "depth1", served, tmp_path, 90, head)
    assert done.returncode == 0
    warnings = [line for line in done.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "shallow" in warnings[0] and "fetch-depth: 0" in warnings[0]

    deploys = httpx.get(f"{served}/api/deploys").json()[::-1]
    assert [d["sha"] for d in deploys] == [first, head]
    assert [m["sha"] for m in deploys[1]["mergesets"]] == first_parent_between(
        origin.path, first, head
    )
    assert deploys[1]["history"] == "incomplete"
    assert deploys[0]["history"] == "complete"

    # Deep enough to reach the previous deploy: the history establishes it.
    after = origin.merge("feature-e")
    shallow_clone(origin, 4, tmp_path / "depth4")
    done = deploy_from(tmp_path / "depth4", served, tmp_path, 91, after)
    assert done.returncode == 0
    latest = httpx.get(f"{served}/api/deploys").json()[0]
    assert latest["sha"] == after
    assert [m["sha"] for m in latest["mergesets"]] == first_parent_between(origin.path, head, after)
    assert latest["history"] == "complete"


def test_a_deploy_outside_a_checkout_warns_once_and_is_placed_by_what_is_known(served, tmp_path):
    now = datetime.now(UTC).replace(microsecond=0)
    origin = History(
        tmp_path / "origin", start=now - timedelta(minutes=20), tick=timedelta(minutes=1)
    )
    pipeline = Pipeline(origin, served, tmp_path)
    first = origin.merge("feature-a")
    pipeline.test(first)
    pipeline.deploy(first)
    second = origin.merge("feature-b")
    pipeline.test(second)
    outside = tmp_path / "not-a-checkout"
    outside.mkdir()
    done = deploy_from(outside, served, tmp_path, 92, second)
    assert done.returncode == 0
    warnings = [line for line in done.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "no git history" in warnings[0]
    latest = httpx.get(f"{served}/api/deploys").json()[0]
    assert latest["sha"] == second
    assert [m["sha"] for m in latest["mergesets"]] == [second]
    assert latest["history"] == "incomplete"


def test_outside_a_checkout_on_github_the_merge_time_comes_from_the_event_file(served, tmp_path):
    """A step then a deploy, neither in a checkout: the mergeset is merged when its commit was
    made (the runner's event file says), not when the run started, so a change merged four
    months ago shows four months of lead time, not seconds."""
    now = datetime.now(UTC).replace(microsecond=0)
    origin = History(tmp_path / "origin", start=now - timedelta(days=120))
    sha = origin.merge("feature-a")
    committed = plain_git(origin.path, "log", "-1", "--format=%cI", sha)[0]
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"head_commit": {"id": sha, "timestamp": committed}}))
    outside = tmp_path / "not-a-checkout"
    outside.mkdir()
    env = ci_env(tmp_path, served, 93, sha) | {"GITHUB_EVENT_PATH": str(event)}
    for args in (
        ["step", "test", "--", "true"],
        ["deploy", "production", "--service", "shop", "--", "true"],
    ):
        assert run_leadtime(args, env, cwd=outside).returncode == 0
    (mergeset,) = httpx.get(f"{served}/api/mergesets").json()
    assert datetime.fromisoformat(mergeset["merged_at"]) == datetime.fromisoformat(committed)
    assert mergeset["lead_time_seconds"] > timedelta(days=119).total_seconds()
