"""Hand-written OTLP/JSON requests, as the OTLP specification's JSON mapping writes them."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta

import httpx


def nanos(moment: datetime) -> str:
    return str(int(moment.timestamp() * 1_000_000_000))


def value(v) -> dict:
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, list):
        return {"arrayValue": {"values": [value(item) for item in v]}}
    return {"stringValue": str(v)}


def span(
    trace_id: str,
    span_id: str,
    name: str,
    start: datetime,
    end: datetime,
    attributes: dict | None = None,
    parent: str | None = None,
    status: int = 0,
) -> dict:
    body = {
        "traceId": trace_id,
        "spanId": span_id,
        "name": name,
        "kind": 1,
        "startTimeUnixNano": nanos(start),
        "endTimeUnixNano": nanos(end),
        "attributes": [{"key": k, "value": value(v)} for k, v in (attributes or {}).items()],
        "status": {"code": status},
    }
    if parent:
        body["parentSpanId"] = parent
    return body


def request(spans: list[dict], service: str = "shop", scope: str = "test") -> bytes:
    return json.dumps(
        {
            "resourceSpans": [
                {
                    "resource": {
                        "attributes": [{"key": "service.name", "value": {"stringValue": service}}]
                    },
                    "scopeSpans": [{"scope": {"name": scope}, "spans": spans}],
                }
            ]
        }
    ).encode()


REPO = "https://github.com/acme/shop"


def ci(branch: str, sha: str, run: int) -> dict:
    return {
        "vcs.repository.url.full": REPO,
        "vcs.ref.head.name": branch,
        "vcs.ref.head.revision": sha,
        "cicd.pipeline.name": "ci",
        "cicd.pipeline.run.id": str(run),
    }


def post_run(
    client,
    run: int,
    start: datetime,
    steps: list[tuple],
    branch="feature/x",
    sha="f" * 40,
    extra: dict | None = None,
) -> str:
    """A run of sequential steps: (name, seconds, result); returns its trace id."""
    trace = f"{run:032x}"
    spans, cursor = [], start
    for index, (name, seconds, result) in enumerate(steps):
        end = cursor + timedelta(seconds=seconds)
        attributes = {
            **ci(branch, sha, run),
            "cicd.pipeline.task.run.result": result,
            **(extra or {}).get(name, {}),
        }
        spans.append(
            span(
                trace,
                f"{run:08x}{index:08x}",
                name,
                cursor,
                end,
                attributes,
                status=2 if result == "failure" else 0,
            )
        )
        cursor = end
    response = client.post(
        "/v1/traces", content=request(spans), headers={"content-type": "application/json"}
    )
    assert response.status_code == 200, response.text
    return trace


QUEUED_SECONDS = 180
QUEUED_RUN_STEPS = (("checkout", 20), ("compile", 100))


def post_queued_run(
    client,
    run: int,
    start: datetime,
    sha: str,
    deploy: bool = False,
    queued_seconds: int = QUEUED_SECONDS,
) -> None:
    """A main-branch run whose build job waits `queued_seconds` for a runner (a queue span
    under it), then runs QUEUED_RUN_STEPS; with `deploy`, a production deploy follows."""
    trace = f"{run:032x}"
    root, job, queue = f"{run:08x}00000001", f"{run:08x}00000002", f"{run:08x}00000003"
    attributes = ci("main", sha, run)
    cursor = start + timedelta(seconds=queued_seconds)
    spans = [
        span(
            trace,
            queue,
            "queue-build",
            start,
            cursor,
            {"cicd.pipeline.run.queue.duration": queued_seconds * 10**9},
            parent=job,
        ),
    ]
    for index, (name, seconds) in enumerate(QUEUED_RUN_STEPS):
        end = cursor + timedelta(seconds=seconds)
        spans.append(
            span(trace, f"{run:08x}1{index:07x}", name, cursor, end, attributes, parent=job)
        )
        cursor = end
    job_span = span(trace, job, "build", start, cursor, attributes, parent=root)
    spans.append(job_span)
    if deploy:
        end = cursor + timedelta(seconds=60)
        spans.append(
            span(
                trace,
                f"{run:08x}00000004",
                "deploy",
                cursor,
                end,
                {**attributes, "deployment.environment.name": "production"},
                parent=root,
            )
        )
        cursor = end
    root_span = span(
        trace, root, "RUN ci", start, cursor, {**attributes, "cicd.pipeline.result": "success"}
    )
    root_span["kind"] = 2
    spans.append(root_span)
    answer = client.post(
        "/v1/traces", content=request(spans), headers={"content-type": "application/json"}
    )
    assert answer.status_code == 200 and "partialSuccess" not in answer.json()


SHAS = ("1" * 40, "2" * 40, "3" * 40)
CHECKOUT = (10, 20, 30, 40, 50, 60)
HIT, MISS = 30, 150
MISSED_RUNS = (2, 5)
E2E_SECONDS = 20


def post_tested_run(client, number: int, sha: str, attempt: int, start: datetime) -> None:
    """Run `number` of the tests-and-caches history (tests/server/test_tests_and_caches.py)."""
    trace = f"{number + 1:032x}"
    run = {**ci("main", sha, 200 + SHAS.index(sha)), "cicd.pipeline.run.attempt": str(attempt)}
    missed = number in MISSED_RUNS
    install_end = start + timedelta(seconds=MISS if missed else HIT)
    install = span(
        trace,
        f"{number:08x}00000001",
        "install",
        start,
        install_end,
        {**run, "leadtime.cache.hit": not missed},
    )
    cases = [
        ("cart.test_checkout", CHECKOUT[number], "pass"),
        ("cart.test_flaky", 1, "fail" if attempt == 1 else "pass"),
        ("cart.test_broken", 2, "fail"),
        ("cart.test_fast", 0.5, "pass"),
    ]
    unit_id = f"{number:08x}00000002"
    cursor, tests = install_end, []
    for index, (name, seconds, status) in enumerate(cases):
        end = cursor + timedelta(seconds=seconds)
        attributes = {"test.case.name": name, "test.case.result.status": status}
        tests.append(
            span(trace, f"{number:08x}1000000{index}", name, cursor, end, attributes, unit_id)
        )
        cursor = end
    failed = any(status == "fail" for _, _, status in cases)
    unit_attributes = {**run, "cicd.pipeline.task.run.result": "failure" if failed else "success"}
    unit = span(trace, unit_id, "unit", install_end, cursor, unit_attributes)
    e2e = span(
        trace,
        f"{number:08x}00000003",
        "e2e",
        cursor,
        cursor + timedelta(seconds=E2E_SECONDS),
        {**run, "cicd.pipeline.task.run.result": "failure" if attempt == 1 else "success"},
    )
    body = request([install, unit, e2e, *tests])
    posted = client.post("/v1/traces", content=body, headers={"content-type": "application/json"})
    assert posted.status_code == 200, posted.text


def post_at_once(url: str, bodies: list[bytes], clients: int = 8) -> list[int]:
    """Each body posted to `/v1/traces` once, by `clients` threads at the same time (each its
    own connection, every `clients`-th body); the answers' statuses."""
    answers: list[int] = []

    def post(mine: list[bytes]) -> None:
        with httpx.Client(base_url=url, timeout=60) as own:
            for body in mine:
                response = own.post(
                    "/v1/traces", content=body, headers={"content-type": "application/json"}
                )
                answers.append(response.status_code)

    threads = [threading.Thread(target=post, args=(bodies[n::clients],)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers
