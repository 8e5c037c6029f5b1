"""Regression: when lead time slips, say so once, and say when it has recovered.

DESIGN.md's rule, with every number configurable per repository:
- The rolling median lead time of a repository over the current window (default 7 days, at least
  5 mergesets) against its baseline: the median of the 28 days before the window (at least as many
  mergesets), or a target the team set. It fires when current > 1.25 x baseline **and** the
  increase is at least an absolute floor (default 2 minutes, so 40 s to 50 s pages no one). An open
  alert resolves when the median falls back under 1.10 x baseline (hysteresis, so it does not flap).
- The same rule per step: the p50 duration of a step name in main-branch pipeline runs, so an
  alert can say which step slipped.
- A mergeset that has waited longer than the budget with no production deploy is stuck: one alert
  per mergeset, resolved once it ships. Only once leadtime has known of it for a minute: a merge
  and its deploy reported one after the other (a backfill, a forge's webhook after the span) are
  not a stuck pipeline.

One open alert per (repository, metric, subject). Re-evaluation updates its numbers and never
opens a second one; each fired and resolved alert is queued for the notifiers (a stuck mergeset
only when it fires: that it shipped needs no message).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from leadtime.server import store
from leadtime.server.domain.lead_time import budget_of
from leadtime.server.domain.stats import median
from leadtime.server.domain.step_days import step_totals
from leadtime.server.models import Alert, Repository
from leadtime.server.settings import Settings
from leadtime.server.timeparse import format_duration

LEAD_TIME = "lead_time"
STEP = "step"
STUCK = "stuck_mergeset"

FIRING, OK, UNKNOWN = "firing", "ok", "unknown"
STUCK_GRACE = timedelta(minutes=1)


@dataclass(frozen=True)
class Rule:
    """The regression rule's numbers; a repository may override any of them."""

    window_seconds: float = 7 * 86400
    baseline_seconds: float = 28 * 86400
    min_mergesets: int = 5
    fire_ratio: float = 1.25
    resolve_ratio: float = 1.10
    floor_seconds: float = 120.0

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    @classmethod
    def with_overrides(cls, overrides: Mapping | None) -> Rule:
        chosen = {k: v for k, v in (overrides or {}).items() if k in cls.names() and v is not None}
        return replace(cls(), **chosen)

    @property
    def window(self) -> timedelta:
        return timedelta(seconds=self.window_seconds)

    @property
    def baseline_span(self) -> timedelta:
        return timedelta(seconds=self.baseline_seconds)


@dataclass(frozen=True)
class Verdict:
    state: str  # FIRING, OK or UNKNOWN (too little data: an open alert stays as it is)
    current: float | None = None
    baseline: float | None = None
    samples: int = 0

    @property
    def ratio(self) -> float | None:
        if self.current is None or not self.baseline:
            return None
        return self.current / self.baseline


def judge(
    current: list[float],
    history: list[float],
    rule: Rule,
    is_open: bool,
    target: float | None = None,
) -> Verdict:
    """The rule on plain numbers: `current` and `history` in seconds, `target` replacing the
    history's median when set. An open alert stays firing until the median is under
    resolve_ratio x baseline; a closed one fires above fire_ratio x baseline and the floor."""
    now_median = median(current) if len(current) >= rule.min_mergesets else None
    history_median = median(history) if len(history) >= rule.min_mergesets else None
    baseline = target or history_median
    if now_median is None or not baseline:
        return Verdict(UNKNOWN, now_median, baseline, len(current))
    if is_open:
        firing = now_median >= rule.resolve_ratio * baseline
    else:
        firing = (
            now_median > rule.fire_ratio * baseline and now_median - baseline >= rule.floor_seconds
        )
    return Verdict(FIRING if firing else OK, now_median, baseline, len(current))


def stuck(
    waiting: Mapping[str, tuple[datetime, datetime]], budget: timedelta, now: datetime
) -> set[str]:
    """The mergesets (sha: (merged at, known since)) that have waited longer than the budget
    and been known for longer than STUCK_GRACE."""
    return {
        sha
        for sha, (merged_at, known_since) in waiting.items()
        if now - merged_at > budget and now - known_since > STUCK_GRACE
    }


