"""Every query and idempotent upsert. Routes, CLI and domain read and write through here.

Idempotence rests on unique constraints, not on check-then-insert: steps by (trace id, span id),
mergesets by (repository, sha), deploys by their identity, repositories by URL. An insert that
meets an existing row is skipped (`ON CONFLICT DO NOTHING`) and the row is then updated where the
new report knows better.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import Select, bindparam, delete, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from leadtime.server.errors import BadPayload, NotFound, UnknownService
from leadtime.server.ingest.traces import (
    MERGED_AT_QUALITY,
    DeployFacts,
    MergesetFacts,
    RepoRef,
    RunFacts,
)
from leadtime.server.models import (
    Alert,
    AlertEvent,
    Deploy,
    DeployMergeset,
    Mergeset,
    Notification,
    Page,
    PageDeploy,
    PipelineRun,
    Repository,
    ServiceMapping,
    Step,
    WebhookDelivery,
    utcnow,
)
from leadtime.tracer.context import normalize_repo_url


def _insert_ignoring(session: Session, model, keys: Sequence[str]):
    """INSERT ... ON CONFLICT (keys) DO NOTHING, in the database's own dialect."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # Core's table, not the ORM entity: executemany with cached SQL, no per-row compilation.
    return insert(model.__table__).on_conflict_do_nothing(index_elements=list(keys))


def insert_ignoring_duplicates(
    session: Session, model, rows: list[dict], keys: Sequence[str]
) -> None:
    """Insert the rows that are new; rows whose keys exist already are left alone."""
    if rows:
        session.execute(_insert_ignoring(session, model, keys), rows)


def insert_if_new(session: Session, model, row: dict, keys: Sequence[str]) -> bool:
    """Insert one row unless its keys exist; True when it was inserted."""
    key_column = next(iter(model.__table__.primary_key.columns))
    statement = _insert_ignoring(session, model, keys).returning(key_column)
    return session.execute(statement, row).first() is not None


# Repositories ---------------------------------------------------------------------------------


def _looks_like_url(reference: str) -> bool:
    return "://" in reference or reference.startswith("git@")


def repository_for(session: Session, ref: RepoRef) -> Repository | None:
    """The repository a span or report names, created on first sight; None if it names none."""
    if ref.url:
        url = normalize_repo_url(ref.url)
        found = session.scalar(select(Repository).where(Repository.url == url))
        if found is None:  # first sight; a concurrent first sight inserts it only once
            insert_if_new(
                session, Repository, {"name": url.rsplit("/", 1)[-1], "url": url}, ["url"]
            )
            found = session.scalar(select(Repository).where(Repository.url == url))
        return found
    if ref.name:
        return resolve_repository(session, ref.name, create=True)
    return None


def resolve_repository(session: Session, reference: str, create: bool = False) -> Repository:
    """A repository by URL, `owner/name` or name; with `create`, a new one when none matches."""
    reference = reference.strip()
    if not reference:
        raise BadPayload("repository must not be empty")
    if _looks_like_url(reference):
        repository = repository_for(session, RepoRef(reference, None))
        assert repository is not None
        return repository
    name = reference.rstrip("/").rsplit("/", 1)[-1]
    query = select(Repository).where(Repository.name == name)
    if "/" in reference:
        query = query.where(or_(Repository.url.endswith("/" + reference), Repository.url.is_(None)))
    matches = list(session.scalars(query))
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise BadPayload(
            f"repository {reference!r} is ambiguous "
            f"({', '.join(r.url or r.name for r in matches)}); give its URL"
        )
    if not create:
        raise UnknownService(f"no repository {reference!r} is known yet")
    repository = Repository(name=name)
    session.add(repository)
    session.flush()
    return repository


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
    return session.get(Repository, repository_id)


# Pipeline runs and steps ----------------------------------------------------------------------


def insert_steps(session: Session, rows: list[dict]) -> None:
    insert_ignoring_duplicates(session, Step, rows, ["trace_id", "span_id"])


