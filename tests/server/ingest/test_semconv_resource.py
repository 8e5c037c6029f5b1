"""Spans shaped as semantic conventions v1.43+ shape them: the run's and the repository's
identity on the resource (entities `cicd.pipeline`, `cicd.pipeline.run`, `vcs.repository`,
`vcs.ref`), the span carrying only its own result. They give the run its id, name, branch,
sha, url and result, a mergeset and a production deploy, as leadtime's own spans do."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from tests.server import otlp_payloads as otlp

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
TRACE = "7d8efff798038103d269b633813fc60c"
SHA = "2b9e6f1a0c3d4e5f60718293a4b5c6d7e8f90a1b"
RESOURCE = {
    "service.name": "shop",
    "cicd.pipeline.name": "deploy-main",
    "cicd.pipeline.run.id": "5521",
    "cicd.pipeline.run.url.full": "https://github.com/acme/shop/actions/runs/5521",
    "vcs.repository.url.full": "https://github.com/acme/shop",
    "vcs.ref.head.name": "main",
    "vcs.ref.head.revision": SHA,
}


def _request() -> bytes:
    root = otlp.span(
        TRACE,
        "a000000000000001",
        "RUN deploy-main",
        T0,
        T0 + timedelta(minutes=9),
        {"cicd.pipeline.result": "success"},
    )
    build = otlp.span(
        TRACE,
        "a000000000000002",
        "build",
        T0,
        T0 + timedelta(minutes=4),
        {"cicd.pipeline.task.run.result": "success"},
        parent="a000000000000001",
    )
    deploy = otlp.span(
        TRACE,
        "a000000000000003",
        "deploy production",
        T0 + timedelta(minutes=5),
        T0 + timedelta(minutes=9),
        {"cicd.pipeline.task.run.result": "success", "deployment.environment.name": "production"},
        parent="a000000000000001",
    )
    document = json.loads(otlp.request([root, build, deploy]))
    document["resourceSpans"][0]["resource"]["attributes"] = [
        {"key": key, "value": otlp.value(value)} for key, value in RESOURCE.items()
    ]
    return json.dumps(document).encode()


def test_run_identity_on_the_resource_makes_a_run_a_mergeset_and_a_deploy(client):
    answer = client.post(
        "/v1/traces", content=_request(), headers={"content-type": "application/json"}
    )
    assert answer.status_code == 200 and "partialSuccess" not in answer.json()
    run = client.get(f"/api/pipelines/{TRACE}").json()
    assert (run["run_id"], run["name"], run["branch"], run["sha"], run["result"]) == (
        "5521",
        "deploy-main",
        "main",
        SHA,
        "success",
    )
    assert run["url"] == RESOURCE["cicd.pipeline.run.url.full"]
    (mergeset,) = client.get("/api/mergesets").json()
    assert mergeset["sha"] == SHA and mergeset["repository"] == RESOURCE["vcs.repository.url.full"]
    (deploy,) = client.get("/api/deploys").json()
    assert (deploy["sha"], deploy["environment"], deploy["status"]) == (
        SHA,
        "production",
        "succeeded",
    )


def test_the_span_s_own_value_wins_over_its_resource(client):
    document = json.loads(_request())
    build = document["resourceSpans"][0]["scopeSpans"][0]["spans"][1]
    build["attributes"].append({"key": "vcs.ref.head.name", "value": {"stringValue": "feature/y"}})
    for span in document["resourceSpans"][0]["scopeSpans"][0]["spans"]:
        if span["name"] != "build":
            span["attributes"].append(
                {"key": "vcs.ref.head.name", "value": {"stringValue": "feature/y"}}
            )
    client.post("/v1/traces", json=document)
    assert client.get(f"/api/pipelines/{TRACE}").json()["branch"] == "feature/y"
    assert client.get("/api/mergesets").json() == []  # not main, whatever the resource says


RAW_RESULTS = [
    ("cicd.pipeline.task.run.result", "failed", "failure"),  # GitLab
    ("cicd.pipeline.task.run.result", "cancelled", "cancellation"),  # GitHub
    ("cicd.pipeline.task.run.result", "timed_out", "timeout"),
    ("cicd.pipeline.run.task.status", "skipped", "skip"),  # an older key
    ("cicd.pipeline.task.run.result", "UNSTABLE", "failure"),  # Jenkins
    ("cicd.pipeline.task.run.result", "ABORTED", "cancellation"),
    ("cicd.pipeline.task.run.result", "NOT_BUILT", "skip"),
    ("cicd.pipeline.task.run.result", "success", "success"),
    ("cicd.pipeline.task.run.result", "queued-forever", "queued-forever"),  # kept as it is
]


def test_each_emitter_s_results_read_in_the_conventions_words(client):
    spans = []
    for index, (key, raw, _) in enumerate(RAW_RESULTS):
        start = T0 + timedelta(minutes=index)
        # status UNSET (0) throughout: a skip or a cancel must not become a success
        spans.append(
            otlp.span(
                TRACE,
                f"b{index:015x}",
                f"job-{index}",
                start,
                start + timedelta(seconds=30),
                {key: raw},
            )
        )
    root = otlp.span(
        TRACE,
        "c000000000000001",
        "RUN ci",
        T0,
        T0 + timedelta(minutes=10),
        {"cicd.pipeline.run.status": "FAILURE"},
    )
    answer = client.post(
        "/v1/traces",
        content=otlp.request([root, *spans]),
        headers={"content-type": "application/json"},
    )
    assert answer.status_code == 200
    run = client.get(f"/api/pipelines/{TRACE}").json()
    assert run["result"] == "failure"
    steps = {step["name"]: step for step in run["steps"]}
    for index, (_, raw, expected) in enumerate(RAW_RESULTS):
        step = steps[f"job-{index}"]
        assert step["result"] == expected, (raw, step["result"])
        kept = step.get("attributes", {}).get("leadtime.result.raw")
        assert kept == (raw if raw != expected else None), (raw, kept)
