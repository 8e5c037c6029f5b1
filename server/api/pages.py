"""Pages: `POST /api/pages` (from anything that is not a known pager), `GET /api/pages` with
each page's suspect deploy and candidates, a person's word on the link, and the service mapping
from the names pagers use to the names deploys use."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse

from leadtime.server import recording, store
from leadtime.server.api.deps import (
    Admin,
    Reader,
    RowId,
    SessionDep,
    SettingsDep,
    Writer,
    time_param,
)
from leadtime.server.domain import suspects
from leadtime.server.domain.postmortem import postmortem
from leadtime.server.domain.service_map import map_service
from leadtime.server.ingest.facts import ACKNOWLEDGE, RESOLVE, TRIGGER, Facts, PageFact
from leadtime.server.presenters import pages_out
from leadtime.server.schemas import (
    LinkIn,
    PageIn,
    PageOut,
    ResolveIn,
    ServiceMappingIn,
    ServiceMappingOut,
)

router = APIRouter(prefix="/api", tags=["pages"])


def _facts_from(page: PageIn) -> list[PageFact]:
    """The API's page as the same events a pager would send."""
    triggered = page.triggered_at or datetime.now(UTC)
    trigger = PageFact(
        source="api",
        external_id=page.id or str(uuid.uuid4()),
        action=TRIGGER,
        at=triggered,
        triggered_at=triggered,
        pager_service=page.service,
        title=page.title,
        urgency=page.urgency,
        team=page.team,
        url=page.url,
    )
    facts = [trigger]
    if page.acknowledged_at:
        facts.append(replace(trigger, action=ACKNOWLEDGE, at=page.acknowledged_at))
    if page.resolved_at:
        facts.append(replace(trigger, action=RESOLVE, at=page.resolved_at))
    return facts


@router.post("/pages", dependencies=[Writer], response_model=PageOut)
def post_page(page: PageIn, session: SessionDep, settings: SettingsDep) -> PageOut:
    """Record a page (send it again with the same `id` to update it); the answer names its
    suspect deploy."""
    stored = recording.record_facts(session, Facts(pages=_facts_from(page)), settings)
    return pages_out(session, stored[-1:])[0]


@router.post("/pages/{page_id}/resolve", dependencies=[Writer], response_model=PageOut)
def resolve_page(
    page_id: RowId, body: ResolveIn, session: SessionDep, settings: SettingsDep
) -> PageOut:
    page = store.page(session, page_id)
    fact = PageFact(
        source=page.source,
        external_id=page.external_id,
        action=RESOLVE,
        at=body.resolved_at or datetime.now(UTC),
    )
    recording.record_facts(session, Facts(pages=[fact]), settings)
    return pages_out(session, [page])[0]


@router.post("/pages/{page_id}/link", dependencies=[Writer], response_model=PageOut)
def link_page(page_id: RowId, body: LinkIn, session: SessionDep, settings: SettingsDep) -> PageOut:
    """Confirm, reassign or clear the page's suspect deploy; a person's word wins over the rule."""
    page = store.page(session, page_id)
    suspects.decide(session, page, body.action, body.deploy_id, settings)
    return pages_out(session, [page])[0]


@router.get("/pages", dependencies=[Reader], response_model=list[PageOut])
def get_pages(
    session: SessionDep,
    service: str | None = Query(None, description="The pager's or the deploys' service name."),
    status: str | None = Query(None, pattern="^(triggered|acknowledged|resolved)$"),
    unmatched: bool | None = Query(None, description="true: only pages no service matched."),
    since: str | None = Query(None, description="ISO 8601: triggered at or after."),
    limit: int = Query(100, ge=1, le=1000),
) -> list[PageOut]:
    """Pages, newest first, each with its suspect deploy (its mergesets and their authors) and
    the other candidate deploys."""
    query = store.pages_query(service, status, unmatched, time_param(since, "since"), limit)
    return pages_out(session, list(session.scalars(query)))


@router.get("/pages/{page_id}", dependencies=[Reader], response_model=PageOut)
def get_page(page_id: RowId, session: SessionDep) -> PageOut:
    return pages_out(session, [store.page(session, page_id)])[0]


@router.get(
    "/pages/{page_id}/postmortem",
    dependencies=[Reader],
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/markdown": {}}}},
)
def get_postmortem(page_id: RowId, session: SessionDep, settings: SettingsDep) -> PlainTextResponse:
    """A Markdown postmortem starter: the usual sections, with the trigger and a timeline of
    merges, pipeline runs, the deploy and the pages filled in."""
    text = postmortem(session, page_id, settings)
    return PlainTextResponse(text, media_type="text/markdown; charset=utf-8")


@router.get("/service-mappings", dependencies=[Reader], response_model=list[ServiceMappingOut])
def get_service_mappings(session: SessionDep) -> list[ServiceMappingOut]:
    """Pager service names and the deploy service names they stand for."""
    return [
        ServiceMappingOut.model_validate(m, from_attributes=True)
        for m in store.service_mappings(session)
    ]


@router.post("/service-mappings", dependencies=[Admin], response_model=ServiceMappingOut)
def post_service_mapping(
    mapping: ServiceMappingIn, session: SessionDep, settings: SettingsDep
) -> ServiceMappingOut:
    """Map a pager's service name to a deploy service; its pages (unmatched ones too) are
    matched and linked again."""
    map_service(session, mapping.pager_service, mapping.service, "api", settings)
    return ServiceMappingOut(
        pager_service=mapping.pager_service, service=mapping.service, source="api"
    )


@router.delete("/service-mappings/{pager_service}", dependencies=[Admin], status_code=204)
def delete_service_mapping(pager_service: str, session: SessionDep, settings: SettingsDep) -> None:
    map_service(session, pager_service, None, "api", settings)