def upsert_pipeline_run(session: Session, run: RunFacts, repository_id: int | None) -> None:
    insert_if_new(
        session,
        PipelineRun,
        {"trace_id": run.trace_id, "started_at": run.started_at, "finished_at": run.finished_at},
        ["trace_id"],
    )
    row = session.scalar(
        select(PipelineRun).where(PipelineRun.trace_id == run.trace_id).with_for_update()
    )
    row.started_at = min(row.started_at, run.started_at)
    row.finished_at = max(row.finished_at, run.finished_at)
    row.step_summary = None  # more spans: the cached step summary is out of date
    row.repository_id = row.repository_id or repository_id
    for name in ("provider", "run_id", "attempt", "name", "branch", "sha", "url"):
        if getattr(row, name) is None and getattr(run, name) is not None:
            setattr(row, name, getattr(run, name))
    if run.result:
        row.result = run.result


def pipeline_run(session: Session, trace_id: str) -> PipelineRun | None:
    return session.scalar(select(PipelineRun).where(PipelineRun.trace_id == trace_id))


def steps_of(session: Session, trace_id: str) -> list[Step]:
    return list(
        session.scalars(select(Step).where(Step.trace_id == trace_id).order_by(Step.started_at))
    )


# Mergesets ------------------------------------------------------------------------------------


def upsert_mergeset(session: Session, repository_id: int, facts: MergesetFacts) -> bool:
    """Store a mergeset once; better facts (a PR's merge time, a known parent) update it.
    True when anything changed that containment depends on."""
    inserted = insert_if_new(
        session,
        Mergeset,
        {
            "repository_id": repository_id,
            "sha": facts.sha,
            "parent_sha": facts.parent_sha,
            "merged_at": facts.merged_at,
            "merged_at_source": facts.merged_at_source,
            "source": facts.source,
            "author": facts.author,
            "title": facts.title,
        },
        ["repository_id", "sha"],
    )
    row = session.scalar(
        select(Mergeset)
        .where(Mergeset.repository_id == repository_id, Mergeset.sha == facts.sha)
        .with_for_update()
    )
    changed = inserted
    if MERGED_AT_QUALITY[facts.merged_at_source] > MERGED_AT_QUALITY[row.merged_at_source]:
        row.merged_at, row.merged_at_source = facts.merged_at, facts.merged_at_source
        changed = True
    if facts.parent_sha and row.parent_sha is None:
        row.parent_sha = facts.parent_sha
        changed = True
    row.author = row.author or facts.author
    row.title = row.title or facts.title
    return changed


def set_pull_request(
    session: Session,
    repository_id: int,
    sha: str,
    number: int | None,
    title: str | None,
    author: str | None,
    url: str | None,
) -> None:
    row = session.scalar(
        select(Mergeset).where(Mergeset.repository_id == repository_id, Mergeset.sha == sha)
    )
    if row is None:
        return
    row.pr_number = number if number is not None else row.pr_number
    row.pr_title = title or row.pr_title
    row.pr_author = author or row.pr_author
    row.pr_url = url or row.pr_url


def mergesets_of(session: Session, repository_id: int) -> list[Mergeset]:
    return list(session.scalars(select(Mergeset).where(Mergeset.repository_id == repository_id)))


def mergeset_by_sha(session: Session, sha: str, repository_id: int | None = None) -> Mergeset:
    query = select(Mergeset).where(Mergeset.sha.startswith(sha))
    if repository_id is not None:
        query = query.where(Mergeset.repository_id == repository_id)
    return session.scalar(query.limit(1))


# Deploys --------------------------------------------------------------------------------------


