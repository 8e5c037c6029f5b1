"""Containment: which mergesets each deploy shipped.

The rule (DESIGN.md): a successful deploy to an environment contains its sha's mergeset and every
earlier mergeset of that repository not contained by an earlier successful deploy to the same
environment. "Earlier" among mergesets is first-parent order where known (each mergeset after its
first parent), else `merged_at`; among deploys it is `finished_at`. A failed deploy contains
nothing. A deploy that lists the shas it ships contains exactly those (and its own), less what an
earlier deploy already shipped. Deploys reported late or out of order are handled because the
whole containment of a repository and environment is worked out again from what is stored.
"""

from __future__ import annotations

import heapq
from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from leadtime.server import store


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


def compute_containment(
    ordered_shas: list[str], deploys: list[DeployPoint]
) -> dict[int, list[str]]:
    """For deploys in order (successful ones only), the shas each one contains."""
    rank = {sha: index for index, sha in enumerate(ordered_shas)}
    uncontained = list(range(len(ordered_shas)))  # ranks not shipped yet, ascending
    contains: dict[int, list[str]] = {}
    for deploy in deploys:
        if deploy.listed_shas is not None:
            wanted = sorted({rank[s] for s in (*deploy.listed_shas, deploy.sha) if s in rank})
            taken = []
            for r in wanted:
                index = bisect_right(uncontained, r) - 1
                if index >= 0 and uncontained[index] == r:
                    taken.append(uncontained.pop(index))
        elif deploy.sha in rank:
            cut = bisect_right(uncontained, rank[deploy.sha])
            taken, uncontained = uncontained[:cut], uncontained[cut:]
        else:
            taken = []  # a sha that is no mergeset of this repository: nothing we can place
        contains[deploy.id] = [ordered_shas[r] for r in taken]
    return contains


def recompute_containment(session: Session, repository_id: int, environment: str) -> None:
    """Work out and store the containment of one repository's deploys to one environment."""
    store.lock_repository(session, repository_id)
    mergesets = store.mergesets_of(session, repository_id)
    ids = {m.sha: m.id for m in mergesets}
    ordered = order_mergesets([MergesetPoint(m.sha, m.merged_at, m.parent_sha) for m in mergesets])
    deploys = [
        DeployPoint(d.id, d.sha, tuple(d.listed_shas) if d.listed_shas is not None else None)
        for d in store.successful_deploys(session, repository_id, environment)
    ]
    contains = compute_containment(ordered, deploys)
    links = [(deploy_id, ids[sha]) for deploy_id, shas in contains.items() for sha in shas]
    store.replace_containment(session, repository_id, environment, links)


def recompute_repository(session: Session, repository_id: int) -> None:
    for environment in store.environments_of(session, repository_id):
        recompute_containment(session, repository_id, environment)
