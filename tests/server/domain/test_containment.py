"""Containment (DESIGN.md): which mergesets each successful deploy shipped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from leadtime.server.domain.containment import (
    DeployPoint,
    MergesetPoint,
    adoption_rank,
    compute_containment,
    order_mergesets,
    split_context,
)

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_mergesets_order_by_merge_time_without_parents():
    points = [MergesetPoint("c", at(3)), MergesetPoint("a", at(1)), MergesetPoint("b", at(2))]
    assert order_mergesets(points) == ["a", "b", "c"]


def test_first_parent_order_wins_over_merge_times():
    # A rebase merge can give a child an earlier committer time than its parent.
    points = [
        MergesetPoint("a", at(5)),
        MergesetPoint("b", at(1), parent_sha="a"),
        MergesetPoint("c", at(2), parent_sha="b"),
        MergesetPoint("x", at(3)),  # parent unknown: placed by its time
    ]
    assert order_mergesets(points) == ["x", "a", "b", "c"]


def test_parent_loop_from_bad_data_still_places_every_mergeset():
    points = [MergesetPoint("a", at(1), parent_sha="b"), MergesetPoint("b", at(2), parent_sha="a")]
    assert sorted(order_mergesets(points)) == ["a", "b"]


ORDER = ["m1", "m2", "m3", "m4", "m5"]


@pytest.mark.parametrize(
    ("deploys", "expected"),
    [
        pytest.param(
            [DeployPoint(1, "m3"), DeployPoint(2, "m5")],
            {1: ["m1", "m2", "m3"], 2: ["m4", "m5"]},
            id="each deploy ships what came since the last",
        ),
        pytest.param(
            [DeployPoint(1, "m2"), DeployPoint(2, "m2")],
            {1: ["m1", "m2"], 2: []},
            id="redeploy of the same sha ships nothing new",
        ),
        pytest.param(
            [DeployPoint(1, "m4"), DeployPoint(2, "m2"), DeployPoint(3, "m5")],
            {1: ["m1", "m2", "m3", "m4"], 2: [], 3: ["m5"]},
            id="a rollback ships nothing, the next deploy only what is new",
        ),
        pytest.param(
            [DeployPoint(1, "unknown-sha"), DeployPoint(2, "m1")],
            {1: [], 2: ["m1"]},
            id="a sha that is no mergeset contains nothing",
        ),
        pytest.param(
            [DeployPoint(1, "m4", listed_shas=("m2",)), DeployPoint(2, "m5")],
            {1: ["m2", "m4"], 2: ["m1", "m3", "m5"]},
            id="a deploy listing its shas contains exactly those",
        ),
        pytest.param([], {}, id="no deploys"),
    ],
)
def test_containment(deploys, expected):
    assert compute_containment(ORDER, deploys) == expected


# The adoption point -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ordered", "anchors", "counted", "context"),
    [
        # nothing known directly or deployed yet: nothing to measure from, nothing is context
        (["a", "b", "c"], set(), ["a", "b", "c"], set()),
        # a first deploy of c carries a and b in its history: they are context
        (["a", "b", "c"], {"c"}, ["c"], {"a", "b"}),
        # b was seen on main (a pipeline, a merge event): measured from b
        (["a", "b", "c"], {"b", "c"}, ["b", "c"], {"a"}),
        # history after the adoption point counts, known directly or not
        (["a", "b", "c", "d"], {"b", "d"}, ["b", "c", "d"], {"a"}),
        # an import of the oldest moves the point to the start
        (["a", "b", "c"], {"a", "c"}, ["a", "b", "c"], set()),
    ],
    ids=["nothing-yet", "first-deploy-history", "seen-on-main", "after-counts", "imported"],
)
def test_history_before_the_adoption_point_is_context(ordered, anchors, counted, context):
    assert split_context(ordered, anchors) == (counted, context)


def test_the_adoption_point_is_the_first_anchor_in_first_parent_order():
    assert adoption_rank(["a", "b", "c"], {"c", "b"}) == 1
    assert adoption_rank(["a", "b"], set()) is None


def test_a_first_deploy_contains_only_what_follows_the_adoption_point():
    ordered = [f"h{i}" for i in range(300)] + ["m1", "m2", "m3"]
    counted, context = split_context(ordered, {"m1", "m3"})
    contains = compute_containment(counted, [DeployPoint(1, "m2"), DeployPoint(2, "m3")])
    assert contains == {1: ["m1", "m2"], 2: ["m3"]}
    assert len(context) == 300
