"""Spans as the CI emitters that exist send them (tests/data/emitters/, each built from the
emitter's source or test data), posted to a real server: each is a main-branch run with a build
job and a production deploy job, and must give the run's identity, its steps (no queue span, no
stage counted twice, the root not a step), one mergeset, one deploy and the right lead time.
What to expect is read off the payload, never off leadtime's answer."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from tests.server.emitters import recorded

SHA = "9f3c2a1b7d4e5f60718293a4b5c6d7e8f90a1b2c"


@dataclass(frozen=True)
class Case:
    emitter: str
    run: dict  # the run's identity, each value read where that emitter puts it
    deploy_span: str  # the span that is the deploy
    merged_at: str | None  # the commit time the emitter sends; None: the run's start
    rule: str | None = None  # a job-name deploy rule, where the emitter marks no deploy
    waiting: tuple[str, ...] = ()  # spans that are waiting or grouping, never steps
    skipped: tuple[str, ...] = ()  # spans of steps that never ran
    repository: str = "acme/shop"
    # GitLab's stages: spans with a parent and no attributes, named as a job may be
    bare_spans_group: bool = False
    group_prefixes: tuple[str, ...] = ()  # Jenkins' phases and stages

    def is_step(self, span: dict) -> bool:
        if self.bare_spans_group and span.get("parentSpanId") and not span["attributes"]:
            return False
        return span["name"] not in self.waiting and not span["name"].startswith(self.group_prefixes)


def _resource_of(payload: dict, key: str, request: int = -1):
    (resource_spans,) = payload["requests"][request]["resourceSpans"]
    return recorded.attributes(resource_spans["resource"])[key]


def _root(payload: dict) -> dict:
    (root,) = [span for span, _ in recorded.spans(payload) if not span.get("parentSpanId")]
    return root


def _cases() -> list[Case]:
    github = recorded.load("github_receiver")
    gitlab = recorded.load("gitlab_receiver")
    jenkins = recorded.load("jenkins_legacy")
    jenkins_otel = recorded.load("jenkins_semconv")
    action = recorded.load("otel_cicd_action")
    action_root = recorded.attributes(_root(action))
    jenkins_root = recorded.attributes(_root(jenkins))
    jenkins_otel_root = recorded.attributes(_root(jenkins_otel))
    return [
        Case(
            "github_receiver",
            {
                "run_id": str(_resource_of(github, "cicd.pipeline.run.id")),
                "name": _resource_of(github, "cicd.pipeline.name"),
                "branch": _resource_of(github, "vcs.ref.head"),
                "url": _resource_of(github, "cicd.pipeline.run.url.full"),
                "result": _resource_of(github, "cicd.pipeline.run.status"),
                "provider": "github",
            },
            deploy_span="deploy-production",
            merged_at=None,
            rule="deploy-prod*",
            waiting=("queue-build", "queue-deploy-production", "ci"),
            skipped=("Run make docs",),
        ),
        Case(
            "gitlab_receiver",
            {
                "run_id": str(_resource_of(gitlab, "cicd.pipeline.run.id")),
                "name": _resource_of(gitlab, "cicd.pipeline.name"),
                "branch": _resource_of(gitlab, "vcs.ref.head.name"),
                "url": _resource_of(gitlab, "cicd.pipeline.run.url.full"),
                "result": _resource_of(gitlab, "cicd.pipeline.result"),
                "provider": "gitlab",
            },
            deploy_span="deploy-production",
            merged_at=_resource_of(gitlab, "vcs.ref.head.revision.timestamp"),
            waiting=("Add checkout retries",),
            skipped=("docs", "deploy-staging"),
            repository="acme/platform/shop",
            bare_spans_group=True,
        ),
        Case(
            "jenkins_legacy",
            {
                "run_id": "{}#{}".format(
                    jenkins_root["ci.pipeline.id"], jenkins_root["ci.pipeline.run.number"]
                ),
                "name": jenkins_root["ci.pipeline.name"],
                "branch": recorded.attributes(
                    recorded.named(jenkins, "git: github.com/acme/shop")[0]
                )["git.branch"],
                "url": jenkins_root["ci.pipeline.run.url"],
                "result": "success",  # SUCCESS
                "provider": "jenkins",
            },
            deploy_span="Stage: Deploy production",
            merged_at=None,
            rule="deploy prod*",
            waiting=("BUILD shop/main", "Agent Allocation"),
            skipped=("Stage: Docs",),
            group_prefixes=("Phase: ", "Stage: "),
        ),
        Case(
            "jenkins_semconv",
            {
                "run_id": jenkins_otel_root["cicd.pipeline.run.id"],
                "name": jenkins_otel_root["cicd.pipeline.name"],
                "branch": "main",
                "url": jenkins_otel_root["cicd.pipeline.run.url.full"],
                "result": jenkins_otel_root["cicd.pipeline.result"],
                "provider": "jenkins",
            },
            deploy_span="Stage: Deploy production",
            merged_at=None,
            waiting=("BUILD shop/main", "Agent Allocation"),
            skipped=("Stage: Docs",),
            group_prefixes=("Phase: ", "Stage: "),
        ),
        Case(
            "otel_cicd_action",
            {
                "run_id": str(action_root["cicd.pipeline.run.id"]),
                "name": action_root["cicd.pipeline.name"],
                "branch": action_root["github.head_branch"],
                "url": action_root["cicd.pipeline.run.url.full"],
                "result": action_root["cicd.pipeline.result"],
                "provider": "github",
            },
            deploy_span="deploy-production",
            merged_at=action_root["github.head_commit.timestamp"],
            rule="deploy-prod*",
            waiting=("Queued", "CI"),
        ),
    ]


CASES = _cases()


def _post_all(client, payload: dict) -> None:
    for request in payload["requests"]:
        answer = client.post("/v1/traces", json=request)
        assert answer.status_code == 200, answer.text
        assert "partialSuccess" not in answer.json(), answer.json()


def _flat(steps: list[dict]) -> list[dict]:
    return [node for step in steps for node in (step, *_flat(step["children"]))]


def _commit_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace(" UTC", "+00:00").replace("Z", "+00:00"))


@pytest.mark.parametrize("case", CASES, ids=[case.emitter for case in CASES])
def test_an_emitter_s_run_gives_its_identity_steps_mergeset_deploy_and_lead_time(client, case):
    payload = recorded.load(case.emitter)
    if case.rule:
        answer = client.put(
            "/api/deploy-rules",
            json={"repository": case.repository, "job": case.rule, "environment": "production"},
        )
        assert answer.status_code == 200, answer.text
    _post_all(client, payload)

    run = client.get(f"/api/pipelines/{recorded.trace_id(payload)}").json()
    assert {key: run[key] for key in case.run} == case.run
    assert run["sha"] == SHA

    steps = _flat(run["steps"])
    roles = {(step["name"], step["role"] == "step") for step in steps}
    expected_roles = {(span["name"], case.is_step(span)) for span, _ in recorded.spans(payload)}
    expected_roles |= {(f"queue-{job}", False) for job in _gitlab_queues(payload)}
    assert roles == expected_roles
    steps = {step["name"]: step for step in steps}
    for name in case.skipped:
        assert steps[name]["result"] == "skip"  # never a success, whatever its status said

    (mergeset,) = client.get("/api/mergesets").json()
    assert mergeset["sha"] == SHA
    (deploy,) = client.get("/api/deploys").json()
    assert (deploy["sha"], deploy["environment"], deploy["status"]) == (
        SHA,
        "production",
        "succeeded",
    )
    deploy_span, _ = recorded.named(payload, case.deploy_span)
    merged = (
        _commit_time(case.merged_at)
        if case.merged_at
        else min(recorded.start(span) for span, _ in recorded.spans(payload))
    )
    expected = (recorded.end(deploy_span) - merged).total_seconds()
    assert mergeset["lead_time_seconds"] == pytest.approx(expected, abs=0.01)
    assert deploy["repository"] == mergeset["repository"]


@pytest.mark.parametrize("case", CASES, ids=[case.emitter for case in CASES])
def test_an_emitter_s_waiting_and_stages_are_never_slow_steps(client, case):
    payload = recorded.load(case.emitter)
    _post_all(client, payload)
    report = client.get(
        "/api/reports/slowest-steps", params={"repo": case.repository, "window": _window()}
    )
    assert report.status_code == 200, report.text
    rows = report.json()["steps"]
    runs = {step["name"]: step["runs"] for step in rows if step["kind"] == "step"}
    # A stage and its job of the same name (GitLab's build stage and build job) count once.
    expected = Counter(span["name"] for span, _ in recorded.spans(payload) if case.is_step(span))
    assert runs == dict(expected)
    assert not set(case.waiting) & set(runs)
    queued = {step["name"]: step["p50"] for step in rows if step["kind"] == "queued"}
    assert queued == pytest.approx(_expected_queues(payload))
    assert not any(step["slow"] for step in rows if step["kind"] == "queued")


QUEUE_NAMES = ("Queued", "Agent Allocation")


def _gitlab_queues(payload: dict) -> dict[str, float]:
    """Seconds each GitLab job waited for a runner, as the receiver says (queued_duration)."""
    found = {}
    for span, _ in recorded.spans(payload):
        attributes = recorded.attributes(span)
        if attributes.get("gitlab.job.queued_duration"):
            found[attributes["cicd.pipeline.task.name"]] = attributes["gitlab.job.queued_duration"]
    return found


def _expected_queues(payload: dict) -> dict[str, float]:
    """`queued: <job>` -> seconds, from the payload's queue spans (named after their job, or
    under it) and GitLab's queued durations."""
    by_id = {span["spanId"]: span for span, _ in recorded.spans(payload)}
    queued: dict[str, float] = {f"queued: {job}": s for job, s in _gitlab_queues(payload).items()}
    for span, _ in recorded.spans(payload):
        name = span["name"]
        if not (name.startswith("queue-") or name in QUEUE_NAMES):
            continue
        parent = by_id.get(span.get("parentSpanId", ""))
        under_job = parent is not None and name == "Queued"  # otel-cicd-action's, in its job
        job = parent["name"] if under_job else name.removeprefix("queue-")
        seconds = (recorded.end(span) - recorded.start(span)).total_seconds()
        queued[f"queued: {job}"] = queued.get(f"queued: {job}", 0.0) + seconds
    return queued


def _window() -> str:
    """Back far enough to hold the recorded runs (2026-11-20), whenever the test runs."""
    days = (datetime.now(UTC) - datetime(2026, 11, 1, tzinfo=UTC)) / timedelta(days=1)
    return f"{max(int(days) + 1, 30)}d"
