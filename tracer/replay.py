"""A step's document (facts.py) turned into its spans and the OTLP request that carries them.

This is where the OpenTelemetry SDK and the official OTLP encoder come in: whoever sends a
step's span (the detached sender, `leadtime flush`, a deploy that confirms its own) builds it
here from the document the step wrote, so every path sends the same span.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan

from leadtime.tracer.context import CIContext
from leadtime.tracer.facts import DOCUMENT_VERSION, SpanIds, StepFacts, Timing
from leadtime.tracer.span import build_step_span, build_test_spans, make_span_maker


def encode(spans: Sequence[ReadableSpan]) -> bytes:
    """The OTLP ExportTraceServiceRequest for `spans`, as protobuf bytes."""
    return encode_spans(spans).SerializeToString()


def spans_of(document: Mapping[str, Any]) -> list[ReadableSpan]:
    """The step's span and one child span per kept test case. Raises ValueError (or KeyError,
    TypeError) for a document this version cannot read."""
    if document.get("version") != DOCUMENT_VERSION:
        raise ValueError(f"a step document of version {document.get('version')!r}")
    ci = CIContext(**document["ci"])
    maker = make_span_maker(document.get("service"), ci)
    ids = SpanIds(*document["ids"])
    timing = Timing(*document["timing"])
    step = build_step_span(maker, ids, timing, StepFacts(**document["step"]), ci)
    tests = document.get("tests") or []
    if not tests:
        return [step]
    from leadtime.tracer.junit import Case

    cases = [Case(**case) for case, _ in tests]
    span_ids = [int(span_id) for _, span_id in tests]
    return [step, *build_test_spans(maker, ids, timing, cases, span_ids)]


def request_of(document: Mapping[str, Any]) -> bytes:
    return encode(spans_of(document))
