"""Pages, webhook deliveries seen, the suspect and candidate deploys of each page, and the mapping
of pagers' service names to the deploys' ones."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from leadtime.server.errors import NotFound
from leadtime.server.models import (
    Deploy,
    Page,
    PageDeploy,
    ServiceMapping,
    WebhookDelivery,
    utcnow,
)
from leadtime.server.store.deploys import DeployIds, no_deploys
from leadtime.server.store.rows import insert_if_new, rows_changed, table_of


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
    found = page_by_source_id(session, values["source"], values["external_id"])
    assert found is not None  # inserted just now, or there already
    return found


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


def replace_page_deploys(
    session: Session, page_id: int, suspect: int | None, candidates: list[int]
) -> None:
    session.execute(delete(PageDeploy).where(PageDeploy.page_id == page_id))
    rows = [{"page_id": page_id, "deploy_id": suspect, "role": "suspect"}] if suspect else []
    rows += [{"page_id": page_id, "deploy_id": d, "role": "candidate"} for d in candidates]
    if rows:
        session.execute(table_of(PageDeploy).insert(), rows)


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


def pages_after_deploys(session: Session, deploy_ids: DeployIds) -> dict[int, list[Page]]:
    """The pages each deploy is the suspect of (none: an empty list)."""
    found: dict[int, list[Page]] = defaultdict(list)
    if no_deploys(deploy_ids):
        return found
    rows = session.execute(
        select(PageDeploy.deploy_id, Page)
        .join(Page, Page.id == PageDeploy.page_id)
        .where(PageDeploy.deploy_id.in_(deploy_ids), PageDeploy.role == "suspect")
        .order_by(Page.triggered_at)
    )
    for deploy_id, found_page in rows:
        found[deploy_id].append(found_page)
    return found


def pages_of_services(
    session: Session, services: Iterable[str], since: datetime, until: datetime
) -> list[tuple[str, datetime, datetime | None]]:
    """(service, triggered, resolved) of the pages on these services (as deploys name them)
    triggered before `until` and not resolved before `since`."""
    query = select(Page.service, Page.triggered_at, Page.resolved_at).where(
        Page.service.in_(sorted(set(services))),
        Page.triggered_at < until,
        or_(Page.resolved_at.is_(None), Page.resolved_at >= since),
    )
    return [(service, at, resolved) for service, at, resolved in session.execute(query) if service]


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
    if rows_changed(deleted) == 0:
        raise NotFound(f"no mapping for {pager_service!r}")


def pages_with_service(session: Session, pager_service: str) -> list[Page]:
    return list(session.scalars(select(Page).where(Page.pager_service == pager_service)))
