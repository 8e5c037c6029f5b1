"""Turn a finished step or pipeline run into a span and deliver it within the export bound.

Loaded while the step's command runs (it pulls in the OpenTelemetry SDK and, when facts are
missing, reads git with a call or two), and `prepare_step` does all it can before the command
exits. Deploys also carry the deployed revision's first-parent history, bounded by
`LEADTIME_HISTORY_LIMIT` (default 100 commits), so a server can work out their mergesets.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from leadtime.tracer import attributes as attr
from leadtime.tracer import context, export, gitinfo, providers, traceid, warn
from leadtime.tracer.config import TracerConfig
from leadtime.tracer.run import Outcome
from leadtime.tracer.span import (
    AttributeValue,
    SpanIds,
    SpanMaker,
    StepFacts,
    Timing,
    build_pipeline_span,
    build_step_span,
    build_test_spans,
    make_span_maker,
)

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan

    from leadtime.tracer import junit


def send_spans(
    spans: Sequence[ReadableSpan], config: TracerConfig, deadline: float, sampled: bool = True
) -> bool:
    """Deliver `spans`; one warning line for whatever went wrong. True when nothing did."""
    problems = export.deliver(export.encode(spans), config, deadline, sampled)
    if problems:
        warn("; ".join(problems))
    return not problems


SHALLOW_WARNING = (
    "this is a shallow checkout: the deploy's history stops at {sha}, so leadtime may not see "
    "all it ships; fetch the history (GitHub Actions: actions/checkout with fetch-depth: 0; "
    "GitLab: GIT_DEPTH: 0, or a depth above the commits between two deploys)"
)
NO_CHECKOUT_WARNING = (
    "no git history of {revision} here (not a checkout, or the commit not fetched): the deploy "
    "carries none; leadtime places it among the mergesets it already knows"
)


def history_attributes(revision: str, limit: int) -> dict[str, AttributeValue]:
    history, truncated, shallow = gitinfo.first_parent_history(revision, limit)
    if not history:
        warn(NO_CHECKOUT_WARNING.format(revision=revision))
        return {}
    if shallow:
        warn(SHALLOW_WARNING.format(sha=history[-1]["sha"][:12]))
    return {
        attr.HISTORY_REVISIONS: [commit["sha"] for commit in history],
        attr.HISTORY_COMMITTED_AT: [commit["committed_at"] for commit in history],
        attr.HISTORY_AUTHORS: [commit["author"] for commit in history],
        attr.HISTORY_SUBJECTS: [commit["subject"] for commit in history],
        attr.HISTORY_FIRST_COMMIT_AT: [commit["first_commit_at"] for commit in history],
        attr.HISTORY_TRUNCATED: truncated,
        attr.HISTORY_SHALLOW: shallow,
    }


def deployment_attributes(
    ci: context.CIContext, environment: str, result: str, deploy_id: str | None, span_id: int
) -> dict[str, AttributeValue]:
    if not deploy_id:
        # Distinct for every deploy step run, and the same if its span is sent twice.
        deploy_id = f"{ci.provider}-{ci.run_id}-{span_id:016x}" if ci.run_id else f"{span_id:016x}"
    succeeded = result == attr.RESULT_SUCCESS
    return {
        attr.DEPLOYMENT_ENVIRONMENT: environment,
        attr.DEPLOYMENT_STATUS: attr.DEPLOYMENT_SUCCEEDED if succeeded else attr.DEPLOYMENT_FAILED,
        attr.DEPLOYMENT_ID: deploy_id,
    }


@dataclass
class PreparedStep:
    """Everything about a step that can be known before its command ends."""

    config: TracerConfig
    ci: context.CIContext
    maker: SpanMaker
    environment: str | None = None
    deploy_extra: Mapping[str, AttributeValue] | None = None

    def finish(
        self,
        *,
        ids: SpanIds,
        started_ns: int,
        outcome: Outcome,
        result: str,
        name: str,
        command: Sequence[str],
        task_type: str | None,
        attrs: Sequence[tuple[str, str]],
        deploy_id: str | None,
        cache_hit: bool | None = None,
        junit: Sequence[str] = (),
    ) -> bool:
        timing = Timing(started_ns, outcome.ended_ns)
        extra: dict[str, AttributeValue] = dict(self.deploy_extra or {})
        if self.environment:
            extra.update(
                deployment_attributes(self.ci, self.environment, result, deploy_id, ids.span_id)
            )
        if cache_hit is not None:
            extra[attr.CACHE_HIT] = cache_hit
        reading = read_reports(junit, started_ns, self.config.junit_max_tests) if junit else None
        if reading is not None:
            extra.update(test_counts(reading))
        extra.update(dict(attrs))
        span = build_step_span(
            self.maker,
            ids,
            timing,
            StepFacts(name, result, outcome.exit_code, task_type, command, extra),
            self.ci,
        )
        tests = []
        if reading is not None and reading.cases:
            span_ids = [traceid.random_span_id() for _ in reading.cases]
            tests = build_test_spans(self.maker, ids, timing, reading.cases, span_ids)
        # The export bound starts once the spans are made: reading reports has bounds of its own.
        deadline = time.monotonic() + self.config.export_timeout
        return send_spans([span, *tests], self.config, deadline, ids.sampled)


def read_reports(patterns: Sequence[str], started_ns: int, limit: int) -> junit.Reading | None:
    """The step's JUnit reports (tracer/junit.py); None, with a warning, when none could be read."""
    try:
        from leadtime.tracer import junit

        reading = junit.read(patterns, started_ns, limit)
    except Exception as error:  # reports are extra: the step's span goes out without them
        warn(f"could not read the JUnit reports: {type(error).__name__}: {error}")
        return None
    if reading.problems:
        warn("; ".join(reading.problems))
    return reading


