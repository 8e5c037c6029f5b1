"""GitLab webhooks (`/webhooks/gitlab`): verified by GitLab's signing token (Standard Webhooks,
`webhook-signature`, LEADTIME_GITLAB_SIGNING_TOKEN) when GitLab sends one, else by X-Gitlab-Token
(LEADTIME_GITLAB_WEBHOOK_TOKEN); deduplicated on Idempotency-Key (or webhook-id):

- merge request merged into the default branch: a mergeset at the merge's time, with the MR's
  number, title and URL;
- push to the default branch: a mergeset whose first parent is what main was before;
- pipeline: a pipeline run with its jobs (the tracer's trace id);
- deployment: a deploy (success, failed, canceled, running, created).

Any other event gives no facts and a 2xx: GitLab disables a hook that keeps getting 4xx.
"""

from __future__ import annotations

import hmac
from datetime import timedelta

from leadtime.server.errors import BadPayload, Unauthorized
from leadtime.server.ingest import payload as p
from leadtime.server.ingest.facts import DeployFact, Facts, MergesetFact, RepoRef, RunFact
from leadtime.server.ingest.source import Headers, WebhookSource, secret_value
from leadtime.server.settings import Settings
from leadtime.server.signatures import verify_standard_webhook

DEPLOY_STATES = {
    "success": "succeeded",
    "failed": "failed",
    "canceled": "cancelled",
    "running": "in_progress",
    "created": "queued",
}
RESULTS = {"success": "success", "failed": "failure", "canceled": "cancellation"}
DAY = 86400  # a queued_duration longer than this is no queue: a stuck or broken report


def verify_token(body: bytes, headers: Headers, token: str | None, signing_key: str | None) -> None:
    """A `webhook-signature` (GitLab's signing token) when GitLab sends one, else
    X-Gitlab-Token, the secret itself; compared in constant time either way."""
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


def verify(body: bytes, headers: Headers, settings: Settings) -> None:
    verify_token(
        body,
        headers,
        secret_value(settings.gitlab_webhook_token),
        secret_value(settings.gitlab_signing_token),
    )


def parse(body: bytes, headers: Headers) -> Facts:
    return facts_of(p.load_json(body))


def facts_of(payload: dict) -> Facts:
    handlers = {
        "merge_request": _merge_request,
        "push": _push,
        "pipeline": _pipeline,
        "deployment": _deployment,
    }
    facts = Facts()
    kind = p.word(payload.get("object_kind"))
    if kind in handlers:
        handlers[kind](payload, facts)
    return facts


def _repository(payload: dict) -> RepoRef:
    url = p.get(payload, "project.web_url", required=False)
    return RepoRef(url or f"https://gitlab.com/{p.get(payload, 'project.path_with_namespace')}")


def _merge_request(payload: dict, facts: Facts) -> None:
    mr = p.get(payload, "object_attributes", dict)
    if mr.get("action") != "merge" or not mr.get("merge_commit_sha"):
        return  # not a merge; a fast-forward merge has no merge commit: its push tells
    default = p.get(payload, "project.default_branch", required=False)
    if default and mr.get("target_branch") != default:
        return
    title = p.get(payload, "object_attributes.title", required=False)
    facts.mergesets.append(
        MergesetFact(
            repo=_repository(payload),
            sha=p.sha(mr["merge_commit_sha"], "object_attributes.merge_commit_sha"),
            # The merge event carries no merged_at; it is sent as the merge happens.
            merged_at=p.required_time(payload, "object_attributes.updated_at"),
            merged_at_source="merge",
            source="gitlab",
            title=title,
            pr_number=p.get(payload, "object_attributes.iid", int, required=False),
            pr_title=title,
            pr_url=p.get(payload, "object_attributes.url", required=False),
        )
    )


