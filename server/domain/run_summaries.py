"""Each run's step summary: per step name its durations, failures and time on the critical path,
and per job its time queued for a runner, worked out again as its steps arrive (recording.py):
from the delivery's own rows for a run it is the first to report, else from the run's stored
steps. Read by the slowest-steps report (through domain/step_days.py) and the regression
rule.

Queued for a runner: the time of a run's queue spans (role queue, or inferred for its jobs from
the run's start where no source reports queues: domain/job_queues.py), per job: the step the
queue span hangs under, else its name without `queue-` (`queue-build` is build's).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.orm import Session

from leadtime.server import store
from leadtime.server.domain.critical_path import (
    QUEUE_ROLE,
    SpanTiming,
    counts_own_time,
    seconds_on_path,
)
from leadtime.server.domain.int_lists import pack, pack_lists
from leadtime.server.domain.job_queues import with_job_queues
from leadtime.tracer.attributes import JOB_NAME

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


def summarize_run(spans: list[SpanTiming]) -> dict:
    """Per step name in one run: its durations and failures, and its time on the critical path,
    as parallel lists (`names`, `durations_ms`, `failures`, `on_path_ms`), and per job its time
    queued (`queued_names`, `queued_ms`): the report reads hundreds of these at once, so the
    milliseconds are packed (domain/int_lists.py)."""
    on_path = seconds_on_path(spans)
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


def summarize_runs(
    session: Session, trace_ids: list[str], delivered: Mapping[str, list[dict]] | None = None
) -> dict[str, dict]:
    """The step summary (see summarize_run) of each of these runs, from its stored steps. A run
    given in `delivered` (its step rows, just inserted) whose stored steps are all of those rows
    (as many as their span ids) is worked out from them, without reading them back: a run seen
    first in a delivery, nearly always."""
    timings = _whole_runs(session, delivered or {})
    read = [trace_id for trace_id in trace_ids if trace_id not in timings]
    timings.update(
        (trace_id, [SpanTiming(*row) for row in rows])
        for trace_id, rows in store.steps_of_runs(session, read).items()
    )
    return {trace_id: summarize_run(with_job_queues(timings[trace_id])) for trace_id in trace_ids}


def _whole_runs(session: Session, delivered: Mapping[str, list[dict]]) -> dict[str, list]:
    """The timings of the delivered runs that hold no stored step but these rows."""
    first_of_each: dict[str, dict[str, dict]] = {}
    for trace_id, rows in delivered.items():
        spans = first_of_each[trace_id] = {}
        for row in rows:  # a span id twice: the first is stored (store.insert_steps)
            spans.setdefault(row["span_id"], row)
    stored = store.step_counts(session, list(first_of_each)) if first_of_each else {}
    return {
        trace_id: [_timing(row) for row in spans.values()]
        for trace_id, spans in first_of_each.items()
        if stored.get(trace_id) == len(spans)
    }


def _timing(row: dict) -> SpanTiming:
    """A step row's timing, as steps_of_runs reads it back (the job name as JSON text)."""
    job = row["attributes"].get(JOB_NAME)
    return SpanTiming(
        row["span_id"],
        row["parent_span_id"],
        row["name"],
        row["started_at"],
        row["finished_at"],
        row["kind"],
        row["result"],
        row["role"],
        job if job is None or isinstance(job, str) else json.dumps(job),
    )


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
