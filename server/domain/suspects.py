"""Suspect deploys: when the pager goes off, what just shipped?

DESIGN.md's rule: a page's **suspect deploy** is the latest successful deploy of the same service
(through the service mapping: the name the pager uses, mapped to the name deploys use, or the same
name) to the production environment that finished before the page triggered, within a lookback
window (default 24 hours, LEADTIME_PAGE_LOOKBACK_HOURS). The other deploys within the window are
its **candidates**. A person can confirm the suspect, name another deploy (reassign) or say no
deploy caused the page (clear); their word wins over the rule until they hand it back (auto).
A page whose service matches nothing is kept and listed as unmatched.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from leadtime.server import store
from leadtime.server.errors import BadPayload, NotFound
from leadtime.server.models import Deploy, Page
from leadtime.server.settings import Settings

AUTO, CONFIRMED, CLEARED = "auto", "confirmed", "cleared"


def suspect_and_candidates(
    triggered_at: datetime, finished: Sequence[tuple[int, datetime]], lookback: timedelta
) -> tuple[int | None, list[int]]:
    """The rule on plain values: `finished` holds (deploy id, finished at) of the service's
    successful deploys; the suspect's id (or None) and the candidates' ids, newest first."""
    within = sorted(
        (at, deploy_id)
        for deploy_id, at in finished
        if triggered_at - lookback <= at < triggered_at
    )
    if not within:
        return None, []
    newest_first = [deploy_id for _, deploy_id in reversed(within)]
    return newest_first[0], newest_first[1:]


def match_service(session: Session, page: Page) -> None:
    """The deploys' service (and its repository) for the name the pager used, if any."""
    page.service = store.mapped_service(session, page.pager_service)
    page.repository_id = (
        store.repository_id_of_service(session, page.service) if page.service else None
    )


def lookback(settings: Settings) -> timedelta:
    return timedelta(hours=settings.page_lookback_hours)


def link_page(session: Session, page: Page, settings: Settings) -> None:
    """Work out the page's suspect and candidates again, honouring a person's decision."""
    window = lookback(settings)
    finished = (
        store.finished_deploys(
            session,
            page.service,
            settings.production_environment,
            page.triggered_at - window,
            page.triggered_at,
        )
        if page.service
        else []
    )
    suspect, candidates = suspect_and_candidates(page.triggered_at, finished, window)
    if page.link_state == CONFIRMED:
        candidates = [d for d in [suspect, *candidates] if d and d != page.linked_deploy_id]
        suspect = page.linked_deploy_id
    elif page.link_state == CLEARED:
        candidates = [d for d in [suspect, *candidates] if d]
        suspect = None
    store.replace_page_deploys(session, page.id, suspect, candidates)


def relink_after_deploy(session: Session, deploy: Deploy, settings: Settings) -> None:
    """A deploy that arrives late can become the suspect of pages that came after it."""
    if deploy.finished_at is None or deploy.status != "succeeded":
        return
    if deploy.environment != settings.production_environment:
        return
    for page in store.pages_with_service(session, deploy.service):
        if page.service is None:  # unmatched until a service of that name deployed
            match_service(session, page)
    session.flush()
    for page in store.pages_of_service(
        session, deploy.service, deploy.finished_at, deploy.finished_at + lookback(settings)
    ):
        link_page(session, page, settings)


def decide(
    session: Session, page: Page, action: str, deploy_id: int | None, settings: Settings
) -> None:
    """A person's word on the link: confirm (the suspect, or `deploy_id`), reassign to
    `deploy_id`, clear (not caused by a deploy), or auto (back to the rule)."""
    if action == "reassign" and deploy_id is None:
        raise BadPayload("reassign needs deploy_id: the deploy that caused the page")
    if action in ("confirm", "reassign"):
        chosen = deploy_id if deploy_id is not None else store.suspect_of(session, page.id)
        if chosen is None:
            raise BadPayload(f"page {page.id} has no suspect deploy: name one with deploy_id")
        if store.deploy_by_id(session, chosen) is None:
            raise NotFound(f"no deploy {chosen}")
        page.link_state, page.linked_deploy_id = CONFIRMED, chosen
    elif action == "clear":
        page.link_state, page.linked_deploy_id = CLEARED, None
    else:
        page.link_state, page.linked_deploy_id = AUTO, None
    link_page(session, page, settings)
