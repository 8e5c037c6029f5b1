"""Repositories: one per identity (repository_key), found by URL, `owner/name` or name, created on
first sight, and locked in id order by every write before it stores anything."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.orm import Session

from leadtime.server.errors import BadPayload, UnknownService
from leadtime.server.models import Deploy, Repository
from leadtime.server.store.rows import insert_if_new
from leadtime.tracer.context import normalize_repo_url

# Hosts whose repository paths are case-insensitive (GitHub, GitLab, Bitbucket; their
# self-hosted editions carry the name in the host): `Pallets/Click` is `pallets/click` there.
FOLDING_FORGES = ("github", "gitlab", "bitbucket")
NAME_ONLY = "name:"  # the key of a repository known only by `owner/name` or a bare name


def looks_like_url(reference: str) -> bool:
    return "://" in reference or reference.startswith("git@")


def repository_key(url: str) -> str:
    """A repository's one identity: host and path; the host lower-case and without a port, the
    path case-folded where the forge folds it. Every URL form git accepts (https, scp-like
    `git@host:o/r.git`, `ssh://git@host:22/o/r.git`, with or without `.git`) gives the same."""
    rest = normalize_repo_url(url).split("://", 1)[-1]
    host, _, path = rest.partition("/")
    host = host.rsplit("@", 1)[-1].split(":", 1)[0].lower()
    path = path.strip("/")
    if any(forge in host for forge in FOLDING_FORGES):
        path = path.lower()
    return f"{host}/{path}"


def name_key(reference: str) -> str:
    return NAME_ONLY + reference.strip().strip("/").lower()


def repository_for(session: Session, url: str | None, name: str | None) -> Repository | None:
    """The repository a span or report names by URL or name, created on first sight; None if it
    names none."""
    if url:
        return _repository_by_url(session, url)
    if name:
        return resolve_repository(session, name, create=True)
    return None


def _by_key(session: Session, key: str, values: dict) -> Repository:
    """The repository with this key, inserted on first sight: a unique key and ON CONFLICT DO
    NOTHING, so two first sights at once (two servers even) make one row."""
    found = session.scalar(select(Repository).where(Repository.key == key))
    if found is None:
        insert_if_new(session, Repository, {**values, "key": key}, ["key"])
        found = session.scalars(select(Repository).where(Repository.key == key)).one()
    return found


def _repository_by_url(session: Session, url: str) -> Repository:
    url = normalize_repo_url(url)
    return _by_key(session, repository_key(url), _url_values(url))


def _url_values(url: str) -> dict:
    return {"name": url.rsplit("/", 1)[-1], "url": url}


def resolve_repository(session: Session, reference: str, create: bool = False) -> Repository:
    """A repository by URL, `owner/name` or name (letter case aside); with `create`, a new
    name-only one when none matches. A name never makes a second repository beside the one
    known by URL that it names: `acme/shop` is https://github.com/acme/shop once that is known."""
    reference = reference.strip()
    if not reference.strip("/"):
        raise BadPayload("repository must not be empty")
    if looks_like_url(reference):
        return _repository_by_url(session, reference)
    folded = reference.strip("/").lower()
    by_url = [
        r
        for r in session.scalars(
            select(Repository).where(
                Repository.url.is_not(None),
                func.lower(Repository.key).endswith("/" + folded, autoescape=True),
            )
        )
    ]
    if len(by_url) > 1:
        raise BadPayload(
            f"repository {reference!r} is ambiguous "
            f"({', '.join(r.display_name for r in by_url)}); give its URL"
        )
    if by_url:
        return by_url[0]
    named = session.scalar(select(Repository).where(Repository.key == name_key(reference)))
    if named is not None:
        return named
    if not create:
        raise UnknownService(f"no repository {reference!r} is known yet")
    short = reference.strip("/").rsplit("/", 1)[-1]
    return _by_key(session, name_key(reference), {"name": short})


def name_only_twins(session: Session, repository: Repository) -> list[Repository]:
    """Repositories known only by a name that names this one (`acme/shop`, `shop`): created
    before its URL was known, to be merged into it."""
    if repository.url is None:
        return []
    keys = _twin_keys(repository.key)
    return list(
        session.scalars(select(Repository).where(Repository.key.in_(keys)).order_by(Repository.id))
    )


_REPOSITORIES_BY_KEY = (  # built once: every delivery reads it
    select(Repository)
    .where(Repository.key.in_(bindparam("keys", expanding=True)))
    .order_by(Repository.id)
)


def repository_and_twins(session: Session, url: str) -> tuple[Repository, list[Repository]]:
    """The repository a URL names (created on first sight) and its name-only twins (see
    name_only_twins), read together: every delivery asks for both."""
    url = normalize_repo_url(url)
    key = repository_key(url)
    rows = session.scalars(_REPOSITORIES_BY_KEY, {"keys": [key, *_twin_keys(key)]}).all()
    found = next((row for row in rows if row.key == key), None)
    if found is None:
        found = _by_key(session, key, _url_values(url))
    return found, [row for row in rows if row.key != key]


