"""Adoption on a repository with a past: 300 commits pushed over months before leadtime was
added, then mergesets of every kind with their main-branch pipelines and deploys, all through
the real CLI in a real checkout. The truth comes from plain git (first-parent order, committer
times): the first deploy ships only what it really ships, every lead time is exact, the 365-day
summary is measured from the adoption point, and no alert fires on the adoption."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.gitrepos import History, first_parent_between, plain_committed_at
from tests.server.live import Pipeline

PAST_COMMITS = 300


def test_adopting_a_repository_with_a_past_counts_only_what_follows(served, tmp_path):
    now = datetime.now(UTC).replace(microsecond=0)
    history = History(
        tmp_path / "shop", start=now - timedelta(days=200), tick=timedelta(minutes=40)
    )
    past = history.direct_pushes(PAST_COMMITS)
    client = httpx.Client(base_url=served, timeout=30)
    pipeline = Pipeline(history, served, tmp_path)
    history.clock = now - timedelta(minutes=12)  # leadtime arrives: each merge ships in minutes
    history.tick = timedelta(seconds=30)
    batches = [
        [history.merge("feature-a"), history.squash("feature-b")],
        [history.fast_forward("feature-c")],
        [history.merge("feature-d"), history.squash("feature-e"), history.merge("feature-f")],
    ]
    deployed: list[str] = []
    for batch in batches:
        for sha in batch:
            pipeline.test(sha)
        pipeline.deploy(batch[-1])
        deployed.append(batch[-1])

    deploys = client.get("/api/deploys", params={"limit": 10}).json()[::-1]
    assert [d["sha"] for d in deploys] == deployed
    adoption = batches[0][0]  # the first mergeset seen on main
    shipped, previous = [], past[-1]
    for deploy, sha in zip(deploys, deployed, strict=True):
        expected = first_parent_between(history.path, previous, sha)
        assert [m["sha"] for m in deploy["mergesets"]] == expected
        shipped.append((deploy, expected))
        previous = sha

    mergesets = {m["sha"]: m for m in client.get("/api/mergesets", params={"limit": 1000}).json()}
    truth = {}
    for deploy, shas in shipped:
        finished = datetime.fromisoformat(deploy["finished_at"])
        for sha in shas:
            truth[sha] = (finished - plain_committed_at(history.path, sha)).total_seconds()
            assert mergesets[sha]["lead_time_seconds"] == pytest.approx(truth[sha], abs=1e-3)
            assert mergesets[sha]["context"] is False
    carried = [sha for sha in mergesets if sha not in truth]
    assert len(carried) >= 90  # the first deploy's history: context, never counted
    assert all(mergesets[sha]["context"] for sha in carried)
    assert all(mergesets[sha]["lead_time_seconds"] is None for sha in carried)
    assert all(mergesets[sha]["waiting_seconds"] is None for sha in carried)

    summary = client.get("/api/summary", params={"repo": "acme/shop", "window": "365d"}).json()
    assert summary["mergesets_deployed"] == len(truth)
    assert summary["mergesets_waiting"] == 0
    assert summary["lead_time_median_seconds"] == pytest.approx(
        statistics.median(truth.values()), abs=1e-3
    )
    adopted = plain_committed_at(history.path, adoption).isoformat().replace("+00:00", "Z")
    assert summary["measured_since"] == adopted
    # DORA's keys count the same: three deploys, and only the mergesets measured since adoption
    dora = client.get("/api/dora", params={"repo": "acme/shop", "window": "365d"}).json()
    keys = {key["key"]: key for key in dora["keys"]}
    assert dora["deploys"] == len(deployed) and dora["measured_since"] == adopted
    assert f" of {len(truth)} mergesets shipped" in keys["change_lead_time"]["counts"]

    # A 15-minute target: what was measured meets it, so the adoption fires nothing.
    target = {"repository": "acme/shop", "target_seconds": 900}
    assert client.post("/api/targets", json=target).status_code == 200
    check = client.post("/api/alerts/check").json()
    assert (check["fired"], check["firing"]) == (0, [])
