"""The Jenkins OpenTelemetry plugin (`jenkinsci/opentelemetry-plugin`, scope
`io.jenkins.opentelemetry`), in both its conventions: the plugin's own (`ci.pipeline.*`,
`git.*`: the default, "JENKINS") and OpenTelemetry's (`cicd.*`, `vcs.*`: "OTEL" or both,
`semconv/SemConvStability.java`).

What it sends (`job/MonitoringRunListener.java`, `job/MonitoringPipelineListener.java`,
`semconv/ExtendedJenkinsAttributes.java`, 2026-02 snapshot):
- the root `BUILD <job>` (kind SERVER): `ci.pipeline.id` (the job's full name),
  `ci.pipeline.name`, `ci.pipeline.run.number`, `ci.pipeline.run.url`, `ci.pipeline.run.result`
  (SUCCESS, FAILURE, UNSTABLE, ABORTED, NOT_BUILT);
- phases `Phase: Start`, `Phase: Run`, `Phase: Finalise`, and `Stage: <name>` spans: groups;
  `Agent Allocation` (and a `Phase: Queue`): waiting for an agent;
- steps (`jenkins.pipeline.step.*`), the git checkout among them with `git.repository`
  (`owner/name`), `git.branch` and `url.full`.
The legacy conventions name no revision: a pipeline adds it to its root span with
`withSpanAttribute(key: 'vcs.ref.head.revision', value: env.GIT_COMMIT,
target: 'PIPELINE_ROOT_SPAN')` (the plugin's `docs/job-traces.md`).
"""

from __future__ import annotations

from dataclasses import replace

from leadtime.server.ingest.emitters.common import GROUP, QUEUE, ROOT, STEP, filled
from leadtime.server.ingest.otlp import SpanRecord
from leadtime.tracer import attributes as attr

SCOPE = "io.jenkins.opentelemetry"
PROVIDER = "jenkins"
ROOT_PREFIX = "BUILD "
QUEUE_NAMES = ("Agent Allocation", "Phase: Queue")
GROUP_PREFIXES = ("Phase: ", "Stage: ")


def detect(span: SpanRecord) -> bool:
    return span.scope == SCOPE


def _role(span: SpanRecord) -> str:
    if span.name in QUEUE_NAMES:
        return QUEUE
    if not span.parent_span_id:
        return ROOT
    if span.name.startswith(GROUP_PREFIXES):
        return GROUP
    return STEP


def _legacy(span: SpanRecord) -> dict:
    a = span.attributes
    job, number = a.get("ci.pipeline.id"), a.get("ci.pipeline.run.number")
    repository_url = a.get("url.full") if "git.repository" in a else None
    return {
        attr.PIPELINE_NAME: a.get("ci.pipeline.name") or job,
        attr.PIPELINE_RUN_ID: f"{job}#{number}" if job and number is not None else None,
        attr.PIPELINE_RUN_URL: a.get("ci.pipeline.run.url"),
        attr.PIPELINE_RESULT: a.get("ci.pipeline.run.result"),
        attr.REPOSITORY_URL: repository_url,
        attr.REPOSITORY_NAME: a.get("git.repository"),
        attr.REF_HEAD_NAME: a.get("git.branch"),
        attr.TASK_RUN_RESULT: a.get("jenkins.pipeline.step.result"),
        attr.TASK_NAME: a.get("jenkins.pipeline.step.name"),  # a stage's own name, unprefixed
    }


def adapt(spans: list[SpanRecord]) -> list[SpanRecord]:
    adapted = []
    for span in spans:
        span = filled(span, {**_legacy(span), attr.CI_PROVIDER: PROVIDER}, _role(span))
        if span.role != ROOT:  # a step's result is its own, never the run's
            span = replace(
                span,
                attributes={k: v for k, v in span.attributes.items() if k != attr.PIPELINE_RESULT},
            )
        adapted.append(span)
    return adapted