def _push(payload: dict, facts: Facts) -> None:
    default = p.get(payload, "project.default_branch", required=False) or "main"
    after = p.get(payload, "after")
    if p.get(payload, "ref") != f"refs/heads/{default}" or after == p.ZERO_SHA:
        return
    commits = [c for c in p.items(payload.get("commits")) if isinstance(c, dict)]
    newest = next((c for c in commits if c.get("id") == after), commits[-1] if commits else {})
    committed = p.time_at(newest, "timestamp", required=False) if newest else None
    if committed is None:
        raise BadPayload("commits[].timestamp of the pushed commit must be a time")
    before = payload.get("before")
    subject = (p.word(newest.get("title")) or p.word(newest.get("message"))).split("\n")[0]
    facts.mergesets.append(
        MergesetFact(
            repo=_repository(payload),
            sha=p.sha(after, "after"),
            parent_sha=p.sha(before, "before") if before and before != p.ZERO_SHA else None,
            merged_at=committed,
            merged_at_source="commit",
            source="gitlab",
            title=subject or None,
            author=p.get(payload, "user_username", required=False),
        )
    )


def _pipeline(payload: dict, facts: Facts) -> None:
    pipeline = p.get(payload, "object_attributes", dict)
    run_id = str(p.get(payload, "object_attributes.id", int))
    trace = p.trace_id("gitlab", run_id, None)
    created = p.required_time(payload, "object_attributes.created_at")
    finished = p.time_at(payload, "object_attributes.finished_at", required=False)
    root = p.root_span_id(trace)
    for build in p.items(payload.get("builds")):
        if not isinstance(build, dict):
            continue
        began = p.time_at(build, "started_at", required=False)
        ended = p.time_at(build, "finished_at", required=False)
        if began is None or ended is None:
            continue  # not run yet (or skipped, or manual)
        name = p.get(build, "name")
        facts.steps.append(
            p.step_row(
                trace,
                p.span_id("gitlab-job", p.get(build, "id", int)),
                root,
                name,
                began,
                ended,
                RESULTS.get(p.word(build.get("status")), "success"),
                {"gitlab.stage": build.get("stage")},
            )
        )
        queued = build.get("queued_duration")  # seconds the job waited for a runner
        if isinstance(queued, int | float) and not isinstance(queued, bool) and 0 < queued < DAY:
            facts.steps.append(
                p.step_row(
                    trace,
                    p.span_id("gitlab-queue", build["id"]),
                    root,
                    f"queue-{name}",
                    began - timedelta(seconds=queued),
                    began,
                    "success",
                    {},
                    role="queue",
                )
            )
    facts.runs.append(
        RunFact(
            repo=_repository(payload),
            trace_id=trace,
            provider="gitlab",
            run_id=run_id,
            name=p.get(payload, "object_attributes.name", required=False) or "pipeline",
            branch=p.get(payload, "object_attributes.ref", required=False),
            sha=p.get(payload, "object_attributes.sha", required=False),
            url=p.get(payload, "object_attributes.url", required=False),
            result=RESULTS.get(p.word(pipeline.get("status"))) if finished else None,
            started_at=created,
            finished_at=finished or created,
        )
    )


def _deployment(payload: dict, facts: Facts) -> None:
    state = DEPLOY_STATES.get(p.word(payload.get("status")))
    if state is None:
        return
    # No full sha in the event: it is the last segment of commit_url.
    commit_url = p.get(payload, "commit_url")
    repository = _repository(payload)
    changed = p.required_time(payload, "status_changed_at")
    facts.deploys.append(
        DeployFact(
            repo=repository,
            source="gitlab",
            external_id=f"deployment-{p.get(payload, 'deployment_id', int)}",
            service=str(repository.url).rstrip("/").rsplit("/", 1)[-1],
            environment=p.get(payload, "environment"),
            sha=p.sha(commit_url.rstrip("/").rsplit("/", 1)[-1], "commit_url"),
            status=state,
            started_at=changed if state == "in_progress" else None,
            finished_at=changed if state in ("succeeded", "failed", "cancelled") else None,
            url=p.get(payload, "deployable_url", required=False),
        )
    )


SOURCE = WebhookSource(
    name="gitlab",
    summary="GitLab webhooks: merge request (merged), push (to the default branch), pipeline "
    "and deployment events.",
    parse=parse,
    verify=verify,
    delivery_headers=("idempotency-key", "webhook-id"),
)
