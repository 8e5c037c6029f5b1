"""One span from a finished step (or a finished pipeline run) and its CI context.

Built with the OpenTelemetry SDK, with ids chosen before the command started (the child already
carries them in TRACEPARENT), and the start and end times the run measured. Names follow the
CI/CD semantic conventions: a step is a task run (kind INTERNAL, named by the task), a pipeline
root is a pipeline run (kind SERVER, named `RUN {pipeline}`). This module knows nothing of
processes or exporters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, cast

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.sdk.trace.sampling import ALWAYS_ON
from opentelemetry.trace import SpanKind, Status, StatusCode

from leadtime.tracer import __version__
from leadtime.tracer import attributes as attr
from leadtime.tracer.context import CIContext
from leadtime.tracer.facts import AttributeValue, SpanIds, StepFacts, Timing

if TYPE_CHECKING:
    from leadtime.tracer.junit import Case

FAILED_RESULTS = (attr.RESULT_FAILURE, attr.RESULT_TIMEOUT, attr.RESULT_ERROR)


class _PresetIds(IdGenerator):
    """Hands the SDK the ids the child process already knows from TRACEPARENT."""

    trace_id = span_id = 0

    def generate_trace_id(self) -> int:
        return self.trace_id

    def generate_span_id(self) -> int:
        return self.span_id


class SpanMaker:
    """An SDK tracer set up in advance (resource, provider), so that making the span after the
    command exits costs well under a millisecond."""

    def __init__(
        self, service: str, explicit_service: bool, entity: Mapping[str, AttributeValue] = {}
    ) -> None:
        self._ids = _PresetIds()
        # Always recorded: an unsampled incoming TRACEPARENT decides where the span is exported
        # (export.deliver), never whether the step or deploy happened.
        resource = _resource(service, explicit_service, entity)
        provider = TracerProvider(resource=resource, id_generator=self._ids, sampler=ALWAYS_ON)
        self._tracer = provider.get_tracer("leadtime", __version__)

    def make(
        self,
        ids: SpanIds,
        name: str,
        kind: SpanKind,
        timing: Timing,
        attributes: Mapping[str, AttributeValue],
        failed: bool,
    ) -> ReadableSpan:
        self._ids.trace_id, self._ids.span_id = ids.trace_id, ids.span_id
        parent = None
        if ids.parent_span_id is not None:
            flags = trace.TraceFlags(trace.TraceFlags.SAMPLED if ids.sampled else 0)
            parent_context = trace.SpanContext(ids.trace_id, ids.parent_span_id, True, flags)
            parent = trace.set_span_in_context(trace.NonRecordingSpan(parent_context))
        span = self._tracer.start_span(
            name,
            context=parent,
            kind=kind,
            attributes=dict(attributes),
            start_time=timing.started_ns,
        )
        if failed:
            span.set_status(Status(StatusCode.ERROR))
        span.end(end_time=timing.ended_ns)
        return cast(ReadableSpan, span)  # the SDK's Span is a ReadableSpan once ended


def _resource(
    service: str, explicit_service: bool, entity: Mapping[str, AttributeValue]
) -> Resource:
    # Resource.create also reads OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME; ours wins when
    # the team named the service through leadtime (flag or LEADTIME_SERVICE) or nothing else did.
    if explicit_service:
        return Resource.create({**entity, attr.SERVICE_NAME: service})
    detected = Resource.create(dict(entity))
    if not str(detected.attributes.get(attr.SERVICE_NAME, "")).startswith("unknown_service"):
        return detected
    return detected.merge(Resource({attr.SERVICE_NAME: service}))


def context_attributes(ci: CIContext) -> dict[str, AttributeValue]:
    """The pipeline and VCS attributes every span of this run carries."""
    pairs = {
        attr.CI_PROVIDER: ci.provider,
        attr.PIPELINE_NAME: ci.pipeline_name,
        attr.PIPELINE_RUN_ID: ci.run_id,
        attr.PIPELINE_RUN_ATTEMPT: ci.attempt,
        attr.PIPELINE_RUN_URL: ci.pipeline_url,
        attr.JOB_NAME: ci.job_name,
        attr.JOB_ID: ci.job_id,
        attr.REPOSITORY_URL: ci.repo_url,
        attr.REPOSITORY_NAME: ci.repo_name,
        attr.VCS_PROVIDER: ci.vcs_provider,
        attr.REF_HEAD_NAME: ci.branch,
        attr.REF_HEAD_TYPE: ci.ref_type,
        attr.REF_HEAD_REVISION: ci.sha,
        attr.CHANGE_ID: ci.change_id,
        attr.COMMIT_COMMITTED_AT: ci.committed_at,
        attr.COMMIT_AUTHOR: ci.author,
    }
    return {key: value for key, value in pairs.items() if value is not None}


# The entities of semantic conventions v1.43+ (`cicd.pipeline`, `cicd.pipeline.run`,
# `vcs.repository`, `vcs.ref`) put these on the resource; every span carries them too, as older
# readers (and servers) look for them there.
ENTITY_KEYS = (
    attr.PIPELINE_NAME,
    attr.PIPELINE_RUN_ID,
    attr.PIPELINE_RUN_URL,
    attr.REPOSITORY_URL,
    attr.REPOSITORY_NAME,
    attr.VCS_PROVIDER,
    attr.REF_HEAD_NAME,
    attr.REF_HEAD_TYPE,
    attr.REF_HEAD_REVISION,
)


def make_span_maker(explicit_service: str | None, ci: CIContext) -> SpanMaker:
    context = context_attributes(ci)
    entity = {key: context[key] for key in ENTITY_KEYS if key in context}
    return SpanMaker(
        explicit_service or ci.repo_name or "unknown_service", explicit_service is not None, entity
    )


def build_step_span(
    maker: SpanMaker, ids: SpanIds, timing: Timing, step: StepFacts, ci: CIContext
) -> ReadableSpan:
    attributes: dict[str, AttributeValue] = context_attributes(ci)
    attributes.update(
        {
            attr.TASK_NAME: step.name,
            attr.TASK_RUN_ID: f"{ids.span_id:016x}",
            attr.TASK_RUN_RESULT: step.result,
        }
    )
    if ci.job_url or ci.pipeline_url:
        attributes[attr.TASK_RUN_URL] = ci.job_url or ci.pipeline_url or ""
    if step.task_type:
        attributes[attr.TASK_TYPE] = step.task_type
    if step.exit_code is not None:
        attributes[attr.PROCESS_EXIT_CODE] = step.exit_code
    if step.command:
        attributes[attr.COMMAND] = " ".join(step.command)
    if step.result in FAILED_RESULTS:
        attributes[attr.ERROR_TYPE] = step.result
    attributes.update(step.extra)
    return maker.make(
        ids, step.name, SpanKind.INTERNAL, timing, attributes, step.result in FAILED_RESULTS
    )


def build_pipeline_span(
    maker: SpanMaker, ids: SpanIds, timing: Timing, result: str, ci: CIContext
) -> ReadableSpan:
    attributes = context_attributes(ci)
    attributes[attr.PIPELINE_RESULT] = result
    attributes[attr.PIPELINE_ACTION] = "RUN"
    if result in FAILED_RESULTS:
        attributes[attr.ERROR_TYPE] = result
    name = f"RUN {ci.pipeline_name}" if ci.pipeline_name else "RUN"
    return maker.make(ids, name, SpanKind.SERVER, timing, attributes, result in FAILED_RESULTS)


def test_attributes(case: Case) -> dict[str, AttributeValue]:
    attributes: dict[str, AttributeValue] = {
        attr.TEST_CASE_NAME: case.name,
        attr.TEST_CASE_RESULT: case.status,
    }
    optional = {
        attr.TEST_SUITE_NAME: case.suite,
        attr.TEST_CLASS: case.classname,
        attr.CODE_FILE_PATH: case.file,
        attr.TEST_FAILURE_MESSAGE: case.message,
    }
    attributes.update({key: value for key, value in optional.items() if value})
    return attributes


def build_test_spans(
    maker: SpanMaker,
    step: SpanIds,
    timing: Timing,
    cases: Sequence[Case],
    span_ids: Sequence[int],
) -> list[ReadableSpan]:
    """One child span of the step per test case, each as long as the report says. JUnit gives
    durations, not start times, so the cases are laid end to end from the step's start, and one
    that would end after the step is placed to end with it."""
    step_ns = timing.ended_ns - timing.started_ns
    spans, offset = [], 0
    for case, span_id in zip(cases, span_ids, strict=True):
        length = min(round(case.seconds * 1e9), step_ns)
        start = offset if offset + length <= step_ns else step_ns - length
        offset = start + length
        ids = SpanIds(step.trace_id, span_id, step.span_id, step.sampled)
        at = Timing(timing.started_ns + start, timing.started_ns + start + length)
        failed = case.status == "fail"
        attributes = test_attributes(case)
        spans.append(maker.make(ids, case.name, SpanKind.INTERNAL, at, attributes, failed))
    return spans
