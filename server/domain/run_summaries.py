"""Each run's step summary: per step name its durations, failures and time on the critical path,
and per job its time queued for a runner, worked out once from the run's stored steps as they
arrive (recording.py) and read by the slowest-steps report (through domain/step_days.py) and the
regression rule.

Queued for a runner: the time of a run's queue spans (role queue, or inferred for its jobs from
the run's start where no source reports queues: domain/job_queues.py), per job: the step the
queue span hangs under, else its name without `queue-` (`queue-build` is build's).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy.orm import Session

from leadtime.server import store
from leadtime.server.domain.critical_path import (
    QUEUE_ROLE,
    SpanTiming,
    counts_own_time,
    critical_path,
    seconds_by_step,
)
from leadtime.server.domain.int_lists import pack, pack_lists
from leadtime.server.domain.job_queues import with_job_queues

STARTED_AT = "run_started_at"  # added to a summary as it is read: the run's start


def _queued_job(span: SpanTiming, by_id: dict[str, SpanTiming]) -> str:
    parent = by_id.get(span.parent_span_id or "")
    if parent is not None and counts_own_time(parent):
        return parent.name
    return span.name.removeprefix("queue-")


def _queued(spans: list[SpanTiming]) -> dict[str, int]:
    """Milliseconds queued per job in one run (see the module)."""
    by_id = {span.span_id: span for span in spans}
    queued: dict[str, int] = defaultdict(int)
    for span in spans:
        if span.role == QUEUE_ROLE:
            seconds = (span.finished_at - span.started_at).total_seconds()
            queued[_queued_job(span, by_id)] += round(seconds * 1000)
    return dict(queued)


def summarize_run(spans: list[SpanTiming], trace_id: str | None = None) -> dict:
    """Per step name in one run: its durations and failures, and its time on the critical path,
    as parallel lists (`names`, `durations_ms`, `failures`, `on_path_ms`), and per job its time
    queued (`queued_names`, `queued_ms`): the report reads hundreds of these at once, so the
    milliseconds are packed (domain/int_lists.py)."""
    on_path = seconds_by_step(critical_path(spans, trace_id=trace_id))
    names: dict[str, int] = {}
    durations: list[list[int]] = []
    failures: list[int] = []
    for span in filter(counts_own_time, spans):
        if span.name not in names:
            names[span.name] = len(names)
            durations.append([])
            failures.append(0)
        index = names[span.name]
        durations[index].append(round((span.finished_at - span.started_at).total_seconds() * 1000))
        failures[index] += span.result not in (None, "success")
    return {
        "names": list(names),
        "durations_ms": pack_lists(durations),
        "failures": failures,
        "on_path_ms": pack([round(on_path.get(name, 0.0) * 1000) for name in names]),
        "queued_names": list(queued := _queued(spans)),
        "queued_ms": pack(list(queued.values())),
    }


def summarize_runs(session: Session, trace_ids: list[str]) -> dict[str, dict]:
    """The step summary (see summarize_run) of each of these runs, from its stored steps."""
    return {
        trace_id: summarize_run(with_job_queues([SpanTiming(*row) for row in rows]), trace_id)
        for trace_id, rows in store.steps_of_runs(session, trace_ids).items()
    }


def run_step_summaries(
    session: Session,
    repository_id: int,
    since: datetime,
    until: datetime,
    branches: tuple[str, ...] | None = None,
) -> list[dict]:
    """Each run's step summary, kept since its steps arrived (worked out here, and not kept, for a
    run stored before summaries were), with the run's start (STARTED_AT); runs on `branches`
    only when given."""
    runs = store.run_summaries(session, repository_id, since, until, branches)
    fresh = summarize_runs(session, [trace_id for trace_id, _, summary in runs if summary is None])
    return [
        {**(summary if summary is not None else fresh[trace_id]), STARTED_AT: started}
        for trace_id, started, summary in runs
    ]
