"""End to end with real pieces: a git repository with merge commits, a squash merge and a
fast-forward; a real `leadtime serve`; real `leadtime step` and `leadtime deploy` processes
pointed at it. The API then reports containment, lead times to the second, batched and
over-budget flags."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.conftest import run_leadtime
from tests.gitrepos import History
from tests.server.conftest import wipe
from tests.server.live import Pipeline, ci_env, leadtime_server

BUDGET = timedelta(minutes=15)


@pytest.fixture
def served(db_url, engine):
    with leadtime_server(db_url) as url:
        yield url
    wipe(engine)


def test_lead_time_per_mergeset_end_to_end(served, tmp_path):
    now = datetime.now(UTC).replace(microsecond=0)
    history = History(
        tmp_path / "shop", start=now - timedelta(minutes=30), tick=timedelta(minutes=1)
    )
    pipeline = Pipeline(history, served, tmp_path)
    baseline = history.first_parent()[0]
    pipeline.deploy(baseline)  # what production ran before: the initial commit

    m1 = history.merge("feature-a", email="bob@example.com")
    pipeline.test(m1)
    pipeline.deploy(m1)

    history.clock = now - timedelta(minutes=8)  # the next three land minutes before their deploy
    m2 = history.squash("feature-b")
    m3 = history.fast_forward("feature-c")
    m4 = history.merge("feature-d")
    for sha in (m2, m3, m4):
        pipeline.test(sha)
    pipeline.deploy(m4, succeed=False)
    pipeline.deploy(m4)
    pipeline.deploy(m4)  # a redeploy of the same sha

    deploys = httpx.get(f"{served}/api/deploys", params={"limit": 10}).json()
    deploys.reverse()  # oldest first
    assert [(d["sha"], d["status"]) for d in deploys] == [
        (baseline, "succeeded"),
        (m1, "succeeded"),
        (m4, "failed"),
        (m4, "succeeded"),
        (m4, "succeeded"),
    ]
    shipped = [[m["sha"] for m in d["mergesets"]] for d in deploys]
    assert shipped == [[baseline], [m1], [], [m2, m3, m4], []]
    assert [d["batched"] for d in deploys] == [False, False, False, True, False]

    finished = {
        m1: datetime.fromisoformat(deploys[1]["finished_at"]),
        **{sha: datetime.fromisoformat(deploys[3]["finished_at"]) for sha in (m2, m3, m4)},
    }
    mergesets = {m["sha"]: m for m in httpx.get(f"{served}/api/mergesets").json()}
    assert set(mergesets) == {baseline, m1, m2, m3, m4}  # the feature commits are no mergesets
    for sha, deployed_at in finished.items():
        found = mergesets[sha]
        expected = deployed_at - history.committed_at(sha)
        assert found["merged_at"] == history.committed_at(sha).isoformat().replace("+00:00", "Z")
        assert found["lead_time_seconds"] == pytest.approx(expected.total_seconds(), abs=1e-3)
        assert found["over_budget"] is (expected > BUDGET)
        assert found["batched"] is (sha != m1)
    assert mergesets[m1]["author"] == "ada@example.com"  # who merged: a merge commit is theirs
    assert mergesets[m2]["author"] == "cy@example.com"  # a squash commit is the author's
    assert mergesets[m2]["title"] == "feature-b (squashed)"
    assert mergesets[m1]["over_budget"] is True  # merged ~28 minutes before its deploy
    assert [mergesets[sha]["over_budget"] for sha in (m2, m3, m4)] == [False, False, False]

    summary = httpx.get(f"{served}/api/summary", params={"repo": "acme/shop"}).json()
    assert summary["deploys"] == 4  # successful production deploys
    assert summary["mergesets_deployed"] == 5
    assert summary["share_batched_deploys"] == 0.25
    assert summary["mergesets_waiting"] == 0

    run = httpx.get(f"{served}/api/pipelines/{_trace_of_run(2)}").json()
    assert run["sha"] == m1 and run["branch"] == "main"
    assert [s["name"] for s in run["steps"]] == ["test"]


def _trace_of_run(run: int) -> str:
    from leadtime.tracer import traceid

    return f"{traceid.pipeline_trace_id('github', str(run), '1'):032x}"


def test_server_keeps_running_without_git_in_the_environment(served, tmp_path):
    # A deploy with no checkout at all still records a deploy (nothing to contain).
    env = ci_env(tmp_path, served, 99, "c" * 40)
    done = run_leadtime(["deploy", "staging", "--service", "shop", "--", "true"], env, cwd=tmp_path)
    assert done.returncode == 0
    assert done.stderr.count("warning") == 1 and "no git history" in done.stderr
    deploys = httpx.get(f"{served}/api/deploys", params={"environment": "staging"}).json()
    assert [(d["sha"], d["mergesets"]) for d in deploys] == [("c" * 40, [])]
    assert os.path.isdir(tmp_path)
