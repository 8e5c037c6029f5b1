"""One bad span never decides an OTLP request: each span is checked alone, by rules that are the
same on SQLite and PostgreSQL, and a bad one is rejected in partial_success with its reason while
the other 99 are stored. No attribute shape is ever a 500 (retried forever) or a 400 for the whole
request (never retried: 99 good spans lost)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from tests.server import otlp_payloads as otlp
from tests.server.conftest import count_rows

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
TRACE = "6c8efff798038103d269b633813fc60c"
SHA = "8f2d6c1e0b9a4d7c3e5f1a2b6c8d0e4f7a9b1c3d"
CI = {
    "cicd.pipeline.name": "ci",
    "cicd.pipeline.run.id": "91",
    "leadtime.ci.provider": "github",
    "vcs.repository.url.full": "https://github.com/acme/shop",
    "vcs.ref.head.name": "main",
    "vcs.ref.head.revision": SHA,
}
BAD_SPAN_ID = "f" * 15 + "0"


def _span(index: int, name: str | None = None) -> dict:
    start = T0 + timedelta(seconds=index)
    return otlp.span(
        TRACE, f"{index + 1:016x}", name or f"step-{index}", start, start + timedelta(seconds=3), CI
    )


def _with_attribute(key: str, value: dict, also: dict | None = None) -> dict:
    span = _span(99)
    for other, other_value in (also or {}).items():
        span["attributes"].append({"key": other, "value": other_value})
    span["attributes"].append({"key": key, "value": value})  # the last of a key is the one read
    return span


def _array(*items: dict) -> dict:
    return {"arrayValue": {"values": list(items)}}


def _text(text: str) -> dict:
    return {"stringValue": text}


def _deploy_with(key: str, value: dict) -> dict:
    return _with_attribute(key, value, {"deployment.environment.name": _text("production")})


def _times(span: dict, start: str, end: str) -> dict:
    span["startTimeUnixNano"], span["endTimeUnixNano"] = start, end
    return span


YEAR_1 = "0001-01-01T00:00:00+01:00"
BAD_SPANS = {
    "NUL in the name": (
        lambda: {**_with_attribute("x", _text("ok")), "name": "build\u0000"},
        "NUL",
    ),
    "NUL in a string value": (
        lambda: _with_attribute("cicd.pipeline.task.name", _text("a\0b")),
        "NUL",
    ),
    "NUL in a key": (lambda: _with_attribute("custom\u0000key", _text("x")), "NUL"),
    "NUL inside an array": (lambda: _with_attribute("tags", _array(_text("\0"))), "NUL"),
    "exit code over 2^31": (
        lambda: _with_attribute("process.exit.code", {"intValue": str(2**31)}),
        "process.exit.code",
    ),
    "exit code as text": (
        lambda: _with_attribute("process.exit.code", _text("1")),
        "process.exit.code",
    ),
    "revision as an array": (
        lambda: _with_attribute("vcs.ref.head.revision", _array(_text(SHA))),
        "vcs.ref.head.revision",
    ),
    "pipeline name as a kvlist": (
        lambda: _with_attribute(
            "cicd.pipeline.name", {"kvlistValue": {"values": [{"key": "a", "value": _text("b")}]}}
        ),
        "cicd.pipeline.name",
    ),
    "environment as an array": (
        lambda: _deploy_with("deployment.environment.name", _array(_text("production"))),
        "deployment.environment.name",
    ),
    "revision too long for any sha": (
        lambda: _with_attribute("vcs.ref.head.revision", _text("a" * 65)),
        "vcs.ref.head.revision",
    ),
    "history revisions as integers": (
        lambda: _deploy_with("leadtime.deploy.history.revisions", _array({"intValue": "1"})),
        "leadtime.deploy.history.revisions",
    ),
    "committed at year 1": (
        lambda: _with_attribute("leadtime.commit.committed_at", _text(YEAR_1)),
        "leadtime.commit.committed_at",
    ),
    "history time at year 1": (
        lambda: _deploy_with("leadtime.deploy.history.committed_at", _array(_text(YEAR_1))),
        "leadtime.deploy.history.committed_at",
    ),
    "shallow flag as text": (
        lambda: _deploy_with("leadtime.deploy.history.shallow", _text("yes")),
        "leadtime.deploy.history.shallow",
    ),
    "a double that is not a number": (
        lambda: _with_attribute("load", {"doubleValue": "NaN"}),
        "not a finite number",
    ),
    "an end time in the year 2554": (
        lambda: _times(_span(99), otlp.nanos(T0), str(2**64 - 1)),
        "time",
    ),
    "a start time in 1970": (lambda: _times(_span(99), "1", otlp.nanos(T0)), "time"),
}


@pytest.mark.parametrize("case", list(BAD_SPANS))
def test_one_bad_span_in_a_hundred_is_rejected_alone_with_its_reason(client, engine, case):
    make_bad, reason = BAD_SPANS[case]
    bad = make_bad()
    bad["spanId"] = BAD_SPAN_ID
    body = otlp.request([_span(index) for index in range(99)] + [bad])
    response = client.post("/v1/traces", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text
    partial = response.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "1"
    assert reason in partial["errorMessage"] and "spans[99]" in partial["errorMessage"]
    steps = client.get(f"/api/pipelines/{TRACE}").json()["steps"]
    assert len(steps) == 99 and BAD_SPAN_ID not in str(steps)
    assert count_rows(engine)["deploys"] == 0


def test_a_resource_with_a_bad_attribute_rejects_its_own_spans_only(client):
    good = otlp.request([_span(index) for index in range(3)])
    bad = otlp.request([_span(index) for index in range(3, 5)], service="shop\0")
    document = json.loads(good)
    document["resourceSpans"] += json.loads(bad)["resourceSpans"]
    response = client.post("/v1/traces", json=document)
    assert response.status_code == 200, response.text
    partial = response.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "2" and "resource" in partial["errorMessage"]
    assert len(client.get(f"/api/pipelines/{TRACE}").json()["steps"]) == 3


def test_long_free_text_is_cut_to_fit_not_refused(client):
    """A pipeline's name or a commit's author is what people wrote: kept, cut to its column."""
    span = _span(0)
    span["attributes"] = [a for a in span["attributes"] if a["key"] != "cicd.pipeline.name"]
    span["attributes"].append({"key": "cicd.pipeline.name", "value": _text("n" * 5000)})
    span["attributes"].append({"key": "leadtime.commit.author", "value": _text("a" * 5000)})
    response = client.post(
        "/v1/traces", content=otlp.request([span]), headers={"content-type": "application/json"}
    )
    assert response.status_code == 200 and "partialSuccess" not in response.json()
    run = client.get(f"/api/pipelines/{TRACE}").json()
    assert run["name"] == "n" * 300


def test_the_official_exporter_s_protobuf_batch_keeps_its_good_spans(client, live_server):
    """What an SDK sends: one span with an exit code out of range among good ones, protobuf."""
    exporter = OTLPSpanExporter(endpoint=f"{live_server.url}/v1/traces", timeout=10)
    provider = TracerProvider(resource=Resource.create({"service.name": "billing"}))
    processor = BatchSpanProcessor(
        exporter, max_export_batch_size=512, schedule_delay_millis=60_000
    )
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("pipeline") as root:
        for index in range(5):
            exit_code = 2**40 if index == 3 else index
            with tracer.start_as_current_span(f"step-{index}") as step:
                step.set_attribute("process.exit.code", exit_code)
    provider.shutdown()  # one export of all six spans
    trace_id = f"{root.get_span_context().trace_id:032x}"
    steps = client.get(f"/api/pipelines/{trace_id}").json()["steps"]
    names = sorted(child["name"] for child in steps[0]["children"])
    assert steps[0]["name"] == "pipeline" and names == ["step-0", "step-1", "step-2", "step-4"]
