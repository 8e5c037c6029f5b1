"""Critical paths (as Jaeger's critical-path view): from the span that ended last, walk back to
the span that ended last before it started, and so on; inside a span, the same among its
children, its own time filling the gaps. Steps running in parallel are not counted twice.

Only a span whose role is step (ingest/emitters) fills a gap with its own time; test cases
and what happens inside them (roles test and detail) are inside their step's time and not
walked. A queue span's own time is "queued for a runner"; a root's, a stage's or a phase's, and
time no span covers (approvals, runner start-up) is "waiting". Spans stored before roles were
kept: a SERVER span is the run's root, any other a step.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

WAITING = "waiting"
QUEUED = "queued for a runner"
SERVER_KIND = 2  # a pipeline run's root span (OTel SpanKind SERVER): its own time is waiting
STEP_ROLE, QUEUE_ROLE = "step", "queue"
INSIDE_TESTS = ("test", "detail")  # test cases and their phases: inside their step's time


@dataclass(frozen=True)
class SpanTiming:
    span_id: str
    parent_span_id: str | None
    name: str
    started_at: datetime
    finished_at: datetime
    kind: int = 1
    result: str | None = None
    role: str | None = None  # ingest/emitters' roles; None: stored before roles were kept
    job: str | None = None  # leadtime.job.name: the CI job `leadtime step` ran in


def counts_own_time(span: SpanTiming) -> bool:
    """A step's own time is work; a root's, a queue's or a group's is waiting. Spans stored
    without a role keep the old rule: a SERVER span is the run's root."""
    if span.role is not None:
        return span.role == STEP_ROLE
    return span.kind != SERVER_KIND


@dataclass(frozen=True)
class Segment:
    """A stretch of the critical path: a step's own time, or waiting."""

    name: str
    started_at: datetime
    finished_at: datetime
    span_id: str | None = None
    trace_id: str | None = None

    @property
    def waiting(self) -> bool:
        return self.span_id is None

    @property
    def seconds(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()


def _walk(
    node: SpanTiming | None,
    children: dict[str | None, list[SpanTiming]],
    start: datetime,
    end: datetime,
) -> list[Segment]:
    """The critical path inside [start, end] of `node` (None: the run itself), latest first."""
    # Latest end first: the first child that started before the cursor is the one that ended
    # last before it. Children that start at or after the cursor never qualify again, since the
    # cursor only moves back, so one pass over the sorted list suffices.
    kids = sorted(
        children.get(node.span_id if node else None, []),
        key=lambda kid: (kid.finished_at, kid.started_at),
        reverse=True,
    )
    own = node is not None and counts_own_time(node)
    queued = node is not None and node.role == QUEUE_ROLE

    def gap(a: datetime, b: datetime) -> Segment:
        if own and node is not None:
            return Segment(node.name, a, b, node.span_id)
        return Segment(QUEUED if queued else WAITING, a, b)

    path, cursor, index = [], end, 0
    while cursor > start:
        while index < len(kids) and kids[index].started_at >= cursor:
            index += 1
        if index == len(kids):
            path.append(gap(start, cursor))
            break
        last = kids[index]
        index += 1
        last_end = min(last.finished_at, cursor)
        if last_end < cursor:
            path.append(gap(last_end, cursor))
        last_start = max(last.started_at, start)
        if last_end > last_start:
            path.extend(_walk(last, children, last_start, last_end))
        cursor = last_start
    return path


def critical_path(
    spans: list[SpanTiming],
    start: datetime | None = None,
    end: datetime | None = None,
    trace_id: str | None = None,
) -> list[Segment]:
    """The run's critical path in time order, within [start, end] (default: all its spans)."""
    spans = [span for span in spans if span.role not in INSIDE_TESTS]
    if not spans:
        return []
    ids = {span.span_id for span in spans}
    children: dict[str | None, list[SpanTiming]] = defaultdict(list)
    for span in spans:
        children[span.parent_span_id if span.parent_span_id in ids else None].append(span)
    start = start or min(span.started_at for span in spans)
    end = end or max(span.finished_at for span in spans)
    merged: list[Segment] = []
    for segment in reversed(_walk(None, children, start, end)):
        if merged and merged[-1].span_id == segment.span_id and merged[-1].name == segment.name:
            merged[-1] = Segment(
                segment.name, merged[-1].started_at, segment.finished_at, segment.span_id, trace_id
            )
        else:
            merged.append(
                Segment(
                    segment.name, segment.started_at, segment.finished_at, segment.span_id, trace_id
                )
            )
    return merged


def seconds_by_step(path: list[Segment]) -> dict[str, float]:
    totals: dict[str, float] = defaultdict(float)
    for segment in path:
        if not segment.waiting:
            totals[segment.name] += segment.seconds
    return dict(totals)