def repositories_without_twins(session: Session, urls: list[str]) -> dict[str, Repository]:
    """The stored repository of each URL that has no name-only twin (one read; none is
    created): what a delivery naming it finds with nothing to merge first."""
    keys = {url: repository_key(normalize_repo_url(url)) for url in urls}
    twins = {key: _twin_keys(key) for key in keys.values()}
    wanted = {*keys.values(), *(twin for names in twins.values() for twin in names)}
    rows = {row.key: row for row in session.scalars(_REPOSITORIES_BY_KEY, {"keys": sorted(wanted)})}
    return {
        url: rows[key]
        for url, key in keys.items()
        if key in rows and not any(twin in rows for twin in twins[key])
    }


def _twin_keys(key: str) -> list[str]:
    """The keys of the names that name the repository of this URL key: `owner/name`, `name`."""
    path = key.split("/", 1)[-1].lower().split("/")
    return [NAME_ONLY + "/".join(path[index:]) for index in range(len(path))]


def adopted_at(session: Session, repository_id: int | None) -> datetime | None:
    """The repository's adoption point, or the earliest of all repositories' (None: none yet)."""
    query = select(func.min(Repository.adopted_at))
    if repository_id is not None:
        query = query.where(Repository.id == repository_id)
    return session.scalar(query)


def find_repository(session: Session, reference: str) -> Repository:
    return resolve_repository(session, reference, create=False)


def repository_for_service(session: Session, service: str) -> Repository:
    """The repository a service was last deployed from."""
    repository_id = session.scalar(
        select(Deploy.repository_id)
        .where(Deploy.service == service, Deploy.repository_id.is_not(None))
        .order_by(Deploy.id.desc())
        .limit(1)
    )
    if repository_id is None:
        raise UnknownService(
            f"service {service!r} is unknown: name its repository in the deploy "
            "(`repository`), once, and later deploys of the service find it"
        )
    return session.get_one(Repository, repository_id)


def lock_repository(session: Session, repository_id: int) -> None:
    """Hold the repository's row until commit: two servers working out the same repository's
    containment take turns, the second seeing what the first stored (no-op on SQLite, whose
    writers take turns anyway)."""
    lock_repositories(session, [repository_id])


EVALUATION_LOCKS = 0x1EAD  # the namespace of the advisory locks of repositories' evaluations


def lock_evaluation(session: Session, repository_id: int) -> None:
    """Hold the turn to evaluate this repository's alerts until commit: two servers evaluating
    it take turns, the second reading what the first stored. An advisory lock, not the
    repository's row: merges and deploys of the repository do not wait for an evaluation (on
    SQLite, whose writers take turns anyway, one process evaluates at a time: alerting.py)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(:namespace, :repository)"),
            {"namespace": EVALUATION_LOCKS, "repository": repository_id},
        )


RUN_LOCKS = 0x1EAE  # the namespace of the advisory locks of pipeline runs being joined


_LOCK_RUNS = text(
    "SELECT pg_advisory_xact_lock(:namespace, hashtext(key))"
    " FROM unnest(CAST(:keys AS text[])) AS key"
)


def lock_runs(session: Session, keys: Iterable[str]) -> None:
    """Hold these pipeline runs (by their provider, run id and attempt) until commit: two
    deliveries of one run under two trace ids take turns, the second finding the first's trace
    (domain/run_join.py), without either waiting for the repository's row. In sorted order, so
    two deliveries never wait for each other's (no-op on SQLite, whose writers take turns)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    if ordered := sorted(set(keys)):  # one round trip: unnest yields them in the array's order
        session.execute(_LOCK_RUNS, {"namespace": RUN_LOCKS, "keys": ordered})


def lock_repositories(session: Session, repository_ids: Iterable[int]) -> None:
    """Lock these repositories' rows, in id order. A write takes them before it stores
    anything: were it to insert a row first, a duplicate of the same write on another server
    would wait for that row while holding the repository this write needs (a deadlock)."""
    # FOR NO KEY UPDATE: writers of the repository take turns, while rows that only refer to it
    # (a run's, a step's foreign key check takes FOR KEY SHARE) are stored without waiting.
    for repository_id in sorted(set(repository_ids)):
        session.execute(
            select(Repository.id)
            .where(Repository.id == repository_id)
            .with_for_update(key_share=True)
        )


def repository_by_id(session: Session, repository_id: int) -> Repository:
    return session.get_one(Repository, repository_id)


def repositories(session: Session) -> list[Repository]:
    return list(session.scalars(select(Repository).order_by(Repository.name)))


def repository_id_of_service(session: Session, service: str) -> int | None:
    return session.scalar(
        select(Deploy.repository_id)
        .where(Deploy.service == service, Deploy.repository_id.is_not(None))
        .order_by(Deploy.id.desc())
        .limit(1)
    )
