"""Hand-written OTLP/JSON requests, as the OTLP specification's JSON mapping writes them."""

from __future__ import annotations

import json
from datetime import datetime


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
