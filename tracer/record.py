"""Send spans now, within the export bound: a deploy that confirms its own span before it
exits, a step whose spool could not be written, and the pipeline run's root span, which first
waits (bounded) for the job's steps still in the spool, so a runner torn down right after
`leadtime pipeline end` has lost nothing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from leadtime.tracer import export, facts, providers, replay, warn
from leadtime.tracer.config import TracerConfig
from leadtime.tracer.span import build_pipeline_span, make_span_maker

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan


def send_spans(
    spans: Sequence[ReadableSpan], config: TracerConfig, deadline: float, sampled: bool = True
) -> bool:
    """Deliver `spans`; one warning line for whatever went wrong. True when nothing did."""
    problems = export.deliver(replay.encode(spans), config, deadline, sampled)
    if problems:
        warn("; ".join(problems))
    return not problems


def send_document(document: Mapping[str, Any], config: TracerConfig) -> bool:
    """Build a finished step's spans and deliver them within the export bound, which starts
    once they are made (reading reports has bounds of its own)."""
    spans = replay.spans_of(document)
    deadline = time.monotonic() + config.export_timeout
    return send_spans(spans, config, deadline, sampled=bool(document["ids"][3]))


def drain_spool(config: TracerConfig) -> None:
    """Wait, within the export bound, for the spans of earlier steps still in the spool: the
    detached sender's turn first, then whatever it left. One warning for what stays."""
    report = export.flush(config, time.monotonic() + config.export_timeout)
    phrases = report.warnings()
    left = sum(count for label, count in report.remaining.items() if "(" not in label)
    if left:
        reasons = ", ".join(f"{label}: {error}" for label, error in sorted(report.errors.items()))
        phrases.append(
            f"{left} span request(s) of earlier steps not sent yet ({reasons}); "
            "they wait in the spool for `leadtime flush`"
        )
    if phrases:
        warn("; ".join(phrases))


def record_pipeline(
    ids: facts.SpanIds, result: str, started_ns: int, ended_ns: int, service: str | None = None
) -> bool:
    """Send the pipeline run's root span once the job's pending spans are out; True when every
    target accepted it."""
    config = TracerConfig.from_env()
    drain_spool(config)
    ci = facts.gather(config, providers.detect(os.environ), commit_facts=True)
    maker = make_span_maker(service or config.service_name, ci)
    span = build_pipeline_span(maker, ids, facts.Timing(started_ns, ended_ns), result, ci)
    return send_spans([span], config, time.monotonic() + config.export_timeout)
