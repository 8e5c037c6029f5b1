"""Hand-written OTLP/JSON requests, as the OTLP specification's JSON mapping writes them."""

from __future__ import annotations

import json
from datetime import datetime, timedelta


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


def request(spans: list[dict], service: str = "shop") -> bytes:
    return json.dumps(
        {
            "resourceSpans": [
                {
                    "resource": {
                        "attributes": [{"key": "service.name", "value": {"stringValue": service}}]
                    },
                    "scopeSpans": [{"scope": {"name": "test"}, "spans": spans}],
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
