"""The OpenTelemetry Collector's GitLab receiver (`receiver/gitlabreceiver`, traces from the
pipeline webhook), read as leadtime reads its own spans.

What it sends (collector-contrib `receiver/gitlabreceiver/traces_event_handling.go` and
`model.go`, semconv v1.38 keys): one batch per finished pipeline, every span of kind SERVER:
- the pipeline (no parent); the resource carries the run in the conventions' words
  (`cicd.pipeline.name`, `cicd.pipeline.result`, `cicd.pipeline.run.id`,
  `cicd.pipeline.run.url.full`, `vcs.repository.url.full`, `vcs.ref.head.name`,
  `vcs.ref.head.revision`), `service.name` = the project's `group/name`, and, not yet in the
  conventions, `vcs.ref.head.revision.timestamp` and `vcs.ref.head.revision.author.*`;
- one synthetic span per stage (no attributes), child of the pipeline: a group;
- one span per job, child of its stage: `cicd.pipeline.task.name`, `cicd.pipeline.task.run.*`
  (the result in GitLab's words: success, failed, canceled, skipped, manual),
  `gitlab.job.queued_duration`, and `cicd.pipeline.task.run.environment.name` with
  `gitlab.environment.action` (`start` is a deploy to that environment).
A job's `gitlab.job.queued_duration` (seconds waiting for a runner) becomes a queue span of its
own, `queue-<job>`, beside the job and ending as it starts, as the GitHub receiver sends one.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from hashlib import blake2b

from leadtime.server.ingest.emitters.common import GROUP, QUEUE, STEP, filled
from leadtime.server.ingest.otlp import SpanRecord
from leadtime.tracer import attributes as attr

PROVIDER = "gitlab"
ENVIRONMENT = "cicd.pipeline.task.run.environment.name"
ENVIRONMENT_ACTION = "gitlab.environment.action"
DEPLOYING = "start"
QUEUED_DURATION = "gitlab.job.queued_duration"
QUEUE_DURATION = "cicd.pipeline.run.queue.duration"
LONGEST_QUEUE = 86400.0  # seconds: a longer one is a broken report, not a queue


def detect(span: SpanRecord) -> bool:
    resource = span.resource
    return resource.get(attr.VCS_PROVIDER) == PROVIDER and "gitlab.project.namespace" in resource


def _resource(resource: dict) -> dict:
    path = resource.get(attr.SERVICE_NAME)
    values = {
        # The project's display name may be shared across groups; its path never is.
        attr.REPOSITORY_NAME: path if isinstance(path, str) and "/" in path else None,
        attr.CI_PROVIDER: PROVIDER,
        attr.COMMIT_COMMITTED_AT: resource.get("vcs.ref.head.revision.timestamp"),
        attr.COMMIT_AUTHOR: resource.get("vcs.ref.head.revision.author.email"),
    }
    cleaned = {k: v for k, v in resource.items() if k != attr.REPOSITORY_NAME}
    return {**cleaned, **{k: v for k, v in values.items() if v not in (None, "")}}


def _job(span: SpanRecord) -> SpanRecord:
    a = span.attributes
    environment = a.get(ENVIRONMENT)
    deploying = environment and a.get(ENVIRONMENT_ACTION) == DEPLOYING
    return filled(span, {attr.DEPLOYMENT_ENVIRONMENT: environment if deploying else None}, STEP)


def _queue(job: SpanRecord) -> SpanRecord | None:
    """The job's wait for a runner as a span of its own, if GitLab said how long it was."""
    queued = job.attributes.get(QUEUED_DURATION)
    if not isinstance(queued, int | float) or isinstance(queued, bool):
        return None
    if not 0 < queued < LONGEST_QUEUE:
        return None
    span_id = blake2b(f"{job.span_id}/queue".encode(), digest_size=8).hexdigest()
    return SpanRecord(
        trace_id=job.trace_id,
        span_id=span_id,
        parent_span_id=job.parent_span_id,
        name=f"queue-{job.attributes[attr.TASK_NAME]}",
        kind=job.kind,
        started_at=job.started_at - timedelta(seconds=queued),
        finished_at=job.started_at,
        status_code=0,
        attributes={QUEUE_DURATION: round(queued * 1e9)},
        resource=job.resource,
        scope=job.scope,
        role=QUEUE,
    )


def adapt(spans: list[SpanRecord]) -> list[SpanRecord]:
    mapped = _resource(spans[0].resource)
    adapted = []
    for span in spans:
        span = replace(span, resource=mapped)
        if attr.TASK_NAME in span.attributes:
            span = _job(span)
            queue = _queue(span)
            if queue is not None:
                adapted.append(queue)
        elif span.parent_span_id:
            span = replace(span, role=GROUP)  # a stage GitLab sends no event for
        adapted.append(span)
    return adapted