def deploy_identity(
    source: str,
    external_id: str | None,
    service: str,
    environment: str,
    sha: str,
    finished_at: datetime | None,
) -> str:
    """Two reports are one deploy when their source and id match, or, without an id, when
    service, environment, sha and finish time do."""
    if external_id:
        return f"{source}:{external_id}"
    finished = finished_at.isoformat() if finished_at else "open"
    return f"{source}:{service}|{environment}|{sha}|{finished}"


def upsert_deploy(session: Session, values: dict) -> tuple[Deploy, bool]:
    """Insert or update the deploy with this identity; (the deploy, whether it changed)."""
    inserted = insert_if_new(session, Deploy, values, ["identity"])
    row = session.scalar(
        select(Deploy).where(Deploy.identity == values["identity"]).with_for_update()
    )
    changed = inserted
    for name, value in values.items():
        if value is not None and getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return row, changed


def open_deploy(session: Session, service: str, environment: str, sha: str) -> Deploy | None:
    """An id-less deploy of this sha still in progress, which a finished report completes."""
    return session.scalar(
        select(Deploy)
        .where(
            Deploy.service == service,
            Deploy.environment == environment,
            Deploy.sha == sha,
            Deploy.external_id.is_(None),
            Deploy.finished_at.is_(None),
        )
        .limit(1)
    )


def deploy_values_from_span(deploy: DeployFacts, repository_id: int | None) -> dict:
    return {
        "identity": deploy_identity(
            "span",
            deploy.external_id,
            deploy.service,
            deploy.environment,
            deploy.sha,
            deploy.finished_at,
        ),
        "source": "span",
        "external_id": deploy.external_id,
        "repository_id": repository_id,
        "service": deploy.service,
        "environment": deploy.environment,
        "sha": deploy.sha,
        "status": deploy.status,
        "started_at": deploy.started_at,
        "finished_at": deploy.finished_at,
        "url": deploy.url,
        "trace_id": deploy.trace_id,
        "span_id": deploy.span_id,
    }


def successful_deploys(session: Session, repository_id: int, environment: str) -> list[Deploy]:
    return list(
        session.scalars(
            select(Deploy)
            .where(
                Deploy.repository_id == repository_id,
                Deploy.environment == environment,
                Deploy.status == "succeeded",
                Deploy.finished_at.is_not(None),
            )
            .order_by(Deploy.finished_at, Deploy.id)
        )
    )


def environments_of(session: Session, repository_id: int) -> list[str]:
    return list(
        session.scalars(
            select(Deploy.environment).where(Deploy.repository_id == repository_id).distinct()
        )
    )


def lock_repository(session: Session, repository_id: int) -> None:
    """Hold the repository's row until commit: two servers working out the same repository's
    containment take turns, the second seeing what the first stored (no-op on SQLite, whose
    writers take turns anyway)."""
    lock_repositories(session, [repository_id])


def lock_repositories(session: Session, repository_ids: Iterable[int]) -> None:
    """Lock these repositories' rows, in id order. A write takes them before it stores
    anything: were it to insert a row first, a duplicate of the same write on another server
    would wait for that row while holding the repository this write needs (a deadlock)."""
    for repository_id in sorted(set(repository_ids)):
        session.execute(
            select(Repository.id).where(Repository.id == repository_id).with_for_update()
        )


def replace_containment(
    session: Session, repository_id: int, environment: str, links: Iterable[tuple[int, int]]
) -> None:
    """Make (deploy id, mergeset id) `links` the whole containment of this repository and
    environment."""
    deploy_ids = select(Deploy.id).where(
        Deploy.repository_id == repository_id, Deploy.environment == environment
    )
    session.execute(
        delete(DeployMergeset).where(
            DeployMergeset.environment == environment, DeployMergeset.deploy_id.in_(deploy_ids)
        )
    )
    rows = [
        {"deploy_id": deploy_id, "mergeset_id": mergeset_id, "environment": environment}
        for deploy_id, mergeset_id in links
    ]
    if rows:
        session.execute(DeployMergeset.__table__.insert(), rows)


