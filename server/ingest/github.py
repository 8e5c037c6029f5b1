"""GitHub webhooks (`/webhooks/github`, content type application/json), signed with
X-Hub-Signature-256 (LEADTIME_GITHUB_WEBHOOK_SECRET), deduplicated on X-GitHub-Delivery:

- pull_request closed and merged into the default branch: a mergeset with the forge's own merge
  time and the PR's number, title, author and URL;
- push to the default branch: a mergeset whose first parent is what main was before;
- deployment_status: a deploy (success, failure, error, pending, queued, in_progress);
- workflow_run and workflow_job: a pipeline run with its jobs and steps, for teams that have not
  wrapped their steps yet (the tracer's trace id, so wrapped steps join the same run).

Any other event or action gives no facts and a 2xx: GitHub never redelivers by itself.
"""

from __future__ import annotations

from leadtime.server.errors import BadPayload, Unauthorized, UnsupportedMediaType
from leadtime.server.ingest import payload as p
from leadtime.server.ingest.facts import DeployFact, Facts, MergesetFact, RepoRef, RunFact
from leadtime.server.ingest.source import Headers, WebhookSource, secret_value
from leadtime.server.settings import Settings
from leadtime.server.signatures import hmac_hex, matches_any

DEPLOY_STATES = {
    "success": "succeeded",
    "failure": "failed",
    "error": "failed",
    "pending": "queued",
    "queued": "queued",
    "waiting": "queued",
    "in_progress": "in_progress",
}
RESULTS = {
    "success": "success",
    "failure": "failure",
    "timed_out": "timeout",
    "cancelled": "cancellation",
    "startup_failure": "error",
}


def verify_signature(body: bytes, header: str | None, secret: str | None) -> None:
    """X-Hub-Signature-256: `sha256=` and the hex HMAC-SHA256 of the raw body."""
    if not secret:
        raise Unauthorized("GitHub deliveries are refused: set LEADTIME_GITHUB_WEBHOOK_SECRET")
    if not header:
        raise Unauthorized("X-Hub-Signature-256 is missing")
    if not matches_any("sha256=" + hmac_hex(secret, body), [header.strip()]):
        raise Unauthorized("X-Hub-Signature-256 does not match the body")


def verify(body: bytes, headers: Headers, settings: Settings) -> None:
    verify_signature(
        body, headers.get("x-hub-signature-256"), secret_value(settings.github_webhook_secret)
    )
    if not headers.get("content-type", "").startswith("application/json"):
        raise UnsupportedMediaType("set the webhook's content type to application/json")


def parse(body: bytes, headers: Headers) -> Facts:
    return facts_of(headers.get("x-github-event", ""), p.load_json(body))


def facts_of(event: str, payload: dict) -> Facts:
    handlers = {
        "pull_request": _pull_request,
        "push": _push,
        "deployment_status": _deployment_status,
        "workflow_run": _workflow_run,
        "workflow_job": _workflow_job,
    }
    facts = Facts()
    if event in handlers:
        handlers[event](payload, facts)
    return facts


def _repository(payload: dict) -> RepoRef:
    url = p.get(payload, "repository.html_url", required=False)
    return RepoRef(url or f"https://github.com/{p.get(payload, 'repository.full_name')}")


def _pull_request(payload: dict, facts: Facts) -> None:
    pr = p.get(payload, "pull_request", dict)
    default = p.get(payload, "repository.default_branch", required=False)
    # Merged is `merged: true`; a closed, unmerged PR still carries a (test) merge_commit_sha.
    if payload.get("action") != "closed" or pr.get("merged") is not True:
        return
    if default and p.get(payload, "pull_request.base.ref", required=False) != default:
        return  # merged into another branch: not a mergeset
    number = p.get(payload, "pull_request.number", int)
    title = p.get(payload, "pull_request.title", required=False)
    login = p.get(payload, "pull_request.user.login", required=False)
    facts.mergesets.append(
        MergesetFact(
            repo=_repository(payload),
            sha=p.sha(
                p.get(payload, "pull_request.merge_commit_sha"), "pull_request.merge_commit_sha"
            ),
            merged_at=p.required_time(payload, "pull_request.merged_at"),
            merged_at_source="merge",
            source="github",
            title=title,
            author=login,
            pr_number=number,
            pr_title=title,
            pr_author=login,
            pr_url=p.get(payload, "pull_request.html_url", required=False),
            pr_merged_by=p.get(payload, "pull_request.merged_by.login", required=False),
        )
    )


def _push(payload: dict, facts: Facts) -> None:
    default = p.get(payload, "repository.default_branch", required=False) or "main"
    after = p.get(payload, "after")
    if p.get(payload, "ref") != f"refs/heads/{default}" or after == p.ZERO_SHA:
        return  # another branch, a tag, or the branch deleted
    before = p.get(payload, "before", required=False)
    head = payload.get("head_commit") if isinstance(payload.get("head_commit"), dict) else {}
    pushed = p.time_at(payload, "repository.pushed_at", required=False)
    committed = p.time_at(head, "timestamp", required=False) if head else None
    merged_at = pushed or committed
    if merged_at is None:
        raise BadPayload("repository.pushed_at or head_commit.timestamp must be a time")
    message = p.get(head, "message", required=False) if head else None
    facts.mergesets.append(
        MergesetFact(
            repo=_repository(payload),
            sha=p.sha(after, "after"),
            # The first parent of what a merge, squash or rebase pushed is what main was before.
            parent_sha=p.sha(before, "before") if before and before != p.ZERO_SHA else None,
            merged_at=merged_at,
            merged_at_source="push" if pushed else "commit",
            source="github",
            title=message.splitlines()[0] if message else None,
            author=p.get(head, "author.username", required=False) if head else None,
        )
    )


