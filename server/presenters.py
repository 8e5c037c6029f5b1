"""Presenters: domain results and stored rows as the API's schemas. The JSON API and the
dashboard both use these, so a page and its JSON twin always say the same; nothing here queries
beyond what a presenter needs to show (a page's deploys, an alert's deliveries)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

from sqlalchemy.orm import Session

from leadtime.server import store
from leadtime.server.domain.dora import DoraReport
from leadtime.server.domain.lead_time import BATCHED_ABOVE, MergesetReport, budget_of
from leadtime.server.domain.oncall import ChangeFailure, OncallWeek
from leadtime.server.domain.regression import LEAD_TIME, STEP, Rule, headline
from leadtime.server.models import Alert, Deploy, Mergeset, Page, Repository, Step
from leadtime.server.notify.registry import channels_for
from leadtime.server.schemas import (
    AlertEventOut,
    AlertOut,
    AlertRuleOut,
    BudgetOut,
    ChangeFailureOut,
    DeployOut,
    DoraKeyOut,
    DoraOut,
    MergesetBrief,
    MergesetOut,
    NoisyTitle,
    NotificationOut,
    OncallWeekOut,
    PageBrief,
    PageOut,
    StepOut,
    TargetOut,
)
from leadtime.server.settings import Settings


def seconds(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()


def alert_path(alert: Alert, repository: str) -> str:
    """The dashboard page that shows what the alert is about."""
    repo = quote(repository, safe="")
    if alert.metric == LEAD_TIME:
        return f"/?repo={repo}"
    if alert.metric == STEP:
        return f"/slowest?repo={repo}"
    return f"/mergesets/{alert.subject}?repo={repo}"


def dashboard_link(alert: Alert, repository: str, settings: Settings) -> str:
    return settings.dashboard_url + alert_path(alert, repository)


def mergeset_out(report: MergesetReport) -> MergesetOut:
    return MergesetOut(
        sha=report.sha,
        repository=report.repository,
        merged_at=report.merged_at,
        merged_at_source=report.merged_at_source,
        title=report.title,
        author=report.author,
        deployed_at=report.deployed_at,
        deploy_id=report.deploy_id,
        lead_time_seconds=seconds(report.lead_time),
        waiting_seconds=seconds(report.waiting),
        context=report.context,
        budget_seconds=report.budget.total_seconds(),
        batched=report.batched,
        over_budget=report.over_budget,
        pr_number=report.pr_number,
        pr_title=report.pr_title,
        pr_author=report.pr_author,
        pr_url=report.pr_url,
        reverts=report.reverts,
        first_commit_at=report.first_commit_at,
        change_lead_time_seconds=seconds(report.change_lead_time),
    )


def step_tree(steps: list[Step], run_attributes: dict | None) -> list[StepOut]:
    """Steps nested under their parents, each with its attributes as sent (its run's beneath
    its own: store.step_attributes); a step whose parent never arrived is a top step."""
    nodes = {
        step.span_id: StepOut(
            span_id=step.span_id,
            parent_span_id=step.parent_span_id,
            name=step.name,
            started_at=step.started_at,
            finished_at=step.finished_at,
            duration_seconds=(step.finished_at - step.started_at).total_seconds(),
            result=step.result,
            exit_code=step.exit_code,
            task_type=step.task_type,
            service=step.service,
            role=step.role,
            attributes=store.step_attributes(step, run_attributes),
            children=[],
        )
        for step in steps
    }
    roots: list[StepOut] = []
    for node in nodes.values():
        parent = nodes.get(node.parent_span_id or "")
        (parent.children if parent else roots).append(node)
    return roots


def deploy_out(
    deploy: Deploy,
    repository: Repository | None,
    mergesets: list[Mergeset],
    pages: list[Page] | None = None,
) -> DeployOut:
    return DeployOut(
        id=deploy.id,
        service=deploy.service,
        repository=repository.display_name if repository else None,
        environment=deploy.environment,
        sha=deploy.sha,
        status=deploy.status,
        started_at=deploy.started_at,
        finished_at=deploy.finished_at,
        url=deploy.url,
        source=deploy.source,
        external_id=deploy.external_id,
        batched=len(mergesets) > BATCHED_ABOVE,
        history="incomplete" if deploy.history_complete is False else "complete",
        kind=deploy.kind,
        rolled_back_by=deploy.rolled_back_by_id,
        mergesets=[
            MergesetBrief(sha=m.sha, merged_at=m.merged_at, title=m.title, author=m.author)
            for m in mergesets
        ],
        pages=[
            PageBrief(id=p.id, title=p.title, status=p.status, triggered_at=p.triggered_at)
            for p in pages or []
        ],
    )


def deploys_out(session: Session, deploys: list[Deploy]) -> list[DeployOut]:
    """Deploys, each with the mergesets it shipped to its environment and the pages after it."""
    ids = [d.id for d in deploys]
    contained, pages = (
        store.mergesets_of_deploys(session, ids),
        store.pages_after_deploys(session, ids),
    )
    repositories = {r.id: r for r in store.repositories(session)}
    return [
        deploy_out(d, repositories.get(d.repository_id or 0), contained[d.id], pages[d.id])
        for d in deploys
    ]


def budget_out(repository: Repository, settings: Settings) -> BudgetOut:
    return BudgetOut(
        repository=repository.display_name,
        budget_seconds=budget_of(repository, settings).total_seconds(),
        default=repository.budget_seconds is None,
    )


def pages_out(session: Session, pages: list[Page]) -> list[PageOut]:
    linked = store.page_deploys(session, [p.id for p in pages])
    deploy_ids = list({d.id for rows in linked.values() for _, d in rows})
    contained = store.mergesets_of_deploys(session, deploy_ids)
    repositories = {r.id: r for r in store.repositories(session)}
    out = []
    for page in pages:
        shown = {
            d.id: deploy_out(d, repositories.get(d.repository_id or 0), contained[d.id])
            for _, d in linked[page.id]
        }
        suspect = next((d for role, d in linked[page.id] if role == "suspect"), None)
        repository = repositories.get(page.repository_id or 0)
        out.append(
            PageOut(
                id=page.id,
                source=page.source,
                external_id=page.external_id,
                pager_service=page.pager_service,
                service=page.service,
                repository=repository.display_name if repository else None,
                title=page.title,
                urgency=page.urgency,
                team=page.team,
                status=page.status,
                triggered_at=page.triggered_at,
                acknowledged_at=page.acknowledged_at,
                resolved_at=page.resolved_at,
                url=page.url,
                link=page.link_state,
                suspect=shown[suspect.id] if suspect else None,
                seconds_after_deploy=(
                    (page.triggered_at - suspect.finished_at).total_seconds()
                    if suspect and suspect.finished_at
                    else None
                ),
                candidates=[shown[d.id] for role, d in linked[page.id] if role == "candidate"],
            )
        )
    return out


def alerts_out(
    session: Session, settings: Settings, rows: list[tuple[Alert, Repository]]
) -> list[AlertOut]:
    ids = [alert.id for alert, _ in rows]
    events, notifications = store.events_of(session, ids), store.notifications_of(session, ids)
    out = []
    for alert, repository in rows:
        name = repository.display_name
        out.append(
            AlertOut(
                id=alert.id,
                repository=name,
                metric=alert.metric,
                subject=alert.subject,
                status=alert.status,
                message=headline(alert, name),
                current_seconds=alert.current_seconds,
                baseline_seconds=alert.baseline_seconds,
                ratio=alert.ratio,
                detail=alert.detail or {},
                fired_at=alert.fired_at,
                updated_at=alert.updated_at,
                resolved_at=alert.resolved_at,
                url=dashboard_link(alert, name, settings),
                notifications=[
                    NotificationOut.model_validate(n, from_attributes=True)
                    for n in notifications[alert.id]
                ],
                events=[
                    AlertEventOut.model_validate(e, from_attributes=True) for e in events[alert.id]
                ],
            )
        )
    return out


def target_out(repository: Repository) -> TargetOut:
    return TargetOut(repository=repository.display_name, target_seconds=repository.target_seconds)


def rule_out(repository: Repository, settings: Settings) -> AlertRuleOut:
    rule = Rule.with_overrides(repository.alerting)
    return AlertRuleOut(
        repository=repository.display_name,
        **{name: getattr(rule, name) for name in Rule.names()},
        target_seconds=repository.target_seconds,
        channels=channels_for(repository, settings),
    )


def dora_out(report: DoraReport) -> DoraOut:
    return DoraOut(
        repository=report.repository,
        window_seconds=report.window.total_seconds(),
        deploys=report.deploys,
        keys=[DoraKeyOut(**vars(key)) for key in report.keys],
        source=report.source,
        measured_since=report.measured_since,
    )


def change_failure_out(report: list[ChangeFailure]) -> list[ChangeFailureOut]:
    return [ChangeFailureOut(**vars(row)) for row in report]


def oncall_out(weeks: list[OncallWeek]) -> list[OncallWeekOut]:
    return [
        OncallWeekOut(
            **{k: v for k, v in vars(week).items() if k != "noisiest"},
            noisiest=[NoisyTitle(title=title, pages=count) for title, count in week.noisiest],
        )
        for week in weeks
    ]
