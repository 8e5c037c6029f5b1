"""Mergesets: stored once per (repository, sha); better facts (a PR's merge time, a known parent)
update them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from leadtime.server.models import Deploy, DeployMergeset, Mergeset, Repository
from leadtime.server.store.rows import insert_if_new, insert_ignoring_duplicates

# How much a merged_at can be trusted, best last: a run's start used as an estimate, the commit's
# time, the push that landed it, the forge's own merge time.
MERGED_AT_QUALITY = {"pipeline": 0, "commit": 1, "push": 2, "merge": 3}
CHUNK = 500  # shas in one IN (...) list
HISTORY = "history"  # the source of a mergeset known only from a deploy's first-parent history
KEPT_FIRST = (
    "parent_sha",
    "author",
    "title",
    "first_commit_at",
)  # the first report that knows one keeps it
PULL_REQUEST = (
    "pr_number",
    "pr_title",
    "pr_author",
    "pr_url",
    "pr_merged_by",
)  # the newest report wins


def upsert_mergeset(session: Session, repository_id: int, values: dict) -> bool:
    """Store a mergeset once (`values`: Mergeset columns); better facts (a PR's merge time, a
    known parent) update it. True when anything changed that its order, the adoption point,
    containment or revert links depend on."""
    new = {name: value for name, value in values.items() if name not in PULL_REQUEST}
    inserted = insert_if_new(
        session, Mergeset, {**new, "repository_id": repository_id}, ["repository_id", "sha"]
    )
    row = session.scalars(
        select(Mergeset)
        .where(Mergeset.repository_id == repository_id, Mergeset.sha == values["sha"])
        .with_for_update()
    ).one()
    return _learn(row, values) or inserted


def _learn(row: Mergeset, values: dict) -> bool:
    """Update a stored mergeset where a report knows better (see upsert_mergeset); whether
    anything changed that its order, the adoption point, containment or revert links depend
    on."""
    changed = False
    if _better_merge_time(row, values):
        row.merged_at, row.merged_at_source = values["merged_at"], values["merged_at_source"]
        changed = True
    if values.get("parent_sha") and row.parent_sha is None:
        changed = True
    if row.source == HISTORY and values["source"] != HISTORY:
        row.source = values["source"]  # now known directly: it may be the adoption point
        changed = True
    changed = changed or (row.title is None and bool(values.get("title")))  # a revert's name
    for name in KEPT_FIRST:
        setattr(row, name, getattr(row, name) or values.get(name))
    if _names_author_better(row, values):
        row.author = values["author"]
    for name in PULL_REQUEST:
        if values.get(name) not in (None, "") and getattr(row, name) != values[name]:
            setattr(row, name, values[name])
            changed = changed or name in ("pr_title", "pr_number")  # what a revert names
    return changed


def _names_author_better(row: Mergeset, values: dict) -> bool:
    """A commit's author email names a person better than a forge login (the login stays, as
    `pr_author`): people are joined by both (domain/people.py)."""
    author = values.get("author") or ""
    return "@" in author and "@" not in (row.author or "")


def _better_merge_time(row: Mergeset, values: dict) -> bool:
    """A better kind of merge time, or an earlier run start where both are estimates: the parts
    of one run can arrive apart (a receiver sends each job as it ends, the run last)."""
    quality = MERGED_AT_QUALITY[values["merged_at_source"]]
    if quality != MERGED_AT_QUALITY[row.merged_at_source]:
        return quality > MERGED_AT_QUALITY[row.merged_at_source]
    return values["merged_at_source"] == "pipeline" and values["merged_at"] < row.merged_at


def _knows_better(row: Mergeset, values: dict) -> bool:
    """Whether a report would change a stored mergeset (upsert_mergeset's rules)."""
    if _better_merge_time(row, values):
        return True
    if row.source == HISTORY and values["source"] != HISTORY:
        return True
    if any(values.get(name) and getattr(row, name) is None for name in KEPT_FIRST):
        return True
    if _names_author_better(row, values):
        return True
    return any(
        values.get(name) not in (None, "") and getattr(row, name) != values[name]
        for name in PULL_REQUEST
    )


def _stored(session: Session, repository_id: int, reports: list[dict]) -> dict[str, Mergeset]:
    """The stored mergesets the reports name, by sha, read CHUNK shas at a time."""
    shas = sorted({values["sha"] for values in reports})
    known: dict[str, Mergeset] = {}
    for first in range(0, len(shas), CHUNK):
        chunk = {"repository_id": repository_id, "shas": shas[first : first + CHUNK]}
        known.update((row.sha, row) for row in session.scalars(_MERGESETS_BY_SHA, chunk))
    return known


_MERGESETS_BY_SHA = select(Mergeset).where(  # built once: every main-branch delivery reads it
    Mergeset.repository_id == bindparam("repository_id"),
    Mergeset.sha.in_(bindparam("shas", expanding=True)),
)


def upsert_mergesets(session: Session, repository_id: int, reports: list[dict]) -> set[str]:
    """Many mergesets of one repository at once, by upsert_mergeset's rules: the new ones
    inserted in one statement, a known one (read here, under the repository's lock that every
    delivery reporting mergesets takes: recording.py) updated where a report knows better, its
    changes flushed together. The shas that are new or changed in what their order,
    containment or revert links depend on."""
    known = _stored(session, repository_id, reports)
    new: dict[str, dict] = {}
    again: list[dict] = []  # reports of known shas, and a sha's later reports in this batch
    for values in reports:
        if values["sha"] in known or values["sha"] in new:
            again.append(values)
        else:
            new[values["sha"]] = values
    rows = [values | {"repository_id": repository_id} for values in new.values()]
    insert_ignoring_duplicates(session, Mergeset, rows, ["repository_id", "sha"])
    changed = set(new)
    for values in again:
        row = known.get(values["sha"])
        if row is not None and _knows_better(row, values) and _learn(row, values):
            changed.add(values["sha"])
        elif row is None and upsert_mergeset(session, repository_id, values):
            changed.add(values["sha"])  # new in this batch, reported again in it
    return changed


def reports_known(session: Session, repository_id: int, reports: list[dict]) -> list[bool]:
    """Whether each report names a stored mergeset that it would change nothing of
    (upsert_mergesets' rules), in one read and without the repository's lock."""
    known = _stored(session, repository_id, reports)
    return [
        (row := known.get(values["sha"])) is not None and not _knows_better(row, values)
        for values in reports
    ]


def mergesets_of(session: Session, repository_id: int) -> list[Mergeset]:
    return list(session.scalars(select(Mergeset).where(Mergeset.repository_id == repository_id)))


def mergesets_by_prefix(
    session: Session, prefix: str, repository_id: int | None = None, limit: int = 10
) -> list[Mergeset]:
    """Mergesets whose sha starts with `prefix` (taken literally: no LIKE wildcards)."""
    query = select(Mergeset).where(Mergeset.sha.startswith(prefix.lower(), autoescape=True))
    if repository_id is not None:
        query = query.where(Mergeset.repository_id == repository_id)
    return list(session.scalars(query.order_by(Mergeset.merged_at.desc()).limit(limit)))


def undeployed_mergesets(
    session: Session, repository_id: int, environment: str, since: datetime
) -> list[Mergeset]:
    """Counted mergesets merged since `since` that no deploy to `environment` contains yet."""
    return list(
        session.scalars(
            select(Mergeset)
            .outerjoin(
                DeployMergeset,
                (DeployMergeset.mergeset_id == Mergeset.id)
                & (DeployMergeset.environment == environment),
            )
            .where(
                Mergeset.repository_id == repository_id,
                Mergeset.merged_at >= since,
                DeployMergeset.deploy_id.is_(None),
                Mergeset.context.is_(False),
            )
        )
    )


def mergesets_newest_first(
    session: Session,
    repository_id: int | None,
    sha: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
) -> list[tuple[Mergeset, Repository]]:
    """Mergesets (of one repository, or all) merged in [since, until), newest first."""
    query = select(Mergeset, Repository).join(Repository, Repository.id == Mergeset.repository_id)
    if repository_id is not None:
        query = query.where(Mergeset.repository_id == repository_id)
    if sha:
        query = query.where(Mergeset.sha == sha)
    if since:
        query = query.where(Mergeset.merged_at >= since)
    if until:
        query = query.where(Mergeset.merged_at < until)
    rows = session.execute(query.order_by(Mergeset.merged_at.desc()).limit(limit))
    return [(mergeset, repository) for mergeset, repository in rows]


def _shipped_to(environment: str):
    return (DeployMergeset.mergeset_id == Mergeset.id) & (DeployMergeset.environment == environment)


def deployed_mergesets(
    session: Session, environment: str, since: datetime, repository_id: int | None
) -> list[tuple[Mergeset, Repository]]:
    """Mergesets whose deploy to `environment` finished since `since`."""
    query = (
        select(Mergeset, Repository)
        .join(Repository)
        .join(DeployMergeset, _shipped_to(environment))
        .join(Deploy, Deploy.id == DeployMergeset.deploy_id)
        .where(Deploy.finished_at >= since)
    )
    if repository_id is not None:
        query = query.where(Mergeset.repository_id == repository_id)
    return [(mergeset, repository) for mergeset, repository in session.execute(query)]


def waiting_mergesets(
    session: Session, environment: str, repository_id: int | None
) -> list[tuple[Mergeset, Repository]]:
    """Counted mergesets no deploy to `environment` contains yet (context never waits)."""
    query = (
        select(Mergeset, Repository)
        .join(Repository)
        .outerjoin(DeployMergeset, _shipped_to(environment))
        .where(DeployMergeset.deploy_id.is_(None), Mergeset.context.is_(False))
    )
    if repository_id is not None:
        query = query.where(Mergeset.repository_id == repository_id)
    return [(mergeset, repository) for mergeset, repository in session.execute(query)]


def waiting_count_and_oldest(
    session: Session, environment: str, repository_id: int | None
) -> tuple[int, datetime | None]:
    """How many counted mergesets no deploy to `environment` contains yet, and the oldest one's
    merge time: what a summary says of waiting mergesets, counted in the database."""
    query = (
        select(func.count(Mergeset.id), func.min(Mergeset.merged_at))
        .outerjoin(DeployMergeset, _shipped_to(environment))
        .where(DeployMergeset.deploy_id.is_(None), Mergeset.context.is_(False))
    )
    if repository_id is not None:
        query = query.where(Mergeset.repository_id == repository_id)
    count, oldest = session.execute(query).one()
    return count, oldest  # min() keeps the column's type: aware UTC


def set_adoption(
    session: Session, repository_id: int, adopted_at: datetime | None, context: set[str]
) -> None:
    """Store the repository's adoption point and which of its mergesets are context."""
    repository = session.get_one(Repository, repository_id)
    if repository.adopted_at != adopted_at:
        repository.adopted_at = adopted_at
    flagged = set(
        session.scalars(
            select(Mergeset.sha).where(Mergeset.repository_id == repository_id, Mergeset.context)
        )
    )
    for value, shas in ((True, context - flagged), (False, flagged - context)):
        ordered = sorted(shas)
        for first in range(0, len(ordered), CHUNK):
            session.execute(
                update(Mergeset)
                .where(
                    Mergeset.repository_id == repository_id,
                    Mergeset.sha.in_(ordered[first : first + CHUNK]),
                )
                .values(context=value)
                .execution_options(synchronize_session=False)
            )


def count_mergesets(session: Session, repository_id: int) -> int:
    query = select(func.count()).select_from(Mergeset)
    return session.scalar(query.where(Mergeset.repository_id == repository_id)) or 0


def shas_by_id(session: Session, mergeset_ids: list[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    ordered = sorted(set(mergeset_ids))
    for first in range(0, len(ordered), CHUNK):
        query = select(Mergeset.id, Mergeset.sha).where(
            Mergeset.id.in_(ordered[first : first + CHUNK])
        )
        found.update((row_id, sha) for row_id, sha in session.execute(query))
    return found
