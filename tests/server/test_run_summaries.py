"""A run's step summary is worked out as its steps arrive. A run seen first in a delivery is worked
out from the delivery's own step rows, without reading them back; a run with steps stored before
is read back. Either way the summary is the one its stored steps give, read back afresh."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, text

from leadtime.server import db, recording, store
from leadtime.server.domain.run_summaries import summarize_runs
from leadtime.server.ingest import otlp as decoder
from leadtime.server.ingest.facts import Facts
from leadtime.server.ingest.traces import facts_from_spans
from tests.server import otlp_payloads as otlp
from tests.server.conftest import settings_for, wipe

START = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
SETTINGS = settings_for("sqlite://")


@pytest.fixture
def sessions(engine):
    yield db.session_factory(engine)
    wipe(engine)


def _read_back(statement: str) -> bool:
    """Whether a statement reads steps' timing columns (store.steps_of_runs)."""
    return statement.lstrip().upper().startswith("SELECT") and "parent_span_id" in statement


def _facts(spans: list[dict]) -> Facts:
    body = otlp.request(spans)
    decoded = decoder.spans_from(decoder.decode_request(body, decoder.JSON))
    return facts_from_spans(decoded.spans, SETTINGS.main_branch_names)


def _job_run(run: int, steps: list[tuple[str, int]], job: str = "build") -> list[dict]:
    """A job's spans: queued for a runner, then its steps one after another under it."""
    trace, job_id = f"{run:032x}", f"{run:08x}00000001"
    attributes = {**otlp.ci("main", f"{run:040x}", run), "leadtime.job.name": job}
    cursor = START + timedelta(seconds=90)
    queued = {"cicd.pipeline.run.queue.duration": 90 * 10**9}
    queue_id = f"{run:08x}00000002"
    spans = [otlp.span(trace, queue_id, f"queue-{job}", START, cursor, queued, parent=job_id)]
    for index, (name, seconds) in enumerate(steps):
        end = cursor + timedelta(seconds=seconds)
        span_id = f"{run:08x}1{index:07x}"
        spans.append(otlp.span(trace, span_id, name, cursor, end, attributes, parent=job_id))
        cursor = end
    spans.append(otlp.span(trace, job_id, job, START, cursor, attributes))
    return spans


def _record(sessions, facts: Facts) -> list[str]:
    """Record one delivery; the statements that read steps' timing columns back."""
    statements: list[str] = []
    listening = (
        sessions.kw["bind"],
        "before_cursor_execute",
        lambda *args: statements.append(args[2]),
    )
    event.listen(*listening)
    try:
        with db.unit_of_work(sessions) as session:
            recording.record_facts(session, facts, SETTINGS)
    finally:
        event.remove(*listening)
    return [statement for statement in statements if _read_back(statement)]


def _summaries(sessions) -> tuple[dict, dict]:
    """(each run's stored summary, each worked out afresh from its stored steps)."""
    with sessions() as session:
        rows = session.execute(text("SELECT trace_id, step_summary FROM pipeline_runs"))
        stored = {
            trace: json.loads(summary) if isinstance(summary, str) else summary
            for trace, summary in rows
        }
        return stored, summarize_runs(session, list(stored))


def test_runs_seen_first_are_summarized_from_their_delivered_steps(sessions):
    """Two runs in one delivery, one of them with a span sent twice (two deliveries written
    together): no read of their steps, and the summaries their stored steps give."""
    first = _job_run(1, [("checkout", 20), ("compile", 100), ("test", 45)])
    second = _job_run(2, [("lint", 15), ("test", 60)], job="check")
    facts = _facts([*first, *second, first[2]])

    reads = _record(sessions, facts)

    stored, afresh = _summaries(sessions)
    assert reads == []
    assert set(stored) == {f"{1:032x}", f"{2:032x}"}
    assert stored == afresh
    assert stored[f"{1:032x}"]["names"] == ["checkout", "compile", "test"]
    assert stored[f"{1:032x}"]["queued_names"] == ["build"]


def test_a_run_with_steps_stored_before_is_read_back_whole(sessions):
    """A run's spans over two deliveries: the second reads the run's stored steps, and its
    summary holds the steps of both."""
    spans = _job_run(3, [("checkout", 20), ("compile", 100), ("test", 45), ("package", 30)])
    assert _record(sessions, _facts(spans[:3])) == []

    reads = _record(sessions, _facts(spans[3:]))

    stored, afresh = _summaries(sessions)
    assert len(reads) == 1
    assert stored == afresh
    assert stored[f"{3:032x}"]["names"] == ["checkout", "compile", "test", "package"]


def test_a_new_run_whose_steps_are_stored_already_is_read_back(sessions):
    """A step stored without its run (another write committed it between this delivery's look
    at its runs and its own insert) is not among the delivered rows: the run is read back, and
    its summary counts that step too."""
    spans = _job_run(4, [("checkout", 20), ("compile", 100)])
    end = START + timedelta(seconds=70)
    stray = _facts([otlp.span(f"{4:032x}", "ffff0000ffff0000", "e2e", START, end)])
    with db.unit_of_work(sessions) as session:
        store.insert_steps(session, stray.steps, {})

    reads = _record(sessions, _facts(spans))

    stored, afresh = _summaries(sessions)
    assert len(reads) == 1
    assert stored == afresh
    assert "e2e" in stored[f"{4:032x}"]["names"]