def test_counts(reading: junit.Reading) -> dict[str, AttributeValue]:
    return {
        attr.TESTS_TOTAL: reading.total,
        attr.TESTS_FAILED: reading.failed,
        attr.TESTS_SKIPPED: reading.skipped,
        attr.TESTS_KEPT: len(reading.cases),
    }


def _gather(config: TracerConfig, found: dict[str, str], commit_facts: bool) -> context.CIContext:
    return context.gather(
        os.environ,
        main_branches=config.main_branches,
        always_commit_facts=commit_facts,
        found=found,
    )


def prepare_step(
    found: dict[str, str],
    *,
    service: str | None = None,
    environment: str | None = None,
    revision: str | None = None,
) -> PreparedStep:
    config = TracerConfig.from_env()
    ci = _gather(config, found, commit_facts=bool(environment))
    maker = make_span_maker(service or config.service_name, ci)
    if not environment:
        return PreparedStep(config, ci, maker)
    deployed = revision or ci.sha
    deploy_extra = history_attributes(deployed or "HEAD", config.history_limit)
    if deploy_extra:  # the full sha, also when given as a short sha or a tag
        deployed = str(deploy_extra[attr.HISTORY_REVISIONS][0])  # type: ignore[index]
    if deployed:
        deploy_extra[attr.REF_HEAD_REVISION] = deployed
    return PreparedStep(config, ci, maker, environment, deploy_extra)


def pipeline_ids(found: Mapping[str, str]) -> SpanIds | None:
    """The root span's ids for this pipeline run; None when there is no run id to derive from."""
    if not found.get("run_id"):
        return None
    trace_id, root, _ = traceid.run_ids(os.environ, found)
    return SpanIds(trace_id, root)


def record_pipeline(
    ids: SpanIds, result: str, started_ns: int, ended_ns: int, service: str | None = None
) -> bool:
    """Send the pipeline run's root span; True when every target accepted it."""
    config = TracerConfig.from_env()
    ci = _gather(config, providers.detect(os.environ), commit_facts=True)
    maker = make_span_maker(service or config.service_name, ci)
    span = build_pipeline_span(maker, ids, Timing(started_ns, ended_ns), result, ci)
    return send_spans([span], config, time.monotonic() + config.export_timeout)
