"""One run, two tools: the collector's GitHub receiver sends a workflow run's jobs and steps, and
the same run's `leadtime step` (a real tracer process, GitHub Actions variables) sends its own
spans. Either way they are one pipeline run: with LEADTIME_TRACE_IDS=github-receiver the tracer
derives the receiver's ids and its step nests under the receiver's job span; without it the
server joins them by (provider, run id, attempt)."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.conftest import clean_env, run_leadtime
from tests.server.emitters import recorded


def _github_env(tmp_path, url: str, payload: dict, **extra: str) -> dict[str, str]:
    run_resource = recorded.attributes(payload["requests"][-1]["resourceSpans"][0]["resource"])
    return clean_env(
        tmp_path,
        LEADTIME_URL=url,
        GITHUB_ACTIONS="true",
        GITHUB_RUN_ID=str(run_resource["cicd.pipeline.run.id"]),
        GITHUB_RUN_ATTEMPT="1",
        GITHUB_JOB="build",
        GITHUB_WORKFLOW="ci",
        GITHUB_REPOSITORY="acme/shop",
        GITHUB_SERVER_URL="https://github.com",
        GITHUB_REF="refs/heads/main",
        GITHUB_REF_NAME="main",
        GITHUB_SHA=run_resource["vcs.ref.head.revision"],
        **extra,
    )


def _post(url: str, payload: dict) -> None:
    for request in payload["requests"]:
        assert httpx.post(f"{url}/v1/traces", json=request, timeout=30).status_code == 200


def _steps(url: str, trace: str) -> list[dict]:
    answer = httpx.get(f"{url}/api/pipelines/{trace}", timeout=30)
    assert answer.status_code == 200, answer.text

    def flat(nodes):
        return [node for step in nodes for node in (step, *flat(step["children"]))]

    return flat(answer.json()["steps"])


def _job_id(payload: dict, job: str) -> int:
    for request in payload["requests"]:
        resource = recorded.attributes(request["resourceSpans"][0]["resource"])
        if resource.get("cicd.pipeline.name") == job and "cicd.pipeline.task.run.id" in resource:
            return resource["cicd.pipeline.task.run.id"]
    raise AssertionError(f"no job {job}")


def test_derived_ids_nest_a_leadtime_step_under_the_receiver_s_job(served, tmp_path):
    payload = recorded.load("github_receiver")
    job_span, _ = recorded.named(payload, "build")
    env = _github_env(
        tmp_path,
        served,
        payload,
        LEADTIME_TRACE_IDS="github-receiver",
        LEADTIME_GITHUB_CHECK_RUN_ID=str(_job_id(payload, "build")),
    )
    done = run_leadtime(["step", "unit tests", "--", "true"], env)
    assert done.returncode == 0, done.stderr
    _post(served, payload)
    steps = {step["name"]: step for step in _steps(served, recorded.trace_id(payload))}
    assert steps["unit tests"]["parent_span_id"] == job_span["spanId"]
    assert steps["unit tests"]["role"] == "step"


@pytest.mark.parametrize("leadtime_first", [True, False], ids=["leadtime-first", "receiver-first"])
def test_without_derived_ids_the_server_joins_the_run_by_its_id(served, tmp_path, leadtime_first):
    payload = recorded.load("github_receiver")
    trace_file = tmp_path / "spans.jsonl"
    env = _github_env(tmp_path, served, payload, LEADTIME_TRACE_FILE=str(trace_file))
    if not leadtime_first:
        _post(served, payload)
    done = run_leadtime(["step", "unit tests", "--", "true"], env)
    assert done.returncode == 0, done.stderr
    if leadtime_first:
        _post(served, payload)
    (line,) = trace_file.read_text().splitlines()
    (own_trace,) = {
        span["traceId"]
        for resource_spans in json.loads(line)["resourceSpans"]
        for scope_spans in resource_spans["scopeSpans"]
        for span in scope_spans["spans"]
    }
    receiver_trace = recorded.trace_id(payload)
    assert own_trace != receiver_trace
    kept, gone = (own_trace, receiver_trace) if leadtime_first else (receiver_trace, own_trace)
    names = {step["name"] for step in _steps(served, kept)}
    assert {"unit tests", "build", "Run make build", "ci"} <= names
    assert httpx.get(f"{served}/api/pipelines/{gone}", timeout=30).status_code == 404
