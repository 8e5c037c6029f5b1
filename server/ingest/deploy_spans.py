"""Which spans are deploys, and which could be by a repository's deploy rule.

- Marked: a span with `deployment.environment.name`, or with `cicd.pipeline.task.type` = deploy
  whose resource names the environment (where the conventions put it), unless it was skipped:
  a skipped deploy job (GitLab's manual job nobody started) shipped nothing.
- Candidates, where a run marks no deploy: its steps and groups that name a revision, for
  recording.py to match against the repository's deploy rules (a job-name glob), the innermost
  matching span only (a job and its `Deploy` step are one deploy). leadtime's own spans are
  never candidates: `leadtime deploy` marks its deploys.
"""

from __future__ import annotations

from leadtime.server.ingest.emitters.common import GROUP, STEP
from leadtime.server.ingest.facts import DeployCandidate, DeployFact, RepoRef
from leadtime.server.ingest.otlp import SpanRecord
from leadtime.tracer import attributes as attr

DEPLOY_TASK = "deploy"
LEADTIME_SCOPE = "leadtime"
_CANDIDATE_ROLES = (STEP, GROUP)


def with_environment(span: SpanRecord, attributes: dict) -> dict:
    """A deploy task's attributes with the environment its resource names, where they name
    none."""
    environment = span.resource.get(attr.DEPLOYMENT_ENVIRONMENT)
    if attributes.get(attr.TASK_TYPE) != DEPLOY_TASK or attr.DEPLOYMENT_ENVIRONMENT in attributes:
        return attributes
    if not isinstance(environment, str) or not environment:
        return attributes
    return {**attributes, attr.DEPLOYMENT_ENVIRONMENT: environment}


def is_deploy(span: SpanRecord, result: str) -> bool:
    return attr.DEPLOYMENT_ENVIRONMENT in span.attributes and result != attr.RESULT_SKIP


def deploy_of(span: SpanRecord, repo: RepoRef, result: str, environment: str) -> DeployFact | None:
    """The deploy the span reports; None without a revision or a service."""
    a = span.attributes
    sha = a.get(attr.REF_HEAD_REVISION)
    service = span.resource.get(attr.SERVICE_NAME)
    if not sha or not service:
        return None
    failed = span.status_code == 2 or result not in (attr.RESULT_SUCCESS, attr.RESULT_SKIP)
    status = a.get(attr.DEPLOYMENT_STATUS) or ("failed" if failed else "succeeded")
    return DeployFact(
        source="span",
        external_id=str(a.get(attr.DEPLOYMENT_ID) or f"{span.trace_id}-{span.span_id}"),
        service=str(service),
        environment=environment,
        sha=str(sha),
        status=str(status),
        started_at=span.started_at,
        finished_at=span.finished_at,
        url=a.get(attr.TASK_RUN_URL) or a.get(attr.PIPELINE_RUN_URL),
        trace_id=span.trace_id,
        span_id=span.span_id,
        repo=repo,
        history_cut=history_cut(a),
    )


def history_cut(attributes: dict) -> bool:
    """The deploy's own history stopped short: a shallow clone, the history limit, or none sent
    (no checkout)."""
    if not isinstance(attributes.get(attr.HISTORY_REVISIONS), list):
        return True
    return (
        attributes.get(attr.HISTORY_SHALLOW) is True
        or attributes.get(attr.HISTORY_TRUNCATED) is True
    )


def _ancestors(span: SpanRecord, parents: dict[tuple[str, str], str | None]) -> tuple[str, ...]:
    found, parent = [], span.parent_span_id
    while parent and parent not in found and (span.trace_id, parent) in parents:
        found.append(parent)
        parent = parents[(span.trace_id, parent)]
    return tuple(found)


def repo_of(span: SpanRecord) -> RepoRef:
    url = span.attributes.get(attr.REPOSITORY_URL) or span.resource.get(attr.REPOSITORY_URL)
    name = span.attributes.get(attr.REPOSITORY_NAME) or span.resource.get(attr.REPOSITORY_NAME)
    return RepoRef(str(url) if url else None, str(name) if name else None)


def _names(span: SpanRecord) -> tuple[str, ...]:
    named = (span.name, span.attributes.get(attr.TASK_NAME))
    return tuple(dict.fromkeys(str(name) for name in named if name))


def candidates(spans: list[tuple[SpanRecord, str]]) -> list[DeployCandidate]:
    """The spans (with their results) of runs that mark no deploy that a deploy rule could name:
    see the module."""
    marked = {span.trace_id for span, result in spans if is_deploy(span, result)}
    parents = {(span.trace_id, span.span_id): span.parent_span_id for span, _ in spans}
    found = []
    for span, result in spans:
        if span.trace_id in marked or span.role not in _CANDIDATE_ROLES:
            continue
        if span.scope == LEADTIME_SCOPE:
            continue
        if result == attr.RESULT_SKIP:
            continue
        deploy = deploy_of(span, repo_of(span), result, environment="")
        if deploy is not None and deploy.repo.known:
            found.append(DeployCandidate(_names(span), _ancestors(span, parents), deploy))
    return found