def deploys_query(
    service: str | None, environment: str | None, since: datetime | None, limit: int
) -> Select:
    query = select(Deploy).order_by(Deploy.finished_at.desc().nulls_first(), Deploy.id.desc())
    if service:
        query = query.where(Deploy.service == service)
    if environment:
        query = query.where(Deploy.environment == environment)
    if since:
        query = query.where(or_(Deploy.finished_at >= since, Deploy.finished_at.is_(None)))
    return query.limit(limit)


def mergesets_of_deploys(session: Session, deploy_ids: list[int]) -> dict[int, list[Mergeset]]:
    found: dict[int, list[Mergeset]] = {deploy_id: [] for deploy_id in deploy_ids}
    if not deploy_ids:
        return found
    rows = session.execute(
        select(DeployMergeset.deploy_id, Mergeset)
        .join(Mergeset, Mergeset.id == DeployMergeset.mergeset_id)
        .where(DeployMergeset.deploy_id.in_(deploy_ids))
        .order_by(Mergeset.merged_at)
    )
    for deploy_id, mergeset in rows:
        found[deploy_id].append(mergeset)
    return found


def production_deploys_of(
    session: Session, mergeset_ids: list[int], environment: str
) -> dict[int, tuple[Deploy, int]]:
    """For each mergeset, the deploy that shipped it to `environment` and how many mergesets
    that deploy contained."""
    if not mergeset_ids:
        return {}
    shipped_with = DeployMergeset.__table__.alias("shipped_with")
    # Counted per deploy found, through the (deploy_id, mergeset_id) key: counting every deploy's
    # mergesets first would read the whole table for a page of results.
    size = (
        select(func.count())
        .where(shipped_with.c.deploy_id == DeployMergeset.deploy_id)
        .scalar_subquery()
    )
    rows = session.execute(
        select(DeployMergeset.mergeset_id, Deploy, size)
        .join(Deploy, Deploy.id == DeployMergeset.deploy_id)
        .where(
            DeployMergeset.environment == environment,
            DeployMergeset.mergeset_id.in_(mergeset_ids),
        )
    )
    return {mergeset_id: (deploy, size) for mergeset_id, deploy, size in rows}


def run_summaries(
    session: Session,
    repository_id: int,
    since: datetime,
    until: datetime,
    branches: Sequence[str] | None = None,
) -> list[tuple[str, dict | None]]:
    """(trace id, cached step summary or None) of the repository's runs started in the window,
    on `branches` only when given."""
    query = select(PipelineRun.trace_id, PipelineRun.step_summary).where(
        PipelineRun.repository_id == repository_id,
        PipelineRun.started_at >= since,
        PipelineRun.started_at < until,
    )
    if branches is not None:
        query = query.where(PipelineRun.branch.in_(branches))
    return list(session.execute(query))


def steps_of_runs(session: Session, trace_ids: list[str]) -> dict[str, list[tuple]]:
    """Timing columns of every step of these runs, by trace id."""
    found: dict[str, list[tuple]] = {trace_id: [] for trace_id in trace_ids}
    for first in range(0, len(trace_ids), 500):
        rows = session.execute(
            select(
                Step.trace_id,
                Step.span_id,
                Step.parent_span_id,
                Step.name,
                Step.started_at,
                Step.finished_at,
                Step.kind,
                Step.result,
            ).where(Step.trace_id.in_(trace_ids[first : first + 500]))
        )
        for trace_id, *fields in rows:
            found[trace_id].append(tuple(fields))
    return found


def save_run_summaries(session: Session, summaries: dict[str, dict]) -> None:
    if summaries:
        session.execute(
            PipelineRun.__table__.update()
            .where(PipelineRun.__table__.c.trace_id == bindparam("key"))
            .values(step_summary=bindparam("summary")),
            [{"key": trace_id, "summary": summary} for trace_id, summary in summaries.items()],
        )
        session.commit()


def repository_by_id(session: Session, repository_id: int) -> Repository:
    return session.get(Repository, repository_id)


