"""pytest-opentelemetry (scope `pytest-opentelemetry`): spans of a pytest session, nested under
the `leadtime step` that ran it through TRACEPARENT.

What it sends (`pytest_opentelemetry/instrumentation.py`, v1.1), every span with
`pytest.span_type`:
- `run`: the session (`test run`, or PYTEST_RUN_NAME) around the tests: a group;
- `test`: a test case named by its node id (`pytest.nodeid`), with `code.filepath` and
  `code.function`; its status is OK when the test passed and ERROR when it failed or errored,
  and stays UNSET when the test never ran its call phase: skipped. Its `<nodeid>::setup`,
  `::call` and `::teardown` phases carry the same attributes;
- `fixture`: a fixture's setup or teardown inside a phase.

A test case becomes a test (role test, `test.case.name` and `test.case.result.status` added);
its phases and fixtures are details of it (role detail): kept, never steps or tests.
"""

from __future__ import annotations

from leadtime.server.ingest.emitters.common import DETAIL, GROUP, TEST, filled
from leadtime.server.ingest.otlp import SpanRecord
from leadtime.tracer import attributes as attr

SCOPE = "pytest-opentelemetry"
SPAN_TYPE = "pytest.span_type"
NODE_ID = "pytest.nodeid"
STATUS_RESULTS = {0: "skipped", 1: "pass", 2: "fail"}  # OTLP status codes: unset, ok, error


def detect(span: SpanRecord) -> bool:
    return span.scope == SCOPE


def is_test_case(span: SpanRecord) -> bool:
    """A test case's own span, not one of its phases (which share its node id)."""
    node_id = span.attributes.get(NODE_ID)
    return span.attributes.get(SPAN_TYPE) == "test" and node_id in (None, span.name)


def role(span: SpanRecord) -> str:
    if span.attributes.get(SPAN_TYPE) == "run":
        return GROUP
    return TEST if is_test_case(span) else DETAIL


def _values(span: SpanRecord) -> dict:
    if not is_test_case(span):
        return {}
    return {
        attr.TEST_CASE_NAME: span.name,
        attr.TEST_CASE_RESULT: STATUS_RESULTS.get(span.status_code),
        attr.CODE_FILE_PATH: span.attributes.get("code.filepath"),
    }


def adapt(spans: list[SpanRecord]) -> list[SpanRecord]:
    return [filled(span, _values(span), role(span)) for span in spans]
