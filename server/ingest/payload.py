"""Reading a webhook's JSON body: fields by path with the kind they must be, times, shas, and the
run, job and step ids a forge's events are turned into. A field that an event must carry and
does not is a BadPayload naming it."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from leadtime.server.errors import BadPayload
from leadtime.server.timeparse import parse_time
from leadtime.tracer import traceid

ZERO_SHA = "0" * 40  # a push's `before` for a new branch, its `after` for a deleted one
KIND_NAMES = {str: "a string", int: "a number", dict: "an object", (str, int): "a time"}


def load_json(body: bytes) -> dict:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BadPayload(f"body is not JSON: {error}") from error
    except RecursionError as error:  # deeper than any webhook's payload
        raise BadPayload("body is JSON nested too deeply") from error
    if not isinstance(payload, dict):
        raise BadPayload("body must be a JSON object")
    return payload


def mapping(value: Any) -> dict:
    """A payload's object field, or an empty one when it is anything else."""
    return value if isinstance(value, dict) else {}


def items(value: Any) -> list:
    """A payload's list field, or no items when it is anything else."""
    return value if isinstance(value, list) else []


def text(value: Any) -> str | None:
    """A string field stripped, or None when it is empty or anything else."""
    return value.strip() or None if isinstance(value, str) else None


def word(value: Any) -> str:
    """A payload's enum-like field as a string ("" when it is anything else)."""
    return value if isinstance(value, str) else ""


def get(payload: dict, path: str, kind: Any = str, required: bool = True) -> Any:
    """payload["a"]["b"] for path "a.b" when it is a `kind`; else None, or a BadPayload naming
    the field when it is required."""
    value: Any = payload
    for key in path.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    if isinstance(value, kind) and not isinstance(value, bool):
        return value
    if required:
        raise BadPayload(f"{path} is missing or not {KIND_NAMES.get(kind, 'a value')}")
    return None


def time_at(payload: dict, path: str, required: bool = True) -> datetime | None:
    value = get(payload, path, (str, int), required)
    parsed = parse_time(value) if value is not None else None
    if parsed is None and required:
        raise BadPayload(f"{path}: {value!r} is not a time")
    return parsed


def required_time(payload: dict, path: str) -> datetime:
    found = time_at(payload, path)
    assert found is not None  # time_at raised otherwise
    return found


def sha(value: Any, where: str) -> str:
    if (
        not isinstance(value, str)
        or len(value) < 7
        or any(c not in "0123456789abcdef" for c in value.lower())
    ):
        raise BadPayload(f"{where}: {value!r} is not a commit sha")
    return value.lower()


# Runs, jobs and steps from a forge's events ------------------------------------------------------


def trace_id(provider: str, run_id: str, attempt: str | None) -> str:
    # The tracer's own derivation, so spans from `leadtime step` join the same run.
    return f"{traceid.pipeline_trace_id(provider, run_id, attempt):032x}"


def root_span_id(trace: str) -> str:
    return f"{traceid.pipeline_root_span_id(int(trace, 16)):016x}"


def span_id(*parts: object) -> str:
    digest = hashlib.blake2b("/".join(map(str, parts)).encode(), digest_size=8).hexdigest()
    return digest if digest != "0" * 16 else "1" * 16


def step_row(
    trace: str,
    span: str,
    parent: str | None,
    name: str,
    started: datetime,
    finished: datetime,
    result: str,
    attributes: dict,
    role: str = "step",
) -> dict:
    """A Step row for a job or step a forge reported (no span of its own); `role` as the emitter
    adapters give it (ingest/emitters): a job and its steps are steps, its wait a queue."""
    return {
        "trace_id": trace,
        "span_id": span,
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
        "role": role,
        "cache_hit": None,
    }


# Pagers' fields ---------------------------------------------------------------------------------


def iso_time(value: Any, where: str) -> datetime:
    parsed = parse_time(value) if isinstance(value, str) else None
    if parsed is None:
        raise BadPayload(f"{where}: {value!r} is not an ISO 8601 time")
    return parsed


def object_at(payload: dict, key: str, where: str) -> dict:
    value = payload.get(key)
    if not isinstance(value, dict):
        raise BadPayload(f"{where}{key} must be an object")
    return value
