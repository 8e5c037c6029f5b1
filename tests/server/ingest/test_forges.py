"""GitHub and GitLab webhooks against a live server: verified, idempotent, a clear 4xx on bad
input, and combined with what spans said. Payloads have the shapes of the forges' documented
examples (octokit/webhooks payload examples, GitLab's webhook events page), cut to what matters;
signatures are computed here with the secret."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import time

import httpx
import pytest

from leadtime.server.ingest.github import verify_signature as verify_github
from leadtime.server.signatures import verify_standard_webhook
from leadtime.tracer import traceid
from tests.factories import load_payload
from tests.server.conftest import LiveServer, count_rows, settings_for, wipe
from tests.server.forges import GITHUB_SECRET, MERGED, PULL_REQUEST_MERGED, REPO, github
from tests.server.otlp_payloads import post_run

GITLAB_TOKEN = "gitlab-secret-token"
SIGNING_KEY = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

PUSH = load_payload("github_push")
DEPLOYMENT_STATUS = load_payload("github_deployment_status")
WORKFLOW_RUN = load_payload("github_workflow_run")
WORKFLOW_JOB = load_payload("github_workflow_job")

GITLAB_PROJECT = {
    "id": 14,
    "path_with_namespace": "octo/app",
    "default_branch": "main",
    "web_url": "https://gitlab.example.com/octo/app",
}

GITLAB_MERGE = load_payload("gitlab_merge_request")
GITLAB_PIPELINE = load_payload("gitlab_pipeline")
GITLAB_DEPLOYMENT = load_payload("gitlab_deployment")


@pytest.fixture
def forge(engine, db_url):
    settings = settings_for(
        db_url,
        auth="off",
        github_webhook_secret=GITHUB_SECRET,
        gitlab_webhook_token=GITLAB_TOKEN,
        gitlab_signing_token=SIGNING_KEY,
    )
    with LiveServer(settings) as server:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            yield client
        wipe(engine)


def gitlab(client, payload: dict, token: str | None = GITLAB_TOKEN, **headers):
    sent = {"content-type": "application/json", **headers}
    if token is not None:
        sent["x-gitlab-token"] = token
    return client.post("/webhooks/gitlab", content=json.dumps(payload).encode(), headers=sent)


def mergesets(client) -> dict[str, dict]:
    return {m["sha"]: m for m in client.get("/api/mergesets").json()}


# Verification ----------------------------------------------------------------------------------


def test_githubs_documented_test_vector_verifies():
    signature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    verify_github(b"Hello, World!", signature, "It's a Secret to Everybody")


def test_the_standard_webhooks_test_vector_verifies():
    headers = {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }
    verify_standard_webhook(b'{"test": 2432232314}', headers, SIGNING_KEY, now=1614265330)


def test_github_signatures_and_content_type(forge, engine):
    body = json.dumps(PULL_REQUEST_MERGED).encode()
    base = {"content-type": "application/json", "x-github-event": "pull_request"}
    missing = forge.post("/webhooks/github", content=body, headers=base)
    assert missing.status_code == 401
    assert missing.json()["error"]["message"] == "X-Hub-Signature-256 is missing"
    wrong = forge.post(
        "/webhooks/github", content=body, headers={**base, "x-hub-signature-256": "sha256=00"}
    )
    assert wrong.status_code == 401 and "does not match" in wrong.json()["error"]["message"]
    form = github(
        forge,
        "pull_request",
        PULL_REQUEST_MERGED,
        **{"content-type": "application/x-www-form-urlencoded"},
    )
    assert form.status_code == 415 and "application/json" in form.json()["error"]["message"]
    assert count_rows(engine)["mergesets"] == 0


def test_without_a_secret_github_and_gitlab_deliveries_are_refused(client, engine):
    refused = github(client, "pull_request", PULL_REQUEST_MERGED)
    assert refused.status_code == 401
    assert "LEADTIME_GITHUB_WEBHOOK_SECRET" in refused.json()["error"]["message"]
    refused = gitlab(client, GITLAB_MERGE)
    assert refused.status_code == 401
    assert "LEADTIME_GITLAB_WEBHOOK_TOKEN" in refused.json()["error"]["message"]
    assert count_rows(engine)["mergesets"] == 0


# GitHub events ---------------------------------------------------------------------------------


def test_a_merged_pull_request_is_a_mergeset_with_its_merge_time(forge):
    response = github(forge, "pull_request", PULL_REQUEST_MERGED, delivery="d-1")
    assert response.status_code == 202 and response.json() == {"accepted": 1, "duplicate": False}
    merged = mergesets(forge)[MERGED]
    assert merged["merged_at"].startswith("2026-11-20T10:04:11")
    assert (merged["pr_number"], merged["pr_title"], merged["pr_author"]) == (
        42,
        "Speed up build cache",
        "alice",
    )
    assert merged["pr_url"] == "https://github.com/octo/app/pull/42"
    assert merged["repository"] == REPO
    again = github(forge, "pull_request", PULL_REQUEST_MERGED, delivery="d-1")
    assert again.json() == {"accepted": 0, "duplicate": True}
    assert len(mergesets(forge)) == 1


def test_prs_that_did_not_merge_into_main_are_not_mergesets(forge):
    closed = copy.deepcopy(PULL_REQUEST_MERGED)
    closed["pull_request"].update(merged=False, merged_at=None)  # merge_commit_sha stays set
    other_base = copy.deepcopy(PULL_REQUEST_MERGED)
    other_base["pull_request"]["base"]["ref"] = "release-1.2"
    opened = {**PULL_REQUEST_MERGED, "action": "opened"}
    for payload in (closed, other_base, opened):
        assert github(forge, "pull_request", payload).status_code == 202
    assert mergesets(forge) == {}


def test_the_prs_merge_time_beats_what_a_span_said(forge):
    # A main-branch pipeline run of the merge commit arrives first: merged_at is its start.
    started = "2026-11-20T10:30:00+00:00"
    from datetime import datetime

    post_run(
        forge,
        5,
        datetime.fromisoformat(started),
        [("build", 60, "success")],
        branch="main",
        sha=MERGED,
        extra={"build": {"vcs.repository.url.full": REPO}},
    )
    assert mergesets(forge)[MERGED]["merged_at"] != "2026-11-20T10:04:11Z"
    github(forge, "pull_request", PULL_REQUEST_MERGED)
    combined = mergesets(forge)
    assert len(combined) == 1  # one mergeset with the best facts of both
    assert combined[MERGED]["merged_at"].startswith("2026-11-20T10:04:11")
    assert combined[MERGED]["pr_number"] == 42


def test_a_push_to_main_is_a_mergeset_after_what_main_was(forge):
    assert github(forge, "push", PUSH).json()["accepted"] == 1
    merged = mergesets(forge)[MERGED]
    assert merged["merged_at"].startswith("2026-11-20T10:04:12")  # the push, not the commit
    assert merged["title"] == "Merge pull request #42 from octo/alice/cache"
    assert merged["author"] == "alice"
    github(forge, "pull_request", PULL_REQUEST_MERGED)
    assert mergesets(forge)[MERGED]["merged_at"].startswith("2026-11-20T10:04:11")  # PR wins

    other = {**PUSH, "ref": "refs/heads/feature", "after": "3" * 40}
    deleted = {**PUSH, "after": "0" * 40}
    tag = {**PUSH, "ref": "refs/tags/v1.0", "after": "4" * 40}
    for payload in (other, deleted, tag):
        assert github(forge, "push", payload).json()["accepted"] == 0
    assert set(mergesets(forge)) == {MERGED}


def test_deployment_statuses_are_one_deploy_and_give_lead_time(forge):
    github(forge, "pull_request", PULL_REQUEST_MERGED)
    running = copy.deepcopy(DEPLOYMENT_STATUS)
    running["deployment_status"].update(state="in_progress", created_at="2026-11-20T10:25:05Z")
    assert github(forge, "deployment_status", running).json()["accepted"] == 1
    inactive = copy.deepcopy(DEPLOYMENT_STATUS)
    inactive["deployment_status"]["state"] = "inactive"
    assert github(forge, "deployment_status", inactive).json()["accepted"] == 0
    github(forge, "deployment_status", DEPLOYMENT_STATUS)
    (deploy,) = forge.get("/api/deploys").json()
    assert (deploy["service"], deploy["environment"], deploy["sha"], deploy["status"]) == (
        "app",
        "production",
        MERGED,
        "succeeded",
    )
    assert deploy["source"] == "github" and deploy["external_id"] == "deployment-145988746"
    assert deploy["started_at"].startswith("2026-11-20T10:25:02")
    merged = mergesets(forge)[MERGED]
    assert merged["lead_time_seconds"] == 27 * 60 + 29  # 10:04:11 to 10:31:40


def test_a_late_in_progress_after_success_leaves_the_deploy_and_its_lead_time(forge):
    github(forge, "pull_request", PULL_REQUEST_MERGED)
    assert github(forge, "deployment_status", DEPLOYMENT_STATUS).json()["accepted"] == 1
    late = copy.deepcopy(DEPLOYMENT_STATUS)
    late["deployment_status"].update(state="in_progress", created_at="2026-11-20T10:25:05Z")
    answer = github(forge, "deployment_status", late)
    assert 200 <= answer.status_code < 300  # a 2xx, so GitHub does not disable the hook
    (deploy,) = forge.get("/api/deploys").json()
    assert deploy["status"] == "succeeded" and deploy["finished_at"].startswith(
        "2026-11-20T10:31:40"
    )
    assert mergesets(forge)[MERGED]["lead_time_seconds"] == 27 * 60 + 29
    earlier = copy.deepcopy(DEPLOYMENT_STATUS)
    earlier["deployment_status"].update(state="failure", created_at="2026-11-20T10:30:00Z")
    github(forge, "deployment_status", earlier)  # a final report older than the stored one
    (deploy,) = forge.get("/api/deploys").json()
    assert deploy["status"] == "succeeded"


def test_workflow_runs_and_jobs_give_the_pipeline_with_queue_time(forge):
    github(forge, "workflow_run", WORKFLOW_RUN)
    github(forge, "workflow_job", WORKFLOW_JOB)
    queued = copy.deepcopy(WORKFLOW_JOB)
    queued["workflow_job"].update(status="queued", started_at=None, completed_at=None)
    assert github(forge, "workflow_job", queued).json()["accepted"] == 0
    # the same trace id `leadtime step` derives inside that run, so spans and webhooks join
    trace = f"{traceid.pipeline_trace_id('github', '2202229078', '1'):032x}"
    run = forge.get(f"/api/pipelines/{trace}").json()
    assert (run["provider"], run["run_id"], run["branch"], run["result"]) == (
        "github",
        "2202229078",
        "main",
        "success",
    )
    assert run["started_at"].startswith("2026-11-20T10:04:30")
    job, queue = sorted(run["steps"], key=lambda step: step["role"] == "queue")
    assert job["name"] == "build" and job["attributes"]["leadtime.queued_seconds"] == 58
    # the wait for a runner, created_at -> started_at: a queue, never a step
    assert (queue["name"], queue["role"], queue["duration_seconds"]) == ("queue-build", "queue", 58)
    assert queue["finished_at"] == job["started_at"]
    assert [step["name"] for step in job["children"]] == ["Set up job", "Run tests"]
    assert job["children"][1]["duration_seconds"] == 729


def test_pings_and_other_events_are_accepted_and_ignored(forge, engine):
    ping = {"zen": "Keep it logically awesome.", "hook_id": 1, "hook": {}}
    assert github(forge, "ping", ping).status_code == 202
    assert github(forge, "issues", {"action": "opened"}).status_code == 202
    assert sum(count_rows(engine)[t] for t in ("mergesets", "deploys", "pipeline_runs")) == 0


def test_a_merged_pr_without_its_sha_is_a_clear_400(forge, engine):
    broken = copy.deepcopy(PULL_REQUEST_MERGED)
    del broken["pull_request"]["merge_commit_sha"]
    response = github(forge, "pull_request", broken)
    assert response.status_code == 400
    assert "pull_request.merge_commit_sha" in response.json()["error"]["message"]
    assert count_rows(engine)["mergesets"] == 0
    assert count_rows(engine)["webhook_deliveries"] == 0  # a fixed redelivery is still new


# GitLab events ---------------------------------------------------------------------------------


def test_gitlab_token(forge, engine):
    assert gitlab(forge, GITLAB_MERGE, token=None).status_code == 401
    wrong = gitlab(forge, GITLAB_MERGE, token="guess")
    assert wrong.status_code == 401
    assert wrong.json()["error"]["message"] == "X-Gitlab-Token is not the configured token"
    assert count_rows(engine)["mergesets"] == 0


def test_gitlab_signing_token(forge):
    body = json.dumps(GITLAB_MERGE).encode()
    stamp = str(int(time.time()))
    key = base64.b64decode(SIGNING_KEY.removeprefix("whsec_"))
    signed = f"msg-1.{stamp}.".encode() + body
    signature = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    headers = {
        "content-type": "application/json",
        "webhook-id": "msg-1",
        "webhook-timestamp": stamp,
    }
    good = forge.post(
        "/webhooks/gitlab",
        content=body,
        headers={**headers, "webhook-signature": f"v1,{signature}"},
    )
    assert good.status_code == 202 and good.json()["accepted"] == 1
    stale = {
        **headers,
        "webhook-timestamp": str(int(stamp) - 600),
        "webhook-signature": f"v1,{signature}",
    }
    assert forge.post("/webhooks/gitlab", content=body, headers=stale).status_code == 401
    bad = {**headers, "webhook-id": "msg-2", "webhook-signature": f"v1,{signature}"}
    response = forge.post("/webhooks/gitlab", content=body, headers=bad)
    assert response.status_code == 401 and "does not match" in response.json()["error"]["message"]


def test_gitlab_merge_pipeline_and_deployment(forge):
    assert gitlab(forge, GITLAB_MERGE, **{"idempotency-key": "k-1"}).json()["accepted"] == 1
    assert gitlab(forge, GITLAB_MERGE, **{"idempotency-key": "k-1"}).json()["duplicate"] is True
    merged = mergesets(forge)[MERGED]
    assert merged["merged_at"].startswith("2026-11-20T10:04:11")
    assert (merged["pr_number"], merged["pr_url"]) == (
        42,
        "https://gitlab.example.com/octo/app/-/merge_requests/42",
    )
    assert merged["repository"] == "https://gitlab.example.com/octo/app"

    assert gitlab(forge, GITLAB_PIPELINE).json()["accepted"] == 1
    trace = f"{traceid.pipeline_trace_id('gitlab', '31', None):032x}"
    run = forge.get(f"/api/pipelines/{trace}").json()
    # the manual job never ran; the unit job waited 88 s for a runner (builds[].queued_duration)
    steps = {step["name"]: step for step in run["steps"]}
    assert set(steps) == {"unit", "queue-unit"}
    assert (steps["queue-unit"]["role"], steps["queue-unit"]["duration_seconds"]) == ("queue", 88)
    assert steps["queue-unit"]["finished_at"] == steps["unit"]["started_at"]
    assert run["finished_at"].startswith("2026-11-20T10:31:45") and run["result"] == "success"

    assert gitlab(forge, GITLAB_DEPLOYMENT).json()["accepted"] == 1
    (deploy,) = forge.get("/api/deploys").json()
    assert (deploy["sha"], deploy["status"], deploy["source"]) == (MERGED, "succeeded", "gitlab")
    assert deploy["finished_at"].startswith("2026-11-20T10:31:40")  # +0100 read as such
    assert mergesets(forge)[MERGED]["lead_time_seconds"] == 27 * 60 + 29


def test_gitlab_push_and_ignored_events(forge):
    push = {
        "object_kind": "push",
        "ref": "refs/heads/main",
        "before": "1" * 40,
        "after": MERGED,
        "checkout_sha": MERGED,
        "user_username": "bob",
        "project": GITLAB_PROJECT,
        "commits": [
            {
                "id": MERGED,
                "title": "Speed up build cache",
                "message": "Speed up build cache\n",
                "timestamp": "2026-11-20T11:04:09+01:00",
            }
        ],
        "total_commits_count": 1,
    }
    assert gitlab(forge, push).json()["accepted"] == 1
    merged = mergesets(forge)[MERGED]
    assert merged["merged_at"].startswith("2026-11-20T10:04:09")
    assert merged["title"] == "Speed up build cache"
    note = {"object_kind": "note", "project": GITLAB_PROJECT}
    assert gitlab(forge, note).json()["accepted"] == 0
    unmerged = copy.deepcopy(GITLAB_MERGE)
    unmerged["object_attributes"].update(action="update", merge_commit_sha=None)
    assert gitlab(forge, unmerged).json()["accepted"] == 0
    broken = copy.deepcopy(GITLAB_DEPLOYMENT)
    broken["commit_url"] = "https://gitlab.example.com/octo/app/-/commit/not-a-sha"
    response = gitlab(forge, broken)
    assert response.status_code == 400 and "commit_url" in response.json()["error"]["message"]
