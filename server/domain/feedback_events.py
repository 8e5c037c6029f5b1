"""The news feedback tells (domain/feedback.py has the rules): pages with a suspect deploy and
the follow-ups when a person changes it, failed production deploys and main-branch runs, stuck
mergesets and step regressions, each as an Event naming the mergesets whose authors hear of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import quote

from sqlalchemy.orm import Session

from leadtime.server import store
from leadtime.server.domain import people
from leadtime.server.domain.regression import STEP, STUCK, headline
from leadtime.server.models import Alert, Deploy, Mergeset, Page, Person, PipelineRun
from leadtime.server.settings import Settings
from leadtime.server.store import feedback as stored
from leadtime.server.timeparse import format_duration

PAGE, FAILURE, WAITING, REGRESSION, DIGEST = "page", "failure", "waiting", "regression", "digest"


@dataclass(frozen=True)
class Event:
    """Something worth telling: who made it (the mergesets' authors) and who owns it."""

    key: str
    kind: str
    subject: str
    lines: tuple[str, ...]
    link: str
    repository_id: int
    service: str | None
    mergesets: tuple[Mergeset, ...] = ()
    why_author: str = "you merged {mergeset}"  # {mergeset} is each author's own
    team_only: bool = False
    extra: dict = field(default_factory=dict)


def mergeset_ref(mergeset: Mergeset) -> str:
    title = mergeset.pr_title or mergeset.title
    number = f"#{mergeset.pr_number}" if mergeset.pr_number else mergeset.sha[:10]
    return f"{number} ({title})" if title else number


def _deploy_ref(deploy: Deploy) -> str:
    return f"deploy {deploy.id} of {deploy.service} ({deploy.sha[:10]})"


def _page_event(session: Session, settings: Settings, page: Page, deploy: Deploy, others) -> Event:
    shipped = store.mergesets_of_deploys(session, [deploy.id])[deploy.id]
    candidates = ", ".join(_deploy_ref(other) for other in others) or "none"
    finished = deploy.finished_at or page.triggered_at
    before = format_duration((page.triggered_at - finished).total_seconds())
    return Event(
        key=f"page:{page.id}:suspect:{deploy.id}",
        kind=PAGE,
        subject=f"Page #{page.id} {page.title}: {_deploy_ref(deploy)} is the suspect",
        lines=(
            f"Page: {page.title} ({page.service}, "
            f"triggered {page.triggered_at:%Y-%m-%d %H:%M} UTC)",
            f"Suspect: {_deploy_ref(deploy)}, finished {before} before",
            "Shipped: " + ", ".join(mergeset_ref(m) for m in shipped),
            f"Other candidates: {candidates}",
        ),
        link=f"{settings.dashboard_url}/pages/{page.id}",
        repository_id=deploy.repository_id or 0,
        service=deploy.service,
        mergesets=tuple(shipped),
        why_author=(
            "you merged {mergeset}, shipped in "
            f"{_deploy_ref(deploy)}, the last deploy of {deploy.service} before this page"
        ),
        extra={"action": "Confirm or clear the suspect"},
    )


def _follow_up(session: Session, settings: Settings, page: Page, was: Deploy, now_id) -> Event:
    shipped = store.mergesets_of_deploys(session, [was.id])[was.id]
    said = (
        f"a person named deploy {now_id} instead"
        if now_id is not None
        else "a person said no deploy caused it"
    )
    return Event(
        key=f"page:{page.id}:was:{was.id}:now:{now_id if now_id is not None else 'none'}",
        kind=PAGE,
        subject=f"Page #{page.id} {page.title}: {_deploy_ref(was)} is no longer the suspect",
        lines=(f"Page: {page.title}", f"{_deploy_ref(was)} is cleared: {said}."),
        link=f"{settings.dashboard_url}/pages/{page.id}",
        repository_id=was.repository_id or 0,
        service=was.service,
        mergesets=tuple(shipped),
        why_author=f"you were told {_deploy_ref(was)}, which shipped {{mergeset}}, was the suspect",
    )


def page_events(session: Session, settings: Settings, since: datetime) -> list[Event]:
    pages = stored.pages_since(session, since)
    linked = store.page_deploys(session, [page.id for page in pages])
    events = []
    for page in pages:
        roles = linked.get(page.id, [])
        suspect = next((deploy for role, deploy in roles if role == "suspect"), None)
        others = [deploy for role, deploy in roles if role == "candidate"]
        if suspect is not None and suspect.repository_id is not None:
            events.append(_page_event(session, settings, page, suspect, others))
        for was_id in _suspects_told(session, page.id):
            if suspect is None or suspect.id != was_id:
                was = session.get(Deploy, was_id)
                if was is not None:
                    now_id = suspect.id if suspect else None
                    events.append(_follow_up(session, settings, page, was, now_id))
    return events


def _suspects_told(session: Session, page_id: int) -> set[int]:
    prefix = f"page:{page_id}:suspect:"
    return {int(key[len(prefix) :].split(":")[0]) for key in stored.keys_starting(session, prefix)}


def failure_events(session: Session, settings: Settings, since: datetime) -> list[Event]:
    environment = settings.production_environment
    events = []
    for deploy in stored.failed_deploys_since(session, environment, since):
        assert deploy.repository_id is not None
        shipping = stored.unshipped_up_to(session, deploy.repository_id, environment, deploy.sha)
        events.append(
            Event(
                key=f"deploy-failed:{deploy.id}",
                kind=FAILURE,
                subject=f"Deploy failed: {_deploy_ref(deploy)} to {environment}",
                lines=("It was to ship: " + (", ".join(map(mergeset_ref, shipping)) or "-"),),
                link=f"{settings.dashboard_url}/deploys?service={quote(deploy.service)}",
                repository_id=deploy.repository_id,
                service=deploy.service,
                mergesets=tuple(shipping),
                why_author=f"you merged {{mergeset}}, which {_deploy_ref(deploy)} was to ship",
            )
        )
    for run in stored.failed_main_runs_since(session, settings.main_branch_names, since):
        events.append(_run_event(session, settings, run))
    return [event for event in events if event.mergesets]


def _run_event(session: Session, settings: Settings, run: PipelineRun) -> Event:
    assert run.repository_id is not None and run.sha is not None
    mergeset = stored.mergeset_at(session, run.repository_id, run.sha)
    name = run.name or run.trace_id[:8]
    return Event(
        key=f"run-failed:{run.trace_id}",
        kind=FAILURE,
        subject=f"Main-branch pipeline {name} failed on {run.sha[:10]}",
        lines=(f"Pipeline {name} on {run.branch} finished {run.result}",),
        link=f"{settings.dashboard_url}/pipelines/{run.trace_id}",
        repository_id=run.repository_id,
        service=None,
        mergesets=(mergeset,) if mergeset else (),
        why_author=f"you merged {{mergeset}}; its main-branch pipeline {name} failed",
    )


def alert_events(session: Session, settings: Settings, since: datetime) -> list[Event]:
    events = []
    for alert in stored.open_alerts_of(session, STUCK):
        mergeset = stored.mergeset_at(session, alert.repository_id, alert.subject)
        if mergeset is not None:
            events.append(_waiting_event(session, settings, alert, mergeset))
    for alert in stored.alerts_fired_since(session, STEP, since):
        events.append(_regression_event(session, settings, alert))
    return events


def _waiting_event(session: Session, settings: Settings, alert: Alert, mergeset: Mergeset) -> Event:
    name = people.short_name(session, alert.repository_id)
    waited = format_duration(alert.current_seconds)
    return Event(
        key=f"waiting:{alert.id}",
        kind=WAITING,
        subject=f"{name}: {mergeset_ref(mergeset)} has waited {waited} for a production deploy",
        lines=(headline(alert, name),),
        link=f"{settings.dashboard_url}/mergesets/{mergeset.sha}",
        repository_id=alert.repository_id,
        service=None,
        mergesets=(mergeset,),
        why_author=f"you merged {{mergeset}} {waited} ago and no production deploy has shipped it",
    )


def _regression_event(session: Session, settings: Settings, alert: Alert) -> Event:
    name = people.short_name(session, alert.repository_id)
    return Event(
        key=f"regression:{alert.id}",
        kind=REGRESSION,
        subject=f"{name}: step {alert.subject} slowed down",
        lines=(headline(alert, name),),
        link=f"{settings.dashboard_url}/slowest?repo={quote(name, safe='/')}",
        repository_id=alert.repository_id,
        service=None,
        team_only=True,
    )


def news(session: Session, settings: Settings, now: datetime) -> list[Event]:
    since = now - timedelta(hours=settings.feedback_lookback_hours)
    return [
        *page_events(session, settings, since),
        *failure_events(session, settings, since),
        *alert_events(session, settings, since),
    ]


@dataclass(frozen=True)
class Told:
    """A person among an event's authors, and why they are told."""

    person: Person
    why: str
