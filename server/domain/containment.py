"""Containment: which mergesets each deploy shipped.

The rule (DESIGN.md): a successful deploy to an environment contains its sha's mergeset and every
earlier mergeset of that repository not contained by an earlier successful deploy to the same
environment. "Earlier" among mergesets is first-parent order where known (each mergeset after its
first parent), else `merged_at`; among deploys it is `finished_at`. A failed deploy contains
nothing. A deploy that lists the shas it ships contains exactly those (and its own), less what an
earlier deploy already shipped.

Deploys reported late or out of order are handled by working containment out again from the
earliest deploy a report affects (domain/shipping.py): what a deploy contains depends only on the
deploys before it, so those stay as they are. A deploy that finishes after every other one, at a
sha after the last shipped one, ships exactly the uncontained mergesets up to its sha; a mergeset
merged after every other one changes no stored link (domain/chain.py keeps each mergeset's place
in the order). Only a report that may change the order before the newest mergeset, or move the
adoption point, works the whole repository out again.

The adoption point (DESIGN.md): leadtime measures a repository from the first mergeset it knew of
directly (a merge event, a main-branch pipeline, an API client, a backfill) or deployed, whichever
comes first in first-parent order; it never moves later, and what is imported moves it earlier.
A mergeset before it that leadtime knows only from a deploy's first-parent history is *context*:
kept for order and authors, contained by no deploy, so never counted in lead time, batching,
budgets or alerts. The first deploy to an environment therefore contains its own mergeset plus
the mergesets since the adoption point that no earlier deploy shipped.

A deploy whose report says its history was cut short (a shallow clone, LEADTIME_HISTORY_LIMIT,
no checkout) still contains what leadtime knows between it and the previous deploy (main-branch
pipelines, merge events, backfill); it is marked `history: incomplete` unless the first-parent
links leadtime knows lead from its sha back to the previous deploy's (or to the adoption point),
so an under-count is never silent.

Rollbacks and redeploys (DESIGN.md): a successful deploy of the sha already deployed to the
environment is a `redeploy`; one of a sha older in first-parent order than the environment's
current one is a `rollback`, and the deploy that brought the current sha is *rolled back*: a
failed change, recovered when the rollback finished (domain/oncall.py). Neither ships anything,
so neither is ever `history: incomplete`.
"""

from __future__ import annotations

import heapq
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class MergesetPoint:
    sha: str
    merged_at: datetime
    parent_sha: str | None = None


@dataclass(frozen=True)
class DeployPoint:
    id: int
    sha: str
    listed_shas: tuple[str, ...] | None = None


def order_mergesets(mergesets: list[MergesetPoint]) -> list[str]:
    """Shas oldest first: by merged_at, but never before their known first parent."""
    by_sha = {m.sha: m for m in mergesets}
    children: dict[str, list[str]] = {}
    ready: list[tuple[datetime, str]] = []
    for m in mergesets:
        if m.parent_sha in by_sha and m.parent_sha != m.sha:
            children.setdefault(m.parent_sha, []).append(m.sha)
        else:
            heapq.heappush(ready, (m.merged_at, m.sha))
    ordered = []
    while ready:
        _, sha = heapq.heappop(ready)
        ordered.append(sha)
        for child in children.pop(sha, ()):
            heapq.heappush(ready, (by_sha[child].merged_at, child))
    # Parent links that loop (corrupt data) leave shas behind: append them by time.
    placed = set(ordered)
    ordered += [m.sha for m in sorted(mergesets, key=lambda m: m.merged_at) if m.sha not in placed]
    return ordered


def adoption_rank(ordered_shas: list[str], anchors: set[str]) -> int | None:
    """The position, in first-parent order, of the first mergeset leadtime measures: the first
    anchor (a mergeset known directly, or deployed); None when there is none yet."""
    return next((rank for rank, sha in enumerate(ordered_shas) if sha in anchors), None)


def split_context(ordered_shas: list[str], anchors: set[str]) -> tuple[list[str], set[str]]:
    """(the shas that count, in order; the context shas before the adoption point)."""
    start = adoption_rank(ordered_shas, anchors)
    if start is None:
        return list(ordered_shas), set()
    context = {sha for sha in ordered_shas[:start] if sha not in anchors}
    return [sha for sha in ordered_shas if sha not in context], context


def history_established(sha: str, stop: str | None, parents: Mapping[str, str | None]) -> bool:
    """Whether known first-parent links lead from `sha` back to `stop`."""
    seen: set[str] = set()
    current: str | None = sha
    while current is not None and current not in seen:
        if current == stop:
            return True
        seen.add(current)
        current = parents.get(current)
    return False


def completeness(
    deploys: list[tuple[int, str, bool]], start: str | None, parents: Mapping[str, str | None]
) -> dict[int, bool]:
    """For deploys in order, (id, sha, history cut): whether what each shipped is established;
    a deploy whose history was not cut always is."""
    found, previous = {}, start
    for deploy_id, sha, cut in deploys:
        found[deploy_id] = not cut or history_established(sha, previous, parents)
        previous = sha
    return found


DEPLOY, REDEPLOY, ROLLBACK = "deploy", "redeploy", "rollback"


def deploy_kinds(
    deploys: list[tuple[int, str]],
    rank: Mapping[str, int],
    current: tuple[int, str] | None = None,
) -> tuple[dict[int, str], dict[int, int]]:
    """For successful deploys in order, (id, sha): each one's kind, and for each deploy rolled
    back, the rollback that undid it. `current`: (the deploy that brought the sha deployed
    before the first of them, that sha), where there was one."""
    kinds: dict[int, str] = {}
    undone: dict[int, int] = {}
    for deploy_id, sha in deploys:
        if current is not None and sha == current[1]:
            kinds[deploy_id] = REDEPLOY
            continue
        older = current is not None and rank.get(sha, -1) < rank.get(current[1], -1)
        if current is not None and older and sha in rank:
            kinds[deploy_id] = ROLLBACK
            undone[current[0]] = deploy_id
        else:
            kinds[deploy_id] = DEPLOY
        current = (deploy_id, sha)
    return kinds, undone


def compute_containment(
    ordered_shas: list[str], deploys: list[DeployPoint]
) -> dict[int, list[str]]:
    """For deploys in order (successful ones only), the shas each one contains."""
    rank = {sha: index for index, sha in enumerate(ordered_shas)}
    return contain(list(enumerate(ordered_shas)), rank, deploys)


def contain(
    unshipped: list[tuple[int, str]], positions: Mapping[str, int], deploys: list[DeployPoint]
) -> dict[int, list[str]]:
    """For deploys in order (successful ones only), the shas each one contains, given the
    counted mergesets no deploy before the first of them shipped ((position, sha), ascending)
    and the position of every counted mergeset the deploys name."""
    uncontained = [position for position, _ in unshipped]
    sha_at = dict(unshipped)
    contains: dict[int, list[str]] = {}
    for deploy in deploys:
        if deploy.listed_shas is not None:
            named = (*deploy.listed_shas, deploy.sha)
            wanted = sorted({positions[s] for s in named if s in positions})
            taken = []
            for r in wanted:
                index = bisect_right(uncontained, r) - 1
                if index >= 0 and uncontained[index] == r:
                    taken.append(uncontained.pop(index))
        elif deploy.sha in positions:
            cut = bisect_right(uncontained, positions[deploy.sha])
            taken, uncontained = uncontained[:cut], uncontained[cut:]
        else:
            taken = []  # a sha that is no mergeset of this repository: nothing we can place
        contains[deploy.id] = [sha_at[r] for r in taken]
    return contains