def set_budget(session: Session, repository: Repository, seconds: float | None) -> None:
    repository.budget_seconds = seconds
    session.commit()


def main_run_of(
    session: Session, repository_id: int, sha: str, main_branches: tuple[str, ...]
) -> str | None:
    """The trace id of the first main-branch pipeline run of `sha`."""
    return session.scalar(
        select(PipelineRun.trace_id)
        .where(
            PipelineRun.repository_id == repository_id,
            PipelineRun.sha == sha,
            PipelineRun.branch.in_(main_branches),
        )
        .order_by(PipelineRun.started_at)
        .limit(1)
    )


def repositories(session: Session) -> list[Repository]:
    return list(session.scalars(select(Repository).order_by(Repository.name)))


def set_target(session: Session, repository: Repository, seconds: float | None) -> None:
    repository.target_seconds = seconds
    session.commit()


def set_alerting(session: Session, repository: Repository, alerting: dict | None) -> None:
    repository.alerting = alerting
    session.commit()


# Lead-time history for the regression rule ------------------------------------------------------


def lead_time_pairs(
    session: Session, repository_id: int, environment: str, since: datetime, until: datetime
) -> list[tuple[datetime, datetime]]:
    """(merged at, deployed at) of each mergeset whose deploy to `environment` finished in
    [since, until)."""
    rows = session.execute(
        select(Mergeset.merged_at, Deploy.finished_at)
        .join(DeployMergeset, DeployMergeset.mergeset_id == Mergeset.id)
        .join(Deploy, Deploy.id == DeployMergeset.deploy_id)
        .where(
            Mergeset.repository_id == repository_id,
            DeployMergeset.environment == environment,
            Deploy.finished_at >= since,
            Deploy.finished_at < until,
        )
    )
    return [(merged_at, deployed_at) for merged_at, deployed_at in rows]


def undeployed_mergesets(
    session: Session, repository_id: int, environment: str, since: datetime
) -> list[Mergeset]:
    """Mergesets merged since `since` that no deploy to `environment` contains yet."""
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
            )
        )
    )


def has_succeeded_deploy(session: Session, repository_id: int, environment: str) -> bool:
    return (
        session.scalar(
            select(Deploy.id)
            .where(
                Deploy.repository_id == repository_id,
                Deploy.environment == environment,
                Deploy.status == "succeeded",
            )
            .limit(1)
        )
        is not None
    )


# Alerts -----------------------------------------------------------------------------------------


def alert_key(repository_id: int, metric: str, subject: str) -> str:
    return f"{repository_id}:{metric}:{subject}"


def open_alerts(session: Session, repository_id: int) -> dict[tuple[str, str], Alert]:
    rows = session.scalars(
        select(Alert).where(Alert.repository_id == repository_id, Alert.status == "open")
    )
    return {(alert.metric, alert.subject): alert for alert in rows}


def open_alert(session: Session, values: dict) -> Alert | None:
    """Open an alert unless one is open for its key already (another server may have just
    opened it); the new alert, or None."""
    key = alert_key(values["repository_id"], values["metric"], values["subject"])
    row = {**values, "open_key": key, "status": "open", "updated_at": values["fired_at"]}
    if not insert_if_new(session, Alert, row, ["open_key"]):
        return None
    alert = session.scalar(select(Alert).where(Alert.open_key == key))
    add_alert_event(session, alert, "fired", values["fired_at"])
    return alert


def update_alert(session: Session, alert: Alert, values: dict, now: datetime) -> None:
    """New numbers for an open alert; an `updated` event when they changed."""
    changed = any(getattr(alert, name) != value for name, value in values.items())
    if changed:
        for name, value in values.items():
            setattr(alert, name, value)
        alert.updated_at = now
        add_alert_event(session, alert, "updated", now)


