"""Dashboard pages. Each has a stable URL with its filters in the query string, and a JSON twin:
`/` (every repository when there are several: /api/dora and /api/summary per repository; one
repository: /api/summary, /api/dora, /api/mergesets), `/slowest` (/api/reports/slowest-steps,
with caches; and, at #flaky-steps, #slowest-tests and #flaky-tests, /api/reports/flaky-steps,
slowest-tests and flaky-tests), `/mergesets/{sha}` (/api/mergesets/{sha}/breakdown),
`/pipelines/{trace_id}` (/api/pipelines/{trace_id}). Charts are inline SVG worked out in
charts.py: nothing is loaded from anywhere else, and Jinja2 escapes every value shown."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from leadtime.server import store
from leadtime.server.api.deps import Reader, SessionDep, SettingsDep, duration_param, now
from leadtime.server.dashboard import csrf
from leadtime.server.dashboard.charts import (
    CHART_HEIGHT,
    CHART_WIDTH,
    QUEUE_CHART,
    SPARKLINE,
    lead_time_chart,
    queue_bars,
    sparkline,
    weekly_charts,
)
from leadtime.server.domain import people
from leadtime.server.domain.budget import mergeset_breakdown, slowest_steps
from leadtime.server.domain.dora import dora_report
from leadtime.server.domain.dora_tiers import DEFAULT_WINDOW, as_read
from leadtime.server.domain.dora_tiers import NAMES as DORA_NAMES
from leadtime.server.domain.flaky import flaky_steps
from leadtime.server.domain.lead_time import budget_of, list_mergesets, repository_summary
from leadtime.server.domain.portfolio import repository_rows, short_names
from leadtime.server.domain.queue_trend import bucket_size
from leadtime.server.domain.team_rows import team_rows
from leadtime.server.domain.tests import flaky_tests, test_report
from leadtime.server.domain.trends import weekly_trend
from leadtime.server.errors import NotFound
from leadtime.server.headers import http_link
from leadtime.server.notify import dispatch
from leadtime.server.presenters import alert_path, alerts_out, deploys_out, step_tree
from leadtime.server.schemas import StepOut
from leadtime.server.timeparse import format_duration

STATIC = Path(__file__).parent / "static"
templates = Jinja2Templates(
    directory=Path(__file__).parent / "templates", context_processors=[csrf.context]
)
router = APIRouter(include_in_schema=False, dependencies=[Reader])
RESOLVED_SHOWN = timedelta(days=7)
RECENT_DEPLOYS = 15
SLOWEST_TESTS_SHOWN = 20
WINDOWS = ("7d", "30d", "90d", "365d", "all")  # the window picker; all: since adoption
ALL = "all"


templates.env.filters["duration"] = format_duration
templates.env.filters["http_link"] = http_link
templates.env.filters["window_words"] = lambda w: "Since adoption" if w == ALL else f"Last {w}"
templates.env.filters["dora_value"] = lambda key: as_read(key.value, key.unit)
templates.env.globals["dora_names"] = DORA_NAMES
templates.env.filters["percent"] = lambda share: "-" if share is None else f"{share:.0%}"
templates.env.filters["when"] = lambda moment: moment.strftime("%Y-%m-%d %H:%M") if moment else "-"


def waterfall(items: list[dict], start: datetime, end: datetime) -> list[dict]:
    """Left offset and width in percent of [start, end] for each item's started/finished_at."""
    total = max((end - start).total_seconds(), 1e-9)
    for item in items:
        item["left"] = round((item["started_at"] - start).total_seconds() / total * 100, 3)
        item["width"] = max(
            round((item["finished_at"] - item["started_at"]).total_seconds() / total * 100, 3), 0.3
        )
    return items


