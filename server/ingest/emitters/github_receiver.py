"""The OpenTelemetry Collector's GitHub receiver (`receiver/githubreceiver`, traces from the
workflow_run and workflow_job webhooks), read as leadtime reads its own spans.

What it sends (collector-contrib `receiver/githubreceiver/model.go` and
`trace_event_handling.go`, and its test data `testdata/workflow-run-expected.yaml`,
`workflow-job-expected.yaml`, v0.12x-v0.15x):
- one batch per workflow run: a root span (kind SERVER, no parent) whose resource carries the
  run: `cicd.pipeline.name`, `cicd.pipeline.run.id`, `cicd.pipeline.run.url.full`,
  `cicd.pipeline.run.status`, `vcs.ref.head` (older) or `vcs.ref.head.name`,
  `vcs.ref.head.revision`, `vcs.ref.head.revision.author.*`, and `vcs.repository.name` without
  its owner;
- one batch per job: the job span, a `queue-<job>` span (`cicd.pipeline.run.queue.duration`)
  and one span per step (`cicd.pipeline.task.name`, `cicd.pipeline.run.task.status`). Its
  resource's `cicd.pipeline.name` is the job's name, and the job's own id, page and result
  (`cicd.pipeline.task.run.*`, `cicd.pipeline.run.task.status`) sit on the resource too.
  Older versions parent the steps on the queue span, which ends before they start.

The repository is read off the run's page (`https://github.com/owner/name/actions/runs/N`):
a bare name would be the same repository for every owner.
"""

from __future__ import annotations

from dataclasses import replace

from leadtime.server.ingest.emitters.common import QUEUE, STEP, filled, repository_page
from leadtime.server.ingest.otlp import SpanRecord
from leadtime.tracer import attributes as attr

PROVIDER = "github"
LEADTIME_SCOPE = "leadtime"  # leadtime's own spans say it all in the conventions' words
QUEUE_DURATION = "cicd.pipeline.run.queue.duration"
TASK_STATUS = "cicd.pipeline.run.task.status"
_PROVIDER_KEYS = ("vcs.provider.name", "vcs.vendor.name")
_PAGE_KEYS = (attr.PIPELINE_RUN_URL, attr.TASK_RUN_URL)
_JOB_KEYS = (attr.TASK_RUN_ID, attr.TASK_RUN_URL, TASK_STATUS)


def detect(span: SpanRecord) -> bool:
    resource = span.resource
    return (
        span.scope != LEADTIME_SCOPE
        and any(resource.get(key) == PROVIDER for key in _PROVIDER_KEYS)
        and any(key in resource for key in _PAGE_KEYS)
    )


def _run_page(page) -> str | None:
    """`.../actions/runs/N` of a run's or a job's page."""
    text = str(page or "")
    head, found, tail = text.partition("/actions/runs/")
    number = tail.split("/", 1)[0]
    return f"{head}/actions/runs/{number}" if found and number.isdigit() else None


def _resource(resource: dict) -> dict:
    """The resource in the conventions' words: the run's identity only, never a job's."""
    page = next((resource[key] for key in _PAGE_KEYS if resource.get(key)), None)
    run_page = _run_page(page)
    url = resource.get(attr.REPOSITORY_URL) or repository_page(page)
    cleaned = {k: v for k, v in resource.items() if k not in _JOB_KEYS}
    if attr.TASK_RUN_ID in resource:
        cleaned.pop(attr.PIPELINE_NAME, None)  # a job batch names the job there
    cleaned.pop(attr.REPOSITORY_NAME, None)  # without its owner: see the module's docstring
    owner_and_name = url.split("://", 1)[-1].split("/", 1)[-1] if url else None
    run_id = resource.get(attr.PIPELINE_RUN_ID) or (
        run_page.rsplit("/", 1)[-1] if run_page else None
    )
    values = {
        attr.REPOSITORY_URL: url,
        attr.REPOSITORY_NAME: owner_and_name,
        attr.REF_HEAD_NAME: resource.get(attr.REF_HEAD_NAME) or resource.get("vcs.ref.head"),
        attr.PIPELINE_RUN_ID: run_id,
        attr.PIPELINE_RUN_URL: resource.get(attr.PIPELINE_RUN_URL) or run_page,
        attr.PIPELINE_RUN_ATTEMPT: resource.get("github.workflow.run.attempt"),
        attr.CI_PROVIDER: PROVIDER,
        attr.COMMIT_AUTHOR: resource.get("vcs.ref.head.revision.author.email"),
    }
    return {**cleaned, **{k: v for k, v in values.items() if v not in (None, "")}}


def _job_span(span: SpanRecord, resource: dict) -> SpanRecord:
    """The job's span: its name, id, page and result are on the resource of its batch."""
    return filled(
        span,
        {
            attr.TASK_NAME: resource.get(attr.PIPELINE_NAME) or span.name,
            attr.TASK_RUN_ID: resource.get(attr.TASK_RUN_ID),
            attr.TASK_RUN_URL: resource.get(attr.TASK_RUN_URL),
            attr.TASK_RUN_RESULT: resource.get(TASK_STATUS),
        },
        STEP,
    )


def adapt(spans: list[SpanRecord]) -> list[SpanRecord]:
    """One resource's spans, in the conventions' words and with their roles."""
    resource = spans[0].resource
    mapped = _resource(resource)
    queues = {
        span.span_id: span.parent_span_id
        for span in spans
        if QUEUE_DURATION in span.attributes or span.name.startswith("queue-")
    }
    adapted = []
    for span in spans:
        span = replace(span, resource=mapped)
        if span.span_id in queues:
            span = replace(span, role=QUEUE)
        elif span.parent_span_id in queues:  # a step under the queue span: under the job, really
            span = replace(span, parent_span_id=queues[span.parent_span_id], role=STEP)
        elif (
            attr.TASK_RUN_ID in resource
            and span.parent_span_id
            and attr.TASK_NAME not in span.attributes
        ):
            span = _job_span(span, resource)
        adapted.append(span)
    return adapted
