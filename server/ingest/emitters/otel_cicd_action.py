"""The `corentinmusard/otel-cicd-action` GitHub Action (scope `otel-cicd-action`): a trace per
workflow run, exported after it ends, from the GitHub API.

What it sends (`src/trace/workflow.ts`, `src/trace/job.ts`, `src/__assets__/output_success.txt`,
v2/v3): every span of kind INTERNAL:
- the root, named after the workflow: `cicd.pipeline.name`, `cicd.pipeline.result`,
  `cicd.pipeline.run.id`, `cicd.pipeline.run.url.full`, and GitHub's own `github.head_sha`,
  `github.head_branch`, `github.head_commit.timestamp`, `github.head_commit.author.email`,
  `github.run_attempt`;
- one span per job (`cicd.pipeline.task.*`, `github.job.*`) with a `Queued` child (waiting)
  and one child per step (`github.job.step.conclusion`);
- the resource: `service.namespace` = `owner/name`, `service.version` = the head revision.
"""

from __future__ import annotations

from leadtime.server.ingest.emitters.common import QUEUE, ROOT, STEP, filled, repository_page
from leadtime.server.ingest.otlp import SpanRecord
from leadtime.tracer import attributes as attr

SCOPE = "otel-cicd-action"
PROVIDER = "github"
QUEUE_NAME = "Queued"


def detect(span: SpanRecord) -> bool:
    return span.scope == SCOPE


def _role(span: SpanRecord) -> str:
    if not span.parent_span_id:
        return ROOT
    return QUEUE if span.name == QUEUE_NAME and not span.attributes else STEP


def _values(span: SpanRecord) -> dict:
    a, resource = span.attributes, span.resource
    page = a.get(attr.PIPELINE_RUN_URL) or a.get(attr.TASK_RUN_URL) or a.get("github.html_url")
    url = repository_page(page)
    name = resource.get("service.namespace")
    return {
        attr.REPOSITORY_URL: url,
        attr.REPOSITORY_NAME: name if isinstance(name, str) and "/" in name else None,
        attr.REF_HEAD_REVISION: a.get("github.head_sha")
        or a.get("github.job.head_sha")
        or resource.get("service.version"),
        attr.REF_HEAD_NAME: a.get("github.head_branch") or a.get("github.job.head_branch"),
        attr.COMMIT_COMMITTED_AT: a.get("github.head_commit.timestamp"),
        attr.COMMIT_AUTHOR: a.get("github.head_commit.author.email"),
        attr.PIPELINE_RUN_ATTEMPT: a.get("github.run_attempt") or a.get("github.job.run_attempt"),
        attr.PIPELINE_RUN_ID: a.get("github.job.run_id"),
        attr.TASK_RUN_RESULT: a.get("github.job.step.conclusion"),
        attr.CI_PROVIDER: PROVIDER,
    }


def adapt(spans: list[SpanRecord]) -> list[SpanRecord]:
    return [filled(span, _values(span), _role(span)) for span in spans]
