"""Reading the recorded emitter payloads in tests/data/emitters/ (OTLP/JSON requests, as each
emitter writes them; each file's `_source` says from what): their spans and resources, so tests
work out what to expect from the payload itself."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "data" / "emitters"


def load(name: str) -> dict:
    return json.loads((DATA / f"{name}.json").read_text())


def _value(node: dict):
    ((kind, raw),) = node.items()
    return int(raw) if kind == "intValue" else raw


def attributes(node: dict) -> dict:
    return {kv["key"]: _value(kv["value"]) for kv in node.get("attributes", [])}


def spans(payload: dict) -> list[tuple[dict, dict]]:
    """Every span with its resource's attributes, in order."""
    found = []
    for request in payload["requests"]:
        for resource_spans in request["resourceSpans"]:
            resource = attributes(resource_spans["resource"])
            for scope_spans in resource_spans["scopeSpans"]:
                found.extend((span, resource) for span in scope_spans["spans"])
    return found


def named(payload: dict, name: str) -> tuple[dict, dict]:
    (found,) = [(span, resource) for span, resource in spans(payload) if span["name"] == name]
    return found


def start(span: dict) -> datetime:
    return datetime.fromtimestamp(int(span["startTimeUnixNano"]) / 1e9, UTC)


def end(span: dict) -> datetime:
    return datetime.fromtimestamp(int(span["endTimeUnixNano"]) / 1e9, UTC)


def trace_id(payload: dict) -> str:
    (trace,) = {span["traceId"] for span, _ in spans(payload)}
    return trace
