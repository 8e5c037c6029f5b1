"""A repository's mergesets in order (domain/containment.py's rule), kept as each one's stored
`position`, with the adoption point, the context flags and the revert links that follow from it.

Worked out whole (`rebuild_chain`) when the order may have changed anywhere. The common case is
cheaper (`place_mergesets`): mergesets that arrive (or change) after every other one, that is
when each sorts after every other mergeset by (merge time, sha), none of the others names one of
them as its first parent, and the repository's adoption point is not among them. Then the others
keep their order (the ordering never places an earlier-sorting mergeset after a later one unless
it descends from it), the new ones follow them in their own order, the adoption point and the
context flags stay as they are, and only the new ones' revert links are looked for. Parent links
that loop (corrupt data) are kept where they were, where a rebuild would move them last.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from sqlalchemy.orm import Session

from leadtime.server import store
from leadtime.server.domain.containment import MergesetPoint, order_mergesets, split_context
from leadtime.server.domain.reverts import Change, revert_links, reverted_by_name, unsquashed
from leadtime.server.models import Mergeset
from leadtime.server.store.chain import ChainRow
from leadtime.server.store.shipping import DeployKey


def rebuild_chain(session: Session, repository_id: int) -> None:
    """Place every mergeset of the repository again, and store the adoption point, the context
    flags and the revert links that follow."""
    rows = store.chain_rows(session, repository_id)
    by_sha = {row.sha: row for row in rows}
    ordered = order_mergesets([MergesetPoint(r.sha, r.merged_at, r.parent_sha) for r in rows])
    anchors = {row.sha for row in rows if row.source != store.HISTORY}
    anchors |= store.deployed_shas(session, repository_id) & by_sha.keys()
    counted, context = split_context(ordered, anchors)
    adopted_at = by_sha[counted[0]].merged_at if anchors and counted else None
    store.set_adoption(session, repository_id, adopted_at, context)
    reverts = _reverts_of([by_sha[sha] for sha in ordered], by_sha)
    changes = [
        {"id": by_sha[sha].id, "position": position, "reverts_id": reverts.get(sha)}
        for position, sha in enumerate(ordered)
    ]
    store.update_changed(session, Mergeset, by_sha.values(), changes)


def place_mergesets(
    session: Session, repository_id: int, shas: Collection[str]
) -> list[tuple[str, DeployKey]] | None:
    """Place these new or changed mergesets after every other one, where the rule above allows;
    the deploys (environment, point) whose containment they may change. None: they could not be
    placed so, and the chain is to be rebuilt."""
    rows = store.chain_rows(session, repository_id, shas)
    if not rows or not _placeable_last(session, repository_id, rows):
        return None
    wanted = {row.sha for row in rows}
    ordered = order_mergesets([MergesetPoint(r.sha, r.merged_at, r.parent_sha) for r in rows])
    by_sha = {row.sha: row for row in rows}
    start = (store.last_position(session, repository_id, wanted) or 0) + 1
    reverts = _reverts_of([by_sha[sha] for sha in ordered], by_sha, session, repository_id)
    changes = [
        {
            "id": by_sha[sha].id,
            "position": start + offset,
            "reverts_id": reverts.get(sha),
            "context": False,  # after the adoption point
        }
        for offset, sha in enumerate(ordered)
    ]
    store.update_changed(session, Mergeset, by_sha.values(), changes)
    return store.deploys_touching(session, repository_id, wanted, [row.id for row in rows])


def _placeable_last(session: Session, repository_id: int, rows: list[ChainRow]) -> bool:
    shas = {row.sha for row in rows}
    if store.repository_by_id(session, repository_id).adopted_at is None:
        return False  # the first anchor: the adoption point and context are to be worked out
    if store.any_unplaced(session, repository_id, shas):
        return False
    first = store.first_counted(session, repository_id)
    if first is None or first.sha in shas:
        return False
    newest = store.newest_other(session, repository_id, shas)
    if newest is not None and min((r.merged_at, r.sha) for r in rows) <= (
        newest.merged_at,
        newest.sha,
    ):
        return False
    if store.has_children_outside(session, repository_id, shas):
        return False
    # A mergeset placed before may be what an earlier revert points at: it moves after it.
    moved = [row.id for row in rows if row.position is not None]
    return not (moved and store.reverts_any(session, repository_id, moved))


def _reverts_of(
    ordered: list[ChainRow],
    by_sha: Mapping[str, ChainRow],
    session: Session | None = None,
    repository_id: int | None = None,
) -> dict[str, int]:
    """The id each of these mergesets (in order) reverts; with a session, earlier mergesets of
    the repository the reverts name are looked for too (they come before all of these)."""
    earlier: list[ChainRow] = []
    if session is not None and repository_id is not None:
        named = [reverted_by_name(_change(row)) for row in ordered]
        prefixes = {unsquashed(quoted) for quoted, _ in named if quoted}
        numbers = {number for _, number in named if number is not None}
        if prefixes or numbers:
            found = store.titled(session, repository_id, prefixes, numbers)
            earlier = sorted((r for r in found if r.sha not in by_sha), key=_position)
    ids = {row.sha: row.id for row in (*earlier, *ordered)}
    links = revert_links(_change(row) for row in (*earlier, *ordered))
    return {sha: ids[target] for sha, target in links.items() if sha in by_sha}


def _position(row: ChainRow) -> int:
    return row.position if row.position is not None else -1


def _change(row: ChainRow) -> Change:
    return Change(row.sha, row.title, row.pr_title, row.pr_number)


def deploys_move_adoption(session: Session, repository_id: int, shas: Collection[str]) -> bool:
    """Whether successful deploys of these shas may move the adoption point (a deployed
    mergeset is an anchor): the repository has none yet, or one of them is context."""
    found = store.placed(session, repository_id, shas)
    if not found:
        return False
    if store.repository_by_id(session, repository_id).adopted_at is None:
        return True
    return any(context for _, context in found.values())
