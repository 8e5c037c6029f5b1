"""GitHub and GitLab webhooks as plain facts: merges (with the forge's own merge time and the PR's
number, title, author and URL), pushes to the default branch (first-parent order), deploys, and
pipeline runs with their jobs and steps for teams that have not wrapped their steps yet.

Bytes in after verification, ForgeFacts out; nothing here touches the database. An event or action
we do not use gives no facts (the receiver still answers 2xx: GitLab disables hooks that get 4xx).
A payload that lacks what its event must carry is a BadPayload naming the field.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass, field
from datetime import datetime

from leadtime.server.errors import BadPayload, Unauthorized
from leadtime.server.ingest.pages import items, load_json
from leadtime.server.timeparse import parse_time
from leadtime.tracer import traceid

ZERO_SHA = "0" * 40
SIGNATURE_TOLERANCE_SECONDS = 300  # Standard Webhooks: refuse signatures older or newer
KIND_NAMES = {str: "a string", int: "a number", dict: "an object", (str, int): "a time"}


@dataclass(frozen=True)
class MergeFact:
    repository: str  # the repository's URL
    sha: str
    merged_at: datetime
    merged_at_source: str  # "merge" (the forge's merge time), "push" or "commit"
    source: str
    parent_sha: str | None = None
    title: str | None = None
    author: str | None = None
    pr_number: int | None = None
    pr_title: str | None = None
    pr_author: str | None = None
    pr_url: str | None = None


@dataclass(frozen=True)
class DeployFact:
    repository: str
    values: dict  # Deploy columns: source, external_id, service, environment, sha, status ...


@dataclass
class RunFact:
    repository: str
    trace_id: str
    provider: str
    run_id: str
    attempt: str | None
    name: str | None
    branch: str | None
    sha: str | None
    url: str | None
    result: str | None
    started_at: datetime
    finished_at: datetime
    steps: list[dict] = field(default_factory=list)  # Step rows


@dataclass
class ForgeFacts:
    merges: list[MergeFact] = field(default_factory=list)
    deploys: list[DeployFact] = field(default_factory=list)
    runs: list[RunFact] = field(default_factory=list)


# Verification -----------------------------------------------------------------------------------


def verify_github(body: bytes, header: str | None, secret: str | None) -> None:
    """X-Hub-Signature-256: `sha256=` and the hex HMAC-SHA256 of the raw body."""
    if not secret:
        raise Unauthorized("GitHub deliveries are refused: set LEADTIME_GITHUB_WEBHOOK_SECRET")
    if not header:
        raise Unauthorized("X-Hub-Signature-256 is missing")
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, header.strip()):
        raise Unauthorized("X-Hub-Signature-256 does not match the body")


def verify_gitlab(
    body: bytes, headers: dict[str, str], token: str | None, signing_key: str | None
) -> None:
    """A `webhook-signature` (GitLab's signing token, Standard Webhooks) when GitLab sends one,
    else X-Gitlab-Token, the secret itself; compared in constant time either way."""
    if headers.get("webhook-signature") and signing_key:
        verify_standard_webhook(body, headers, signing_key)
        return
    if not token:
        raise Unauthorized("GitLab deliveries are refused: set LEADTIME_GITLAB_WEBHOOK_TOKEN")
    given = headers.get("x-gitlab-token")
    if not given:
        raise Unauthorized("X-Gitlab-Token is missing")
    if not hmac.compare_digest(given.encode(), token.encode()):
        raise Unauthorized("X-Gitlab-Token is not the configured token")


def verify_standard_webhook(
    body: bytes, headers: dict[str, str], key: str, now: float | None = None
) -> None:
    """Standard Webhooks: `webhook-signature` holds space-separated `v1,<base64 HMAC-SHA256>` of
    `id.timestamp.body`; any may match; the timestamp must be within 5 minutes of `now`."""
    message_id, stamp = headers.get("webhook-id", ""), headers.get("webhook-timestamp", "")
    now = time.time() if now is None else now
    if not stamp.isdigit() or abs(now - int(stamp)) > SIGNATURE_TOLERANCE_SECONDS:
        raise Unauthorized("webhook-timestamp is missing or more than 5 minutes away")
    secret = (
        base64.b64decode(key.removeprefix("whsec_")) if key.startswith("whsec_") else key.encode()
    )
    signed = f"{message_id}.{stamp}.".encode() + body
    expected = base64.b64encode(hmac.new(secret, signed, hashlib.sha256).digest()).decode()
    given = [part.removeprefix("v1,") for part in headers["webhook-signature"].split()]
    if not any(hmac.compare_digest(expected, signature) for signature in given):
        raise Unauthorized("webhook-signature does not match the body")


# Helpers ----------------------------------------------------------------------------------------


def _get(payload: dict, path: str, kind=str, required: bool = True):
    """payload["a"]["b"] for path "a.b" when it is a `kind`; else None, or a BadPayload naming
    the field when it is required."""
    value = payload
    for key in path.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    if isinstance(value, kind) and not isinstance(value, bool):
        return value
    if required:
        raise BadPayload(f"{path} is missing or not {KIND_NAMES.get(kind, 'a value')}")
    return None


def _time(payload: dict, path: str, required: bool = True) -> datetime | None:
    value = _get(payload, path, (str, int), required)
    parsed = parse_time(value) if value is not None else None
    if parsed is None and required:
        raise BadPayload(f"{path}: {value!r} is not a time")
    return parsed


def _sha(value, where: str) -> str:
    if (
        not isinstance(value, str)
        or len(value) < 7
        or any(c not in "0123456789abcdef" for c in value.lower())
    ):
        raise BadPayload(f"{where}: {value!r} is not a commit sha")
    return value.lower()


def _word(value) -> str:
    """A payload's enum-like field as a string ("" when it is anything else)."""
    return value if isinstance(value, str) else ""


def _trace(provider: str, run_id: str, attempt: str | None) -> str:
    # The tracer's own derivation, so spans from `leadtime step` join the same run.
    return f"{traceid.pipeline_trace_id(provider, run_id, attempt):032x}"


def _span_id(*parts: object) -> str:
    digest = hashlib.blake2b("/".join(map(str, parts)).encode(), digest_size=8).hexdigest()
    return digest if digest != "0" * 16 else "1" * 16


def _step_row(trace_id, span_id, parent, name, started, finished, result, attributes) -> dict:
    return {
        "trace_id": trace_id,
        "span_id": span_id,
        "parent_span_id": parent,
        "name": name,
        "kind": 1,
        "service": None,
        "result": result,
        "exit_code": None,
        "task_type": None,
        "started_at": started,
        "finished_at": finished,
        "attributes": attributes,
    }


# GitHub -----------------------------------------------------------------------------------------

GITHUB_DEPLOY_STATES = {
    "success": "succeeded",
    "failure": "failed",
    "error": "failed",
    "pending": "queued",
    "queued": "queued",
    "waiting": "queued",
    "in_progress": "in_progress",
}
GITHUB_RESULTS = {
    "success": "success",
    "failure": "failure",
    "timed_out": "timeout",
    "cancelled": "cancellation",
    "startup_failure": "error",
}


def _github_repository(payload: dict) -> str:
    url = _get(payload, "repository.html_url", required=False)
    return url or f"https://github.com/{_get(payload, 'repository.full_name')}"


def github_facts(event: str, payload: dict) -> ForgeFacts:
    handlers = {
        "pull_request": _github_pull_request,
        "push": _github_push,
        "deployment_status": _github_deployment_status,
        "workflow_run": _github_workflow_run,
        "workflow_job": _github_workflow_job,
    }
    facts = ForgeFacts()
    if event in handlers:
        handlers[event](payload, facts)
    return facts


def _github_pull_request(payload: dict, facts: ForgeFacts) -> None:
    pr = _get(payload, "pull_request", dict)
    default = _get(payload, "repository.default_branch", required=False)
    # Merged is `merged: true`; a closed, unmerged PR still carries a (test) merge_commit_sha.
    if payload.get("action") != "closed" or pr.get("merged") is not True:
        return
    if default and _get(payload, "pull_request.base.ref", required=False) != default:
        return  # merged into another branch: not a mergeset
    number = _get(payload, "pull_request.number", int)
    facts.merges.append(
        MergeFact(
            repository=_github_repository(payload),
            sha=_sha(
                _get(payload, "pull_request.merge_commit_sha"), "pull_request.merge_commit_sha"
            ),
            merged_at=_time(payload, "pull_request.merged_at"),
            merged_at_source="merge",
            source="github",
            title=_get(payload, "pull_request.title", required=False),
            author=_get(payload, "pull_request.user.login", required=False),
            pr_number=number,
            pr_title=_get(payload, "pull_request.title", required=False),
            pr_author=_get(payload, "pull_request.user.login", required=False),
            pr_url=_get(payload, "pull_request.html_url", required=False),
        )
    )


def _github_push(payload: dict, facts: ForgeFacts) -> None:
    default = _get(payload, "repository.default_branch", required=False) or "main"
    after = _get(payload, "after")
    if _get(payload, "ref") != f"refs/heads/{default}" or after == ZERO_SHA:
        return  # another branch, a tag, or the branch deleted
    before = _get(payload, "before", required=False)
    head = payload.get("head_commit") if isinstance(payload.get("head_commit"), dict) else {}
    pushed = _time(payload, "repository.pushed_at", required=False)
    committed = _time(head, "timestamp", required=False) if head else None
    if pushed is None and committed is None:
        raise BadPayload("repository.pushed_at or head_commit.timestamp must be a time")
    message = _get(head, "message", required=False) if head else None
    facts.merges.append(
        MergeFact(
            repository=_github_repository(payload),
            sha=_sha(after, "after"),
            # The first parent of what a merge, squash or rebase pushed is what main was before.
            parent_sha=_sha(before, "before") if before and before != ZERO_SHA else None,
            merged_at=pushed or committed,
            merged_at_source="push" if pushed else "commit",
            source="github",
            title=message.splitlines()[0] if message else None,
            author=_get(head, "author.username", required=False) if head else None,
        )
    )


def _github_deployment_status(payload: dict, facts: ForgeFacts) -> None:
    state = GITHUB_DEPLOY_STATES.get(_get(payload, "deployment_status.state"))
    if state is None:
        return  # inactive: a superseded deploy, nothing new
    repository = _github_repository(payload)
    changed = _time(payload, "deployment_status.created_at")
    facts.deploys.append(
        DeployFact(
            repository=repository,
            values={
                "source": "github",
                "external_id": f"deployment-{_get(payload, 'deployment.id', int)}",
                "service": repository.rstrip("/").rsplit("/", 1)[-1],
                "environment": _get(payload, "deployment_status.environment", required=False)
                or _get(payload, "deployment.environment"),
                "sha": _sha(_get(payload, "deployment.sha"), "deployment.sha"),
                "status": state,
                "started_at": _time(payload, "deployment.created_at", required=False),
                "finished_at": changed if state in ("succeeded", "failed") else None,
                "url": _get(payload, "deployment_status.environment_url", required=False)
                or _get(payload, "deployment_status.log_url", required=False),
            },
        )
    )


def _github_workflow_run(payload: dict, facts: ForgeFacts) -> None:
    run = _get(payload, "workflow_run", dict)
    run_id, attempt = str(_get(payload, "workflow_run.id", int)), str(run.get("run_attempt") or 1)
    created = _time(payload, "workflow_run.created_at")
    done = run.get("status") == "completed"
    facts.runs.append(
        RunFact(
            repository=_github_repository(payload),
            trace_id=_trace("github", run_id, attempt),
            provider="github",
            run_id=run_id,
            attempt=attempt,
            name=_get(payload, "workflow_run.name", required=False),
            branch=_get(payload, "workflow_run.head_branch", required=False),
            sha=_get(payload, "workflow_run.head_sha", required=False),
            url=_get(payload, "workflow_run.html_url", required=False),
            result=GITHUB_RESULTS.get(_word(run.get("conclusion"))) if done else None,
            started_at=created,  # queue time included: created, then run_started_at
            finished_at=_time(payload, "workflow_run.updated_at") if done else created,
        )
    )


def _github_workflow_job(payload: dict, facts: ForgeFacts) -> None:
    job = _get(payload, "workflow_job", dict)
    if job.get("status") != "completed" or not job.get("started_at"):
        return  # the finished job has all its times; earlier events add nothing lasting
    run_id, attempt = (
        str(_get(payload, "workflow_job.run_id", int)),
        str(job.get("run_attempt") or 1),
    )
    trace_id = _trace("github", run_id, attempt)
    created, started = (
        _time(payload, "workflow_job.created_at"),
        _time(payload, "workflow_job.started_at"),
    )
    finished = _time(payload, "workflow_job.completed_at")
    job_span = _span_id("github-job", _get(payload, "workflow_job.id", int))
    root = f"{traceid.pipeline_root_span_id(int(trace_id, 16)):016x}"
    result = GITHUB_RESULTS.get(_word(job.get("conclusion")), "success")
    queued = (started - created).total_seconds()
    rows = [
        _step_row(
            trace_id,
            job_span,
            root,
            _get(payload, "workflow_job.name"),
            started,
            finished,
            result,
            {
                "cicd.pipeline.task.run.url.full": job.get("html_url"),
                "leadtime.queued_seconds": queued,
            },
        )
    ]
    for step in items(job.get("steps")):
        began, ended = _time(step, "started_at", False), _time(step, "completed_at", False)
        if not isinstance(step, dict) or began is None or ended is None:
            continue  # skipped steps have no times
        rows.append(
            _step_row(
                trace_id,
                _span_id("github-step", job["id"], step.get("number")),
                job_span,
                _get(step, "name"),
                began,
                ended,
                GITHUB_RESULTS.get(_word(step.get("conclusion")), "success"),
                {},
            )
        )
    facts.runs.append(
        RunFact(
            repository=_github_repository(payload),
            trace_id=trace_id,
            provider="github",
            run_id=run_id,
            attempt=attempt,
            name=_get(payload, "workflow_job.workflow_name", required=False),
            branch=_get(payload, "workflow_job.head_branch", required=False),
            sha=_get(payload, "workflow_job.head_sha", required=False),
            url=None,
            result=None,
            started_at=created,
            finished_at=finished,
            steps=rows,
        )
    )


# GitLab -----------------------------------------------------------------------------------------

GITLAB_DEPLOY_STATES = {
    "success": "succeeded",
    "failed": "failed",
    "canceled": "cancelled",
    "running": "in_progress",
    "created": "queued",
}
GITLAB_RESULTS = {"success": "success", "failed": "failure", "canceled": "cancellation"}


def _gitlab_repository(payload: dict) -> str:
    url = _get(payload, "project.web_url", required=False)
    if url:
        return url
    return f"https://gitlab.com/{_get(payload, 'project.path_with_namespace')}"


def gitlab_facts(payload: dict) -> ForgeFacts:
    handlers = {
        "merge_request": _gitlab_merge_request,
        "push": _gitlab_push,
        "pipeline": _gitlab_pipeline,
        "deployment": _gitlab_deployment,
    }
    facts = ForgeFacts()
    kind = _word(payload.get("object_kind"))
    if kind in handlers:
        handlers[kind](payload, facts)
    return facts


def _gitlab_merge_request(payload: dict, facts: ForgeFacts) -> None:
    mr = _get(payload, "object_attributes", dict)
    if mr.get("action") != "merge" or not mr.get("merge_commit_sha"):
        return  # not a merge; a fast-forward merge has no merge commit: its push tells
    default = _get(payload, "project.default_branch", required=False)
    if default and mr.get("target_branch") != default:
        return
    facts.merges.append(
        MergeFact(
            repository=_gitlab_repository(payload),
            sha=_sha(mr["merge_commit_sha"], "object_attributes.merge_commit_sha"),
            # The merge event carries no merged_at; it is sent as the merge happens.
            merged_at=_time(payload, "object_attributes.updated_at"),
            merged_at_source="merge",
            source="gitlab",
            title=_get(payload, "object_attributes.title", required=False),
            pr_number=_get(payload, "object_attributes.iid", int, required=False),
            pr_title=_get(payload, "object_attributes.title", required=False),
            pr_url=_get(payload, "object_attributes.url", required=False),
        )
    )


def _gitlab_push(payload: dict, facts: ForgeFacts) -> None:
    default = _get(payload, "project.default_branch", required=False) or "main"
    after = _get(payload, "after")
    if _get(payload, "ref") != f"refs/heads/{default}" or after == ZERO_SHA:
        return
    commits = [c for c in items(payload.get("commits")) if isinstance(c, dict)]
    newest = next((c for c in commits if c.get("id") == after), commits[-1] if commits else {})
    committed = _time(newest, "timestamp", required=False) if newest else None
    if committed is None:
        raise BadPayload("commits[].timestamp of the pushed commit must be a time")
    before = payload.get("before")
    facts.merges.append(
        MergeFact(
            repository=_gitlab_repository(payload),
            sha=_sha(after, "after"),
            parent_sha=_sha(before, "before") if before and before != ZERO_SHA else None,
            merged_at=committed,
            merged_at_source="commit",
            source="gitlab",
            title=(_word(newest.get("title")) or _word(newest.get("message"))).split("\n")[0]
            or None,
            author=_get(payload, "user_username", required=False),
        )
    )


def _gitlab_pipeline(payload: dict, facts: ForgeFacts) -> None:
    pipeline = _get(payload, "object_attributes", dict)
    run_id = str(_get(payload, "object_attributes.id", int))
    trace_id = _trace("gitlab", run_id, None)
    created = _time(payload, "object_attributes.created_at")
    finished = _time(payload, "object_attributes.finished_at", required=False)
    root = f"{traceid.pipeline_root_span_id(int(trace_id, 16)):016x}"
    rows = []
    for build in items(payload.get("builds")):
        if not isinstance(build, dict):
            continue
        began = _time(build, "started_at", required=False)
        ended = _time(build, "finished_at", required=False)
        if began is None or ended is None:
            continue  # not run yet (or skipped, or manual)
        rows.append(
            _step_row(
                trace_id,
                _span_id("gitlab-job", _get(build, "id", int)),
                root,
                _get(build, "name"),
                began,
                ended,
                GITLAB_RESULTS.get(_word(build.get("status")), "success"),
                {"gitlab.stage": build.get("stage")},
            )
        )
    facts.runs.append(
        RunFact(
            repository=_gitlab_repository(payload),
            trace_id=trace_id,
            provider="gitlab",
            run_id=run_id,
            attempt=None,
            name=_get(payload, "object_attributes.name", required=False) or "pipeline",
            branch=_get(payload, "object_attributes.ref", required=False),
            sha=_get(payload, "object_attributes.sha", required=False),
            url=_get(payload, "object_attributes.url", required=False),
            result=GITLAB_RESULTS.get(_word(pipeline.get("status"))) if finished else None,
            started_at=created,
            finished_at=finished or created,
            steps=rows,
        )
    )


def _gitlab_deployment(payload: dict, facts: ForgeFacts) -> None:
    state = GITLAB_DEPLOY_STATES.get(_word(payload.get("status")))
    if state is None:
        return
    # No full sha in the event: it is the last segment of commit_url.
    commit_url = _get(payload, "commit_url")
    repository = _gitlab_repository(payload)
    changed = _time(payload, "status_changed_at")
    facts.deploys.append(
        DeployFact(
            repository=repository,
            values={
                "source": "gitlab",
                "external_id": f"deployment-{_get(payload, 'deployment_id', int)}",
                "service": repository.rstrip("/").rsplit("/", 1)[-1],
                "environment": _get(payload, "environment"),
                "sha": _sha(commit_url.rstrip("/").rsplit("/", 1)[-1], "commit_url"),
                "status": state,
                "started_at": changed if state == "in_progress" else None,
                "finished_at": changed if state in ("succeeded", "failed", "cancelled") else None,
                "url": _get(payload, "deployable_url", required=False),
            },
        )
    )


def parse(body: bytes) -> dict:
    return load_json(body)