def resolve_alert(session: Session, alert: Alert, now: datetime) -> bool:
    """Resolve an open alert; False when another server resolved it first."""
    done = session.execute(
        Alert.__table__.update()
        .where(Alert.__table__.c.id == alert.id, Alert.__table__.c.status == "open")
        .values(status="resolved", open_key=None, resolved_at=now, updated_at=now)
    )
    if done.rowcount != 1:
        return False
    session.refresh(alert)
    add_alert_event(session, alert, "resolved", now)
    return True


def add_alert_event(session: Session, alert: Alert, kind: str, at: datetime) -> None:
    session.add(
        AlertEvent(
            alert_id=alert.id,
            kind=kind,
            at=at,
            current_seconds=alert.current_seconds,
            baseline_seconds=alert.baseline_seconds,
        )
    )


def alerts(
    session: Session,
    repository_id: int | None = None,
    status: str | None = None,
    limit: int = 100,
) -> list[tuple[Alert, Repository]]:
    """Alerts newest first, open ones before resolved ones."""
    query = select(Alert, Repository).join(Repository, Repository.id == Alert.repository_id)
    if repository_id is not None:
        query = query.where(Alert.repository_id == repository_id)
    if status is not None:
        query = query.where(Alert.status == status)
    query = query.order_by(Alert.status.desc(), Alert.fired_at.desc(), Alert.id.desc())
    return [(alert, repository) for alert, repository in session.execute(query.limit(limit))]


def alert_with_repository(session: Session, alert_id: int) -> tuple[Alert, Repository] | None:
    row = session.execute(
        select(Alert, Repository)
        .join(Repository, Repository.id == Alert.repository_id)
        .where(Alert.id == alert_id)
    ).first()
    return (row[0], row[1]) if row else None


def _by_alert(session: Session, model, alert_ids: list[int]) -> dict[int, list]:
    """Rows of `model` (events or notifications) of these alerts, oldest first, by alert id."""
    found: dict[int, list] = {alert_id: [] for alert_id in alert_ids}
    for row in session.scalars(
        select(model).where(model.alert_id.in_(alert_ids)).order_by(model.id)
    ):
        found[row.alert_id].append(row)
    return found


def events_of(session: Session, alert_ids: list[int]) -> dict[int, list[AlertEvent]]:
    return _by_alert(session, AlertEvent, alert_ids)


# Notifications: an outbox the dispatcher empties ----------------------------------------------