def recent_alerts(session, settings, repository, moment: datetime) -> list[dict]:
    """The repository's open alerts and those resolved in the last week, with their pages."""
    rows = store.alerts(session, repository.id, limit=20)
    shown = [
        (alert, repo)
        for alert, repo in rows
        if alert.resolved_at is None or alert.resolved_at > moment - RESOLVED_SHOWN
    ]
    return [
        {"alert": out, "path": alert_path(alert, out.repository)}
        for (alert, _), out in zip(shown, alerts_out(session, settings, shown), strict=True)
    ]


def window_span(session, window: str, repository_id: int | None, moment: datetime) -> timedelta:
    """A window as the picker names it: a duration, or `all`, since the repository's adoption
    point (the earliest of all repositories' where none is named)."""
    if window != ALL:
        return duration_param(window, "window")
    adopted = store.adopted_at(session, repository_id)
    return max(moment - adopted, timedelta(days=1)) if adopted else timedelta(days=1)


def window_href(path: str, **params: str | None) -> str:
    """A page's URL with its filters, up to where the window picker puts a window's value."""
    given = urlencode({name: value for name, value in params.items() if value is not None})
    return f"{path}?{given}&window=" if given else f"{path}?window="


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    return templates.TemplateResponse(
        request, "error.html", {"status": status, "message": message}, status_code=status
    )


@router.get("/", response_class=HTMLResponse)
def overview(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    repo: str | None = None,
    window: str = Query(DEFAULT_WINDOW),
) -> HTMLResponse:
    repositories = store.repositories(session)
    if not repositories:
        return templates.TemplateResponse(request, "empty.html", {"url": str(request.base_url)})
    if repo is None and len(repositories) > 1:
        return _every_repository(request, session, settings, window)
    chosen = store.find_repository(session, repo) if repo else repositories[0]
    name = chosen.display_name
    moment = now()
    span = window_span(session, window, chosen.id, moment)
    summary = repository_summary(session, settings, moment, span, repository=name)
    reports = list_mergesets(
        session, settings, moment, repository=name, since=moment - span, limit=500
    )
    budget = budget_of(chosen, settings)
    trend = weekly_trend(session, settings, moment, name)
    return templates.TemplateResponse(
        request,
        "overview.html",
        {
            "repo": name,
            "title": short_names(repositories)[chosen.id],
            "window": window,
            "windows": WINDOWS,
            "window_href": window_href("/", repo=name),
            "summary": summary,
            "dora": dora_report(session, settings, moment, span, repository=name),
            "mergesets": reports[:50],
            "budget": budget,
            "chart": lead_time_chart(reports, budget),
            "trend": trend,
            "trend_chart": weekly_charts(trend, budget),
            "alerts": recent_alerts(session, settings, chosen, moment),
            "deploys": deploys_out(
                session, store.recent_deploys(session, chosen.id, RECENT_DEPLOYS)
            ),
            "failing": {
                channel: state
                for channel, state in dispatch.health(session).items()
                if state["state"] == "failing"
            },
            "width": CHART_WIDTH,
            "height": CHART_HEIGHT,
        },
    )


def _every_repository(request: Request, session, settings, window: str) -> HTMLResponse:
    moment = now()
    rows = repository_rows(session, settings, moment, window_span(session, window, None, moment))
    teams = people.teams_of(session, [row.repository for row in rows])
    default = settings.default_budget.total_seconds()
    by_team = [
        {
            "row": row,
            "trend": sparkline(row.weekly_p50, default),
            "by_key": {key.key: key for key in row.dora.keys},
        }
        for row in team_rows(session, settings, moment, window_span(session, window, None, moment))
    ]
    shown = [
        {
            "row": row,
            "trend": sparkline(row.weekly_p50, budget_of(row.repository, settings).total_seconds()),
            "by_key": {key.key: key for key in row.dora.keys},
            "teams": teams.get(row.repository.id, []),
        }
        for row in rows
    ]
    return templates.TemplateResponse(
        request,
        "repositories.html",
        {
            "rows": shown,
            "any_team": people.any_team(session),
            "team_rows": by_team,
            "window": window,
            "windows": WINDOWS,
            "window_href": window_href("/"),
            "sparkline": SPARKLINE,
        },
    )