# What an alert says -----------------------------------------------------------------------------


def _change(current: float | None, baseline: float | None) -> str:
    if current is None or not baseline:
        return ""
    return f" ({current / baseline - 1:+.0%})"


def headline(alert: Alert, repository: str) -> str:
    """One line that says what slipped and by how much, e.g.
    "acme/shop: lead time (merge -> production) p50 12m00s -> 16m00s (+33%); `integration-tests`
    3m00s -> 7m00s"."""
    numbers = (
        f"{format_duration(alert.baseline_seconds)} -> {format_duration(alert.current_seconds)}"
        f"{_change(alert.current_seconds, alert.baseline_seconds)}"
    )
    detail = alert.detail or {}
    if alert.metric == LEAD_TIME:
        target = " (target)" if detail.get("target") else ""
        text = f"{repository}: lead time (merge -> production) p50 {numbers}{target}"
        slipped = [
            f"`{step['name']}` {format_duration(step['baseline'])} -> "
            f"{format_duration(step['current'])}"
            for step in detail.get("slipped_steps", [])
        ]
        return "; ".join([text, *slipped])
    if alert.metric == STEP:
        return f"{repository}: step `{alert.subject}` p50 {numbers}"
    waited = format_duration(alert.current_seconds)
    title = f" ({detail['title']})" if detail.get("title") else ""
    return (
        f"{repository}: mergeset {alert.subject[:10]}{title} has waited {waited} with no deploy "
        f"(budget {format_duration(alert.baseline_seconds)})"
    )


# Evaluation over the stored facts ----------------------------------------------------------------


@dataclass
class Finding:
    metric: str
    subject: str
    verdict: Verdict
    detail: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Change:
    alert_id: int
    event: str  # "fired" or "resolved"


def _step_durations(
    session: Session, repository_id: int, since: datetime, until: datetime, settings: Settings
) -> dict[str, list[float]]:
    """Each step name's durations in seconds, in the main-branch runs started in the window."""
    totals = step_totals(
        session, repository_id, since, until, settings.main_branch_names, durations_only=True
    )
    durations: dict[str, list[float]] = defaultdict(list)  # a step no run had: none
    for name, times in totals.durations.items():
        durations[name] = [ms / 1000 for ms in times]
    return durations


def _lead_times(
    session: Session, repository_id: int, settings: Settings, since: datetime, until: datetime
) -> list[float]:
    pairs = store.lead_time_pairs(
        session, repository_id, settings.production_environment, since, until
    )
    return [(deployed - merged).total_seconds() for merged, deployed in pairs]


def _step_findings(
    session: Session,
    repository: Repository,
    settings: Settings,
    rule: Rule,
    now: datetime,
    open_steps: Iterable[str],
) -> list[Finding]:
    start = now - rule.window
    current = _step_durations(session, repository.id, start, now, settings)
    history = _step_durations(session, repository.id, start - rule.baseline_span, start, settings)
    open_steps = set(open_steps)
    return [
        Finding(STEP, name, judge(current[name], history[name], rule, name in open_steps))
        for name in sorted(set(current) | open_steps)
    ]


