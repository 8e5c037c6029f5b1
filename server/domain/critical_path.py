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


# SpanTiming and Segment are never changed once made, but not frozen: a frozen dataclass costs
# about 3 µs more to make, and every span stored makes one of each, most several (summaries
# are worked out as spans arrive: domain/run_summaries.py).
@dataclass(slots=True)
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


@dataclass(slots=True)
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


def _tree(spans: list[SpanTiming]) -> tuple[dict[str | None, list[SpanTiming]], datetime, datetime]:
    """The spans walked (test cases left out) by parent (None: the run's top), and their
    start and end."""
    spans = [span for span in spans if span.role not in INSIDE_TESTS]
    ids = {span.span_id for span in spans}
    children: dict[str | None, list[SpanTiming]] = defaultdict(list)
    for span in spans:
        children[span.parent_span_id if span.parent_span_id in ids else None].append(span)
    if not spans:
        return children, datetime.max, datetime.min
    return (
        children,
        min(span.started_at for span in spans),
        max(span.finished_at for span in spans),
    )


def critical_path(
    spans: list[SpanTiming],
    start: datetime | None = None,
    end: datetime | None = None,
    trace_id: str | None = None,
) -> list[Segment]:
    """The run's critical path in time order, within [start, end] (default: all its spans)."""
    children, first, last = _tree(spans)
    if not children:
        return []
    merged: list[Segment] = []
    for segment in reversed(_walk(None, children, start or first, end or last)):
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


def seconds_on_path(spans: list[SpanTiming]) -> dict[str, float]:
    """Each step's seconds on the run's critical path: seconds_by_step(critical_path(spans)),
    summed straight from the walk (every run's summary needs it, as its spans arrive)."""
    children, first, last = _tree(spans)
    return seconds_by_step(_walk(None, children, first, last)) if children else {}


def seconds_by_step(path: list[Segment]) -> dict[str, float]:
    totals: dict[str, float] = defaultdict(float)
    for segment in path:
        if not segment.waiting:
            totals[segment.name] += segment.seconds
    return dict(totals)
