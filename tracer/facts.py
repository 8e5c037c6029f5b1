"""What a finished step is, as plain data: gathered while its command runs, written down when
it ends, and turned into spans later by whoever sends them (replay.py).

Light on purpose (no SDK, no protobuf): `leadtime step` builds the step's document with this
module and hands it to the spool (handoff.py) without waiting for the OpenTelemetry SDK. The
document is the step's span in JSON: its ids, times, CI context and every attribute, so the
span built from it later is the one the step would have built itself. Deploys also carry the
deployed revision's first-parent history, bounded by `LEADTIME_HISTORY_LIMIT` (default 100
commits), so a server can work out their mergesets.
"""

from __future__ import annotations

import os
from _collections_abc import Mapping, Sequence

from leadtime.tracer import attributes as attr
from leadtime.tracer import context, gitinfo, traceid, warn
from leadtime.tracer.config import TracerConfig
from leadtime.tracer.record_type import Record
from leadtime.tracer.run import Outcome

TYPE_CHECKING = False  # typing costs a step 12 M instructions; type checkers know this name
if TYPE_CHECKING:
    from typing import Any

    from leadtime.tracer import junit

AttributeValue = str | bool | int | float | Sequence[str] | Sequence[int]
DOCUMENT_VERSION = 1


class SpanIds(Record):
    trace_id: int
    span_id: int
    parent_span_id: int | None = None
    sampled: bool = True


class Timing(Record):
    started_ns: int
    ended_ns: int


class StepFacts(Record):
    """What a finished step tells the span, beyond its CI context."""

    name: str
    result: str
    exit_code: int | None = None
    task_type: str | None = None
    command: Sequence[str] = ()
    extra: Mapping[str, AttributeValue] = {}  # noqa: RUF012 (copied for each record)


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


class PreparedStep(Record):
    """Everything about a step that can be known before its command ends."""

    config: TracerConfig
    ci: context.CIContext
    service: str | None = None
    environment: str | None = None
    deploy_extra: Mapping[str, AttributeValue] | None = None

    def document(
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
    ) -> dict[str, Any]:
        """The finished step as a JSON-ready document (see the module's docstring)."""
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
        step = StepFacts(name, result, outcome.exit_code, task_type, list(command), extra)
        tests = (
            [[vars(case), traceid.random_span_id()] for case in reading.cases] if reading else []
        )
        return {
            "version": DOCUMENT_VERSION,
            "service": self.service,
            "ci": {key: value for key, value in self.ci.as_dict().items() if value is not None},
            "ids": [ids.trace_id, ids.span_id, ids.parent_span_id, ids.sampled],
            "timing": [started_ns, outcome.ended_ns],
            "step": step.as_dict(),
            "tests": tests,
        }


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


def gather(config: TracerConfig, found: dict[str, str], commit_facts: bool) -> context.CIContext:
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
    ci = gather(config, found, commit_facts=bool(environment))
    service = service or config.service_name
    if not environment:
        return PreparedStep(config, ci, service)
    deployed = revision or ci.sha
    deploy_extra = history_attributes(deployed or "HEAD", config.history_limit)
    if deploy_extra:  # the full sha, also when given as a short sha or a tag
        deployed = str(deploy_extra[attr.HISTORY_REVISIONS][0])  # type: ignore[index]
    if deployed:
        deploy_extra[attr.REF_HEAD_REVISION] = deployed
    return PreparedStep(config, ci, service, environment, deploy_extra)


def pipeline_ids(found: Mapping[str, str]) -> SpanIds | None:
    """The root span's ids for this pipeline run; None when there is no run id to derive from."""
    if not found.get("run_id"):
        return None
    trace_id, root, _ = traceid.run_ids(os.environ, found)
    return SpanIds(trace_id, root)
