"""Which deploy shipped what (domain/containment.py's rules), kept up to date as reports arrive,
with work in proportion to what they change.

Containment is worked out from a point in an environment's deploy order on: the earliest
successful deploy a report adds, moves or changes. What each deploy before that point shipped
cannot depend on it (a deploy contains only what no earlier deploy shipped), so those deploys
and their links stay as they are; the deploys from the point on share out again the counted
mergesets none of the earlier ones shipped. A deploy that finishes after every other one is
thus the only deploy worked out, over the mergesets still waiting; a late or out-of-order one
works out the deploys from it on. Links are written as a difference. Only when the order of
the mergesets may have changed before the newest one, or the adoption point may move, is the
whole repository worked out again (domain/chain.py).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from leadtime.server import store
from leadtime.server.domain.chain import rebuild_chain
from leadtime.server.domain.containment import (
    DEPLOY,
    REDEPLOY,
    DeployPoint,
    completeness,
    contain,
    deploy_kinds,
)
from leadtime.server.models import Deploy
from leadtime.server.store.shipping import DeployKey, DeployRow, PoolRow


def recompute_repository(session: Session, repository_id: int) -> None:
    """Place every mergeset again, then work out every environment from its first deploy."""
    store.lock_repository(session, repository_id)
    rebuild_chain(session, repository_id)
    for environment in store.environments_of(session, repository_id):
        update_containment(session, repository_id, environment)


def update_containment(
    session: Session, repository_id: int, environment: str, since: DeployKey | None = None
) -> None:
    """Work out what the successful deploys to `environment` from `since` on (every one: None)
    shipped, their kinds and whether what they shipped is established."""
    store.lock_repository(session, repository_id)
    if store.any_unplaced(session, repository_id):
        rebuild_chain(session, repository_id)  # mergesets stored before they had positions
        since = None
    tail = store.deploys_from(session, repository_id, environment, since)
    previous = bringer = None
    if since is not None:
        previous = store.last_deploy_before(session, repository_id, environment, since)
        bringer = previous
        if previous is not None and previous.kind == REDEPLOY:
            bringer = store.last_deploy_before(
                session, repository_id, environment, since, skipping=REDEPLOY
            )
    pool = store.unsettled_mergesets(session, repository_id, environment, since)
    named = {deploy.sha for deploy in tail} | {row.sha for row in (previous, bringer) if row}
    named |= {sha for deploy in tail for sha in deploy.listed_shas or ()}
    placed = store.placed(session, repository_id, named)
    _ship(session, environment, tail, pool, placed)
    rank = {sha: position for sha, (position, _) in placed.items() if position is not None}
    current = (bringer.id, bringer.sha) if bringer else None
    kinds, undone = deploy_kinds([(d.id, d.sha) for d in tail], rank, current)
    start = previous.sha if previous else _adoption_sha(session, repository_id)
    complete = _established(session, repository_id, tail, start, rank)
    changes = {
        deploy.id: {
            # A redeploy or rollback ships nothing new: there is nothing it could under-count.
            "history_complete": complete[deploy.id] or kinds[deploy.id] != DEPLOY,
            "kind": kinds[deploy.id],
            "rolled_back_by_id": undone.get(deploy.id),
        }
        for deploy in tail
    }
    if bringer is not None:
        changes[bringer.id] = {"rolled_back_by_id": undone.get(bringer.id)}
    stored = [*tail, *([bringer] if bringer else [])]
    store.update_changed(session, Deploy, stored, [{"id": i, **v} for i, v in changes.items()])


def _ship(
    session: Session,
    environment: str,
    tail: list[DeployRow],
    pool: list[PoolRow],
    placed: dict[str, tuple[int | None, bool]],
) -> None:
    """Share the pool out among the deploys, and store the links that changed."""
    counted = [row for row in pool if not row.context and row.position is not None]
    positions = {sha: p for sha, (p, context) in placed.items() if p is not None and not context}
    positions.update((row.sha, row.position) for row in counted if row.position is not None)
    points = [
        DeployPoint(d.id, d.sha, tuple(d.listed_shas) if d.listed_shas is not None else None)
        for d in tail
    ]
    unshipped = sorted((row.position, row.sha) for row in counted if row.position is not None)
    contains = contain(unshipped, positions, points)
    ids = {row.sha: row.id for row in pool}
    wanted = {ids[sha]: deploy_id for deploy_id, shas in contains.items() for sha in shas}
    stored = {row.id: row.deploy_id for row in pool if row.deploy_id is not None}
    removed = [(d, m) for m, d in stored.items() if wanted.get(m) != d]
    added = [(d, m) for m, d in wanted.items() if stored.get(m) != d]
    store.change_links(session, environment, removed, added)


def _adoption_sha(session: Session, repository_id: int) -> str | None:
    first = store.first_counted(session, repository_id)
    return first.sha if first else None


def _established(
    session: Session,
    repository_id: int,
    tail: list[DeployRow],
    start: str | None,
    rank: dict[str, int],
) -> dict[int, bool]:
    """Whether what each deploy shipped is established (completeness), reading the first
    parents only of the mergesets between the earliest stop and the last deploy whose history
    was cut: a walk back along first parents only goes to earlier positions."""
    cut = [deploy for deploy in tail if deploy.history_cut]
    parents: dict[str, str | None] = {}
    if cut:
        stops = [rank[sha] for sha in (start, *(d.sha for d in tail)) if sha in rank]
        highs = [rank[d.sha] for d in cut if d.sha in rank]
        if stops and highs:
            parents = store.parents_between(session, repository_id, min(stops), max(highs))
    points = [(d.id, d.sha, bool(d.history_cut)) for d in tail]
    return completeness(points, start, parents)