def _deployment_status(payload: dict, facts: Facts) -> None:
    state = DEPLOY_STATES.get(p.get(payload, "deployment_status.state"))
    if state is None:
        return  # inactive: a superseded deploy, nothing new
    repository = _repository(payload)
    changed = p.required_time(payload, "deployment_status.created_at")
    facts.deploys.append(
        DeployFact(
            repo=repository,
            source="github",
            external_id=f"deployment-{p.get(payload, 'deployment.id', int)}",
            service=str(repository.url).rstrip("/").rsplit("/", 1)[-1],
            environment=p.get(payload, "deployment_status.environment", required=False)
            or p.get(payload, "deployment.environment"),
            sha=p.sha(p.get(payload, "deployment.sha"), "deployment.sha"),
            status=state,
            started_at=p.time_at(payload, "deployment.created_at", required=False),
            finished_at=changed if state in ("succeeded", "failed") else None,
            url=p.get(payload, "deployment_status.environment_url", required=False)
            or p.get(payload, "deployment_status.log_url", required=False),
        )
    )


def _workflow_run(payload: dict, facts: Facts) -> None:
    run = p.get(payload, "workflow_run", dict)
    run_id, attempt = str(p.get(payload, "workflow_run.id", int)), str(run.get("run_attempt") or 1)
    created = p.required_time(payload, "workflow_run.created_at")
    done = run.get("status") == "completed"
    facts.runs.append(
        RunFact(
            repo=_repository(payload),
            trace_id=p.trace_id("github", run_id, attempt),
            provider="github",
            run_id=run_id,
            attempt=attempt,
            name=p.get(payload, "workflow_run.name", required=False),
            branch=p.get(payload, "workflow_run.head_branch", required=False),
            sha=p.get(payload, "workflow_run.head_sha", required=False),
            url=p.get(payload, "workflow_run.html_url", required=False),
            result=RESULTS.get(p.word(run.get("conclusion"))) if done else None,
            started_at=created,  # queue time included: created, then run_started_at
            finished_at=p.required_time(payload, "workflow_run.updated_at") if done else created,
        )
    )


def _workflow_job(payload: dict, facts: Facts) -> None:
    job = p.get(payload, "workflow_job", dict)
    if job.get("status") != "completed" or not job.get("started_at"):
        return  # the finished job has all its times; earlier events add nothing lasting
    run_id = str(p.get(payload, "workflow_job.run_id", int))
    attempt = str(job.get("run_attempt") or 1)
    trace = p.trace_id("github", run_id, attempt)
    created = p.required_time(payload, "workflow_job.created_at")
    started = p.required_time(payload, "workflow_job.started_at")
    finished = p.required_time(payload, "workflow_job.completed_at")
    job_span = p.span_id("github-job", p.get(payload, "workflow_job.id", int))
    attributes = {
        "cicd.pipeline.task.run.url.full": job.get("html_url"),
        "leadtime.queued_seconds": (started - created).total_seconds(),
    }
    result = RESULTS.get(p.word(job.get("conclusion")), "success")
    name = p.get(payload, "workflow_job.name")
    facts.steps.append(
        p.step_row(
            trace, job_span, p.root_span_id(trace), name, started, finished, result, attributes
        )
    )
    if started > created:  # waiting for a runner: from the job's creation to its start
        queue = p.span_id("github-queue", job["id"])
        facts.steps.append(
            p.step_row(
                trace,
                queue,
                p.root_span_id(trace),
                f"queue-{name}",
                created,
                started,
                "success",
                {},
                role="queue",
            )
        )
    for step in p.items(job.get("steps")):
        if not isinstance(step, dict):
            continue
        began = p.time_at(step, "started_at", False)
        ended = p.time_at(step, "completed_at", False)
        if began is None or ended is None:
            continue  # skipped steps have no times
        facts.steps.append(
            p.step_row(
                trace,
                p.span_id("github-step", job["id"], step.get("number")),
                job_span,
                p.get(step, "name"),
                began,
                ended,
                RESULTS.get(p.word(step.get("conclusion")), "success"),
                {},
            )
        )
    facts.runs.append(
        RunFact(
            repo=_repository(payload),
            trace_id=trace,
            provider="github",
            run_id=run_id,
            attempt=attempt,
            name=p.get(payload, "workflow_job.workflow_name", required=False),
            branch=p.get(payload, "workflow_job.head_branch", required=False),
            sha=p.get(payload, "workflow_job.head_sha", required=False),
            started_at=created,
            finished_at=finished,
        )
    )


SOURCE = WebhookSource(
    name="github",
    summary="GitHub webhooks: pull_request (merged), push (to the default branch), "
    "deployment_status, workflow_run and workflow_job. Choose content type application/json.",
    parse=parse,
    verify=verify,
    delivery_headers=("x-github-delivery",),
)
