"""Rollbacks and redeploys: a deploy of the sha already there is a redeploy; one of an older sha
(first-parent order) is a rollback, and the deploy it undid is a failed change, recovered when
the rollback finished."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from leadtime.server.domain.containment import DEPLOY, REDEPLOY, ROLLBACK, deploy_kinds
from tests.factories import make_deploy, make_mergeset
from tests.server.otlp_payloads import post_run

RANK = {"a": 0, "b": 1, "c": 2}
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)


@pytest.mark.parametrize(
    ("deploys", "kinds", "undone"),
    [
        ([(1, "a"), (2, "b"), (3, "c")], [DEPLOY, DEPLOY, DEPLOY], {}),
        ([(1, "b"), (2, "b")], [DEPLOY, REDEPLOY], {}),
        ([(1, "a"), (2, "c"), (3, "a")], [DEPLOY, DEPLOY, ROLLBACK], {2: 3}),
        # rolled back, then forward again: the forward one is a plain deploy
        ([(1, "a"), (2, "b"), (3, "a"), (4, "b")], [DEPLOY, DEPLOY, ROLLBACK, DEPLOY], {2: 3}),
        # a redeploy is not the deploy a later rollback undoes: the one that brought the sha is
        ([(1, "a"), (2, "c"), (3, "c"), (4, "b")], [DEPLOY, DEPLOY, REDEPLOY, ROLLBACK], {2: 4}),
        # a sha that is no mergeset cannot be placed: a plain deploy
        ([(1, "c"), (2, "zz")], [DEPLOY, DEPLOY], {}),
    ],
    ids=["forward", "redeploy", "rollback", "back-and-forth", "after-redeploy", "unknown-sha"],
)
def test_deploy_kinds(deploys, kinds, undone):
    found, rolled_back = deploy_kinds(deploys, RANK)
    assert [found[deploy_id] for deploy_id, _ in deploys] == kinds
    assert rolled_back == undone


def test_a_rollback_counts_the_deploy_it_undid_as_a_failed_change(client):
    make_mergeset(client, "a" * 40, T0)
    make_mergeset(client, "b" * 40, T0 + timedelta(minutes=5), parent="a" * 40)
    first = make_deploy(client, "shop", "a" * 40, T0 + timedelta(minutes=2))
    bad = make_deploy(client, "shop", "b" * 40, T0 + timedelta(minutes=9))
    rollback = make_deploy(client, "shop", "a" * 40, T0 + timedelta(minutes=21))
    again = make_deploy(client, "shop", "a" * 40, T0 + timedelta(minutes=30))
    deploys = {d["id"]: d for d in client.get("/api/deploys").json()}
    assert [deploys[i]["kind"] for i in (first, bad, rollback, again)] == [
        "deploy",
        "deploy",
        "rollback",
        "redeploy",
    ]
    assert deploys[bad]["rolled_back_by"] == rollback
    assert [deploys[i]["rolled_back_by"] for i in (first, rollback, again)] == [None] * 3
    assert deploys[rollback]["mergesets"] == [] and deploys[again]["mergesets"] == []

    (report,) = client.get("/api/reports/change-failure", params={"window": "7d"}).json()
    assert (report["deploys"], report["failed_deploys"]) == (4, 1)
    assert report["rate"] == 0.25
    assert report["recovery_median_seconds"] == 12 * 60  # the bad deploy to its rollback


def _span_deploy(client, run: int, sha: str, at: datetime) -> None:
    """A deploy span with its history cut short (none sent: no checkout)."""
    deploy = {"deploy": {"deployment.environment.name": "production"}}
    post_run(client, run, at, [("deploy", 60, "success")], branch="main", sha=sha, extra=deploy)


def test_a_rollback_with_cut_history_is_never_incomplete_since_it_ships_nothing(client):
    make_mergeset(client, "a" * 40, T0)
    make_mergeset(client, "b" * 40, T0 + timedelta(minutes=5), parent="a" * 40)
    _span_deploy(client, 1, "a" * 40, T0 + timedelta(minutes=1))
    _span_deploy(client, 2, "b" * 40, T0 + timedelta(minutes=6))
    _span_deploy(client, 3, "a" * 40, T0 + timedelta(minutes=20))
    deploys = client.get("/api/deploys").json()[::-1]
    assert [(d["kind"], d["history"]) for d in deploys] == [
        ("deploy", "complete"),  # the first mergeset leadtime measures: nothing before it
        ("deploy", "complete"),  # b's known parent is the previous deploy's sha
        ("rollback", "complete"),
    ]