def findings_for(
    session: Session,
    repository: Repository,
    settings: Settings,
    now: datetime,
    is_open: set[tuple[str, str]],
) -> list[Finding]:
    """The rule applied to one repository: lead time, each step, each waiting mergeset."""
    rule = Rule.with_overrides(repository.alerting)
    start = now - rule.window
    steps = _step_findings(
        session, repository, settings, rule, now, (s for m, s in is_open if m == STEP)
    )
    lead = judge(
        _lead_times(session, repository.id, settings, start, now),
        _lead_times(session, repository.id, settings, start - rule.baseline_span, start),
        rule,
        (LEAD_TIME, "") in is_open,
        repository.target_seconds,
    )
    slipped = [s for s in steps if s.verdict.state == FIRING]
    measured = [s for s in steps if s.verdict.current is not None]
    # A firing verdict has both numbers, a measured one its current.
    slip = {s.subject: (s.verdict.current or 0.0) - (s.verdict.baseline or 0.0) for s in slipped}
    lead_detail = {
        "mergesets": lead.samples,
        "window_seconds": rule.window_seconds,
        "fire_ratio": rule.fire_ratio,
        "target": bool(repository.target_seconds),
        "slipped_steps": [
            {"name": s.subject, "current": s.verdict.current, "baseline": s.verdict.baseline}
            for s in sorted(slipped, key=lambda s: slip[s.subject])[::-1]
        ][:3],
        "top_steps": [
            {"name": s.subject, "current": s.verdict.current}
            for s in sorted(measured, key=lambda s: s.verdict.current or 0.0, reverse=True)[:3]
        ],
    }
    return [
        Finding(LEAD_TIME, "", lead, lead_detail),
        *steps,
        *_stuck_findings(session, repository, settings, rule, now, is_open),
    ]


def _stuck_findings(
    session: Session,
    repository: Repository,
    settings: Settings,
    rule: Rule,
    now: datetime,
    is_open: set[tuple[str, str]],
) -> list[Finding]:
    environment = settings.production_environment
    # A repository that has never deployed has no pipeline to be stuck: no alert per merge.
    if not store.has_succeeded_deploy(session, repository.id, environment):
        return []
    budget = budget_of(repository, settings)
    waiting = {
        m.sha: m
        for m in store.undeployed_mergesets(session, repository.id, environment, now - rule.window)
    }
    late = stuck({sha: (m.merged_at, m.created_at) for sha, m in waiting.items()}, budget, now)
    findings = [
        Finding(
            STUCK,
            sha,
            Verdict(FIRING, (now - waiting[sha].merged_at).total_seconds(), budget.total_seconds()),
            {"title": waiting[sha].title, "author": waiting[sha].author},
        )
        for sha in sorted(late)
    ]
    shipped = {subject for metric, subject in is_open if metric == STUCK} - late
    return findings + [Finding(STUCK, sha, Verdict(OK)) for sha in sorted(shipped)]


def _apply(
    session: Session,
    repository: Repository,
    finding: Finding,
    existing: Alert | None,
    now: datetime,
) -> Change | None:
    verdict = finding.verdict
    numbers = {
        "current_seconds": verdict.current,
        "baseline_seconds": verdict.baseline,
        "ratio": verdict.ratio,
        "detail": finding.detail,
    }
    if verdict.state == FIRING and existing is None:
        alert = store.open_alert(
            session,
            {
                "repository_id": repository.id,
                "metric": finding.metric,
                "subject": finding.subject,
                "fired_at": now,
                **numbers,
            },
        )
        return Change(alert.id, "fired") if alert else None
    if existing is None:
        return None
    if verdict.state == FIRING:
        # A stuck mergeset's only number is how long it has waited: no news worth an event.
        if finding.metric != STUCK:
            store.update_alert(session, existing, numbers, now)
    elif verdict.state == OK and store.resolve_alert(session, existing, now):
        return Change(existing.id, "resolved")
    return None


def evaluate_repository(
    session: Session,
    repository: Repository,
    settings: Settings,
    now: datetime,
    channels: Sequence[str],
) -> list[Change]:
    """Apply the rule to one repository: open, update and resolve its alerts, and queue a
    notification on each of `channels` for each alert fired or resolved. Evaluations of one
    repository take turns (across servers), each reading what the last stored; merges and
    deploys of the repository go on meanwhile (store.lock_evaluation)."""
    store.lock_evaluation(session, repository.id)
    existing = store.open_alerts(session, repository.id)
    changes = []
    for finding in findings_for(session, repository, settings, now, set(existing)):
        change = _apply(
            session, repository, finding, existing.get((finding.metric, finding.subject)), now
        )
        if change is None or (finding.metric == STUCK and change.event == "resolved"):
            continue
        changes.append(change)
        store.queue_notifications(session, change.alert_id, change.event, channels, now)
    return changes
