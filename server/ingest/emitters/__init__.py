"""Spans from the CI emitters that exist, read in the CI/CD conventions' words, each span given
its role (common.py: step, root, queue, group, test, detail).

An emitter is recognised by what its spans carry (instrumentation scope, resource keys), never
by a setting: the first adapter whose `detect` accepts a resource's first span adapts all of
that resource's spans. Spans no adapter claims (leadtime's own, anything following the
conventions) keep their keys and get their role by the general rule:
- a span with `cicd.pipeline.run.queue.duration` is waiting: a queue;
- a span with `test.case.name` (leadtime's `--junit` spans, the test conventions) is a test
  case: a test;
- a span with `pytest.span_type` (pytest-opentelemetry's, also when its scope is another)
  follows pytest_otel.py: the session is a group, a test case a test, and its phases and
  fixtures details (role detail: kept, never steps or tests);
- a span without a parent is the run's root when it is of kind SERVER or other spans of the
  delivery (test cases aside) hang under it, whatever its kind; a parentless span alone
  (`leadtime step` outside a pipeline run, spans of a run with no root) is a step;
- every other span is a step.
"""

from __future__ import annotations

from leadtime.server.ingest.emitters import (
    github_receiver,
    gitlab_receiver,
    jenkins,
    otel_cicd_action,
    pytest_otel,
)
from leadtime.server.ingest.emitters.common import DETAIL, GROUP, QUEUE, ROLES, ROOT, STEP, TEST
from leadtime.server.ingest.otlp import SpanRecord

__all__ = ["ROLES", "adapt"]

ADAPTERS = (jenkins, otel_cicd_action, gitlab_receiver, github_receiver, pytest_otel)
QUEUE_DURATION = "cicd.pipeline.run.queue.duration"
TEST_CASE_NAME = "test.case.name"
PYTEST_SPAN_TYPE = pytest_otel.SPAN_TYPE
SERVER_KIND = 2


def _inside_tests(span: SpanRecord) -> bool:
    """A test case or a detail of one: it never makes a lone step a root."""
    if span.role is not None:
        return span.role in (TEST, DETAIL)
    if TEST_CASE_NAME in span.attributes:
        return True
    return PYTEST_SPAN_TYPE in span.attributes and pytest_otel.role(span) != GROUP


def _general_role(span: SpanRecord, parents: set[tuple[str, str | None]]) -> str:
    if QUEUE_DURATION in span.attributes:
        return QUEUE
    if TEST_CASE_NAME in span.attributes:
        return TEST
    if PYTEST_SPAN_TYPE in span.attributes:
        return pytest_otel.role(span)
    if span.parent_span_id:
        return STEP
    has_children = (span.trace_id, span.span_id) in parents
    return ROOT if span.kind == SERVER_KIND or has_children else STEP


def _by_resource(spans: list[SpanRecord]) -> list[list[SpanRecord]]:
    """The spans grouped by the resource they came with (one resource_spans each)."""
    groups: dict[int, list[SpanRecord]] = {}
    for span in spans:
        groups.setdefault(id(span.resource), []).append(span)
    return list(groups.values())


def _adapted(group: list[SpanRecord]) -> list[SpanRecord]:
    for adapter in ADAPTERS:
        if adapter.detect(group[0]):
            return adapter.adapt(group)
    return group


def adapt(spans: list[SpanRecord]) -> list[tuple[SpanRecord, str]]:
    """The spans in the conventions' words, each with its role (the caller sets it, with
    whatever else it changes: one copy of each span), in their order."""
    adapted: list[SpanRecord] = []
    for group in _by_resource(spans):
        adapted.extend(_adapted(group))
    # test cases under a lone step do not make it the run's root
    parents = {(span.trace_id, span.parent_span_id) for span in adapted if not _inside_tests(span)}
    return [(span, span.role or _general_role(span, parents)) for span in adapted]