def _pick_repository(request: Request, repositories, path: str, window: str) -> HTMLResponse:
    """A page that needs a repository, asked for without one: a list to pick from."""
    names = short_names(repositories)
    choices = sorted(
        ({"name": names[r.id], "reference": r.display_name} for r in repositories),
        key=lambda choice: choice["name"].lower(),
    )
    return templates.TemplateResponse(
        request, "pick.html", {"choices": choices, "path": path, "window": window}
    )


@router.get("/slowest", response_class=HTMLResponse)
def slowest(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    repo: str | None = None,
    window: str = Query("7d"),
) -> HTMLResponse:
    if repo is None:
        repositories = store.repositories(session)
        if len(repositories) != 1:
            return _pick_repository(request, repositories, "/slowest", window)
        repo = repositories[0].display_name
    moment = now()
    repository = store.find_repository(session, repo)
    span = window_span(session, window, repository.id, moment)
    report = slowest_steps(session, settings, moment, repo, span)
    tests = test_report(session, settings, moment, repo, span)
    shown = {
        "report": report,
        "repo": repo,
        "title": short_names(store.repositories(session))[repository.id],
        "window": window,
        "windows": WINDOWS,
        "window_href": window_href("/slowest", repo=repo),
        "trends": {step.name: sparkline(step.weekly_p50) for step in report.steps},
        "sparkline": SPARKLINE,
        "flaky": flaky_steps(session, settings, moment, repo, span),
        "slowest_tests": tests.tests[:SLOWEST_TESTS_SHOWN],
        "flaky_tests": flaky_tests(tests),
        "queue_bars": queue_bars(report.queued_trend),
        "queue_chart": QUEUE_CHART,
        "bucket": "day" if bucket_size(span) == timedelta(days=1) else "week",
    }
    return templates.TemplateResponse(request, "slowest.html", shown)


@router.get("/mergesets/{sha}", response_class=HTMLResponse)
def mergeset(
    request: Request, sha: str, session: SessionDep, settings: SettingsDep, repo: str | None = None
) -> HTMLResponse:
    breakdown = mergeset_breakdown(session, settings, now(), sha, repo)
    segments = [
        {
            "name": s.name,
            "started_at": s.started_at,
            "finished_at": s.finished_at,
            "seconds": s.seconds,
            "waiting": s.waiting,
            "trace_id": s.trace_id,
            "failed": s.span_id in breakdown.failed,
        }
        for s in breakdown.segments
    ]
    if segments:
        first, last = breakdown.segments[0], breakdown.segments[-1]
        waterfall(segments, first.started_at, last.finished_at)
    deploy_id = breakdown.mergeset.deploy_id
    pages = store.pages_after_deploys(session, [deploy_id])[deploy_id] if deploy_id else []
    return templates.TemplateResponse(
        request,
        "mergeset.html",
        {
            "breakdown": breakdown,
            "report": breakdown.mergeset,
            "segments": segments,
            "repo": repo,
            "pages": pages,
        },
    )


def _flatten(nodes: list[StepOut], depth: int = 0) -> list[dict]:
    rows = []
    for node in nodes:
        rows.append({**node.model_dump(exclude={"children"}), "depth": depth})
        rows.extend(_flatten(node.children, depth + 1))
    return rows


@router.get("/pipelines/{trace_id}", response_class=HTMLResponse)
def pipeline(request: Request, trace_id: str, session: SessionDep) -> HTMLResponse:
    run = store.pipeline_run(session, trace_id.lower())
    if run is None:
        raise NotFound(f"no pipeline run with trace id {trace_id!r}")
    steps = step_tree(store.steps_of(session, run.trace_id), run.attributes)
    rows = waterfall(_flatten(steps), run.started_at, run.finished_at)
    return templates.TemplateResponse(request, "pipeline.html", {"run": run, "rows": rows})