def queue_notifications(
    session: Session, alert_id: int, event: str, channels: Iterable[str], now: datetime
) -> None:
    """One notification per channel; one that exists already is not queued again."""
    rows = [
        {
            "alert_id": alert_id,
            "channel": channel,
            "event": event,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for channel in channels
    ]
    insert_ignoring_duplicates(session, Notification, rows, ["alert_id", "channel", "event"])


def notifications_of(session: Session, alert_ids: list[int]) -> dict[int, list[Notification]]:
    return _by_alert(session, Notification, alert_ids)


def claim_due_notification(session: Session, now: datetime, lease: timedelta) -> int | None:
    """Take one due notification for sending (or one whose sender died holding it); its id.

    The conditional UPDATE is the claim: of two servers after the same row, one wins."""
    table = Notification.__table__
    due = or_(
        (table.c.status == "pending") & (table.c.next_attempt_at <= now),
        (table.c.status == "sending") & (table.c.claimed_until < now),
    )
    candidates = list(
        session.scalars(select(table.c.id).where(due).order_by(table.c.next_attempt_at).limit(10))
    )
    # End the read before writing: on SQLite a write after a read that another writer has
    # overtaken fails at once ("database is locked") instead of waiting its turn.
    session.commit()
    for notification_id in candidates:
        claimed = session.execute(
            table.update()
            .where(table.c.id == notification_id, due)
            .values(status="sending", claimed_until=now + lease)
        )
        session.commit()
        if claimed.rowcount == 1:
            return notification_id
    return None


def finish_notification(
    session: Session,
    notification: Notification,
    now: datetime,
    error: str | None = None,
    retry_at: datetime | None = None,
) -> None:
    """Sent (no error), to be retried at `retry_at`, or given up (an error, no retry)."""
    notification.attempts += 1
    notification.claimed_until = None
    notification.last_error = error[:500] if error else None
    if error is None:
        notification.status, notification.sent_at = "sent", now
    elif retry_at is not None:
        notification.status, notification.next_attempt_at = "pending", retry_at
    else:
        notification.status = "failed"
    session.commit()


def latest_delivery_per_channel(session: Session) -> dict[str, Notification]:
    """Each channel's most recently attempted notification: is the notifier working?"""
    newest = (
        select(func.max(Notification.id))
        .where(Notification.attempts > 0)
        .group_by(Notification.channel)
    )
    rows = session.scalars(select(Notification).where(Notification.id.in_(newest)))
    return {notification.channel: notification for notification in rows}


# Pages ------------------------------------------------------------------------------------------


def delivery_is_new(session: Session, source: str, delivery_id: str) -> bool:
    """Record a delivery id; False when the source delivered it before (a redelivery)."""
    row = {"source": source, "delivery_id": delivery_id[:300], "received_at": utcnow()}
    return insert_if_new(session, WebhookDelivery, row, ["source", "delivery_id"])


def page_by_source_id(session: Session, source: str, external_id: str) -> Page | None:
    return session.scalar(
        select(Page).where(Page.source == source, Page.external_id == external_id)
    )


def insert_page(session: Session, values: dict) -> Page:
    """The page with this source and id: inserted now, or the one stored already."""
    insert_if_new(session, Page, values, ["source", "external_id"])
    return page_by_source_id(session, values["source"], values["external_id"])


def page(session: Session, page_id: int) -> Page:
    found = session.get(Page, page_id)
    if found is None:
        raise NotFound(f"no page {page_id}")
    return found


def pages_query(
    service: str | None = None,
    status: str | None = None,
    unmatched: bool | None = None,
    since: datetime | None = None,
    limit: int = 100,
):
    query = select(Page).order_by(Page.triggered_at.desc(), Page.id.desc()).limit(limit)
    if service:
        query = query.where(or_(Page.service == service, Page.pager_service == service))
    if status:
        query = query.where(Page.status == status)
    if unmatched is not None:
        query = query.where(Page.service.is_(None) if unmatched else Page.service.is_not(None))
    if since:
        query = query.where(Page.triggered_at >= since)
    return query


def pages_of_service(
    session: Session, service: str, since: datetime, until: datetime
) -> list[Page]:
    return list(
        session.scalars(
            select(Page).where(
                Page.service == service, Page.triggered_at > since, Page.triggered_at <= until
            )
        )
    )


def finished_deploys(
    session: Session, service: str, environment: str, since: datetime, until: datetime
) -> list[tuple[int, datetime]]:
    """(id, finished at) of the service's successful deploys to `environment` in the window."""
    rows = session.execute(
        select(Deploy.id, Deploy.finished_at).where(
            Deploy.service == service,
            Deploy.environment == environment,
            Deploy.status == "succeeded",
            Deploy.finished_at >= since,
            Deploy.finished_at < until,
        )
    )
    return [(deploy_id, finished_at) for deploy_id, finished_at in rows]


def deploy_by_id(session: Session, deploy_id: int) -> Deploy | None:
    return session.get(Deploy, deploy_id)


def replace_page_deploys(
    session: Session, page_id: int, suspect: int | None, candidates: list[int]
) -> None:
    session.execute(delete(PageDeploy).where(PageDeploy.page_id == page_id))
    rows = [{"page_id": page_id, "deploy_id": suspect, "role": "suspect"}] if suspect else []
    rows += [{"page_id": page_id, "deploy_id": d, "role": "candidate"} for d in candidates]
    if rows:
        session.execute(PageDeploy.__table__.insert(), rows)


def suspect_of(session: Session, page_id: int) -> int | None:
    return session.scalar(
        select(PageDeploy.deploy_id).where(
            PageDeploy.page_id == page_id, PageDeploy.role == "suspect"
        )
    )


def page_deploys(session: Session, page_ids: list[int]) -> dict[int, list[tuple[str, Deploy]]]:
    """(role, deploy) of each page, the suspect first."""
    found: dict[int, list[tuple[str, Deploy]]] = {page_id: [] for page_id in page_ids}
    rows = session.execute(
        select(PageDeploy.page_id, PageDeploy.role, Deploy)
        .join(Deploy, Deploy.id == PageDeploy.deploy_id)
        .where(PageDeploy.page_id.in_(page_ids))
        .order_by(PageDeploy.role.desc(), Deploy.finished_at.desc())
    )
    for page_id, role, deploy in rows:
        found[page_id].append((role, deploy))
    return found


def pages_after_deploys(session: Session, deploy_ids: list[int]) -> dict[int, list[Page]]:
    """The pages each deploy is the suspect of."""
    found: dict[int, list[Page]] = {deploy_id: [] for deploy_id in deploy_ids}
    rows = session.execute(
        select(PageDeploy.deploy_id, Page)
        .join(Page, Page.id == PageDeploy.page_id)
        .where(PageDeploy.deploy_id.in_(deploy_ids), PageDeploy.role == "suspect")
        .order_by(Page.triggered_at)
    )
    for deploy_id, found_page in rows:
        found[deploy_id].append(found_page)
    return found


def mapped_service(session: Session, pager_service: str) -> str | None:
    """The deploys' name for a pager's service name: a mapping, else a service that deploys
    under the same name; None when neither."""
    mapped = session.scalar(
        select(ServiceMapping.service).where(ServiceMapping.pager_service == pager_service)
    )
    if mapped:
        return mapped
    same = session.scalar(select(Deploy.service).where(Deploy.service == pager_service).limit(1))
    return same


def repository_id_of_service(session: Session, service: str) -> int | None:
    return session.scalar(
        select(Deploy.repository_id)
        .where(Deploy.service == service, Deploy.repository_id.is_not(None))
        .order_by(Deploy.id.desc())
        .limit(1)
    )


def service_mappings(session: Session) -> list[ServiceMapping]:
    return list(session.scalars(select(ServiceMapping).order_by(ServiceMapping.pager_service)))


def upsert_service_mapping(session: Session, pager_service: str, service: str, source: str) -> None:
    found = session.scalar(
        select(ServiceMapping).where(ServiceMapping.pager_service == pager_service)
    )
    if found is None:
        insert_if_new(
            session,
            ServiceMapping,
            {"pager_service": pager_service, "service": service, "source": source},
            ["pager_service"],
        )
    else:
        found.service, found.source = service, source


def delete_service_mapping(session: Session, pager_service: str) -> None:
    deleted = session.execute(
        delete(ServiceMapping).where(ServiceMapping.pager_service == pager_service)
    )
    if deleted.rowcount == 0:
        raise NotFound(f"no mapping for {pager_service!r}")


def pages_with_service(session: Session, pager_service: str) -> list[Page]:
    return list(session.scalars(select(Page).where(Page.pager_service == pager_service)))


def production_deploys_between(
    session: Session, environment: str, since: datetime, until: datetime, service: str | None
) -> list[tuple[int, str, datetime]]:
    """(id, service, finished at) of successful deploys to `environment` in [since, until)."""
    query = select(Deploy.id, Deploy.service, Deploy.finished_at).where(
        Deploy.environment == environment,
        Deploy.status == "succeeded",
        Deploy.finished_at >= since,
        Deploy.finished_at < until,
    )
    if service:
        query = query.where(Deploy.service == service)
    return [(deploy_id, name, at) for deploy_id, name, at in session.execute(query)]
