"""POST /v1/traces: OTLP/HTTP in, pipeline runs, steps, deploys and mergesets stored; bad input
answered with a clear 4xx that leaves the database as it was."""

from __future__ import annotations

import base64
import gzip
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from leadtime.server.ingest import otlp as otlp_decoder
from leadtime.server.ingest.traces import facts_from_spans
from tests.server import otlp_payloads as otlp
from tests.server.conftest import LiveServer, count_rows, settings_for, wipe

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
TRACE = "5b8efff798038103d269b633813fc60c"
REPO = "https://github.com/acme/shop"
SHA = "8f2d6c1e0b9a4d7c3e5f1a2b6c8d0e4f7a9b1c3d"
PARENT = "1111111111111111111111111111111111111111"
CI = {
    "cicd.pipeline.name": "ci",
    "cicd.pipeline.run.id": "77",
    "leadtime.ci.provider": "github",
    "vcs.repository.url.full": REPO,
    "vcs.ref.head.name": "main",
    "vcs.ref.head.revision": SHA,
}


def main_pipeline_with_deploy() -> bytes:
    step = otlp.span(
        TRACE,
        "eee19b7ec3c1b174",
        "unit-tests",
        T0,
        T0 + timedelta(minutes=4),
        {
            **CI,
            "leadtime.commit.committed_at": (T0 - timedelta(minutes=2)).isoformat(),
            "cicd.pipeline.task.run.result": "success",
            "process.exit.code": 0,
        },
        parent="eee19b7ec3c1b173",
    )
    deploy = otlp.span(
        TRACE,
        "eee19b7ec3c1b175",
        "deploy production",
        T0 + timedelta(minutes=5),
        T0 + timedelta(minutes=9),
        {
            **CI,
            "deployment.environment.name": "production",
            "deployment.status": "succeeded",
            "deployment.id": "github-77-1",
            "cicd.pipeline.task.type": "deploy",
            "leadtime.deploy.history.revisions": [SHA, PARENT],
            "leadtime.deploy.history.committed_at": [
                (T0 - timedelta(minutes=2)).isoformat(),
                (T0 - timedelta(hours=3)).isoformat(),
            ],
            "leadtime.deploy.history.authors": ["ada@example.com", "bob@example.com"],
            "leadtime.deploy.history.subjects": [
                "Merge pull request #12",
                "Merge pull request #11",
            ],
        },
        parent="eee19b7ec3c1b173",
    )
    return otlp.request([step, deploy])


def post_json(client, body: bytes, **headers):
    return client.post(
        "/v1/traces", content=body, headers={"content-type": "application/json", **headers}
    )


def test_otlp_json_becomes_run_steps_deploy_and_mergesets(client):
    response = post_json(client, main_pipeline_with_deploy())
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {}  # full success: partial_success unset

    run = client.get(f"/api/pipelines/{TRACE}").json()
    assert run["name"] == "ci" and run["branch"] == "main" and run["sha"] == SHA
    assert [s["name"] for s in run["steps"]] == ["unit-tests", "deploy production"]
    assert run["duration_seconds"] == 9 * 60

    deploys = client.get("/api/deploys").json()
    assert [(d["service"], d["environment"], d["sha"], d["status"]) for d in deploys] == [
        ("shop", "production", SHA, "succeeded")
    ]
    # The first deploy ships its own mergeset; the older history it carries is context.
    assert [m["sha"] for m in deploys[0]["mergesets"]] == [SHA]
    assert deploys[0]["batched"] is False

    mergesets = {m["sha"]: m for m in client.get("/api/mergesets").json()}
    assert mergesets[SHA]["lead_time_seconds"] == 11 * 60  # merged 9:58, deployed 10:09
    assert mergesets[SHA]["over_budget"] is False and mergesets[SHA]["context"] is False
    parent = mergesets[PARENT]
    assert parent["context"] is True and parent["author"] == "bob@example.com"
    assert (parent["lead_time_seconds"], parent["waiting_seconds"]) == (None, None)
    breakdown = client.get(f"/api/mergesets/{PARENT}/breakdown")
    assert breakdown.status_code == 200 and breakdown.json()["parts"] == []
    assert client.get(f"/mergesets/{PARENT}", headers={"accept": "text/html"}).status_code == 200
    summary = client.get("/api/summary", params={"window": "3650d"}).json()
    assert summary["measured_since"] == (T0 - timedelta(minutes=2)).isoformat().replace(
        "+00:00", "Z"
    )
    assert (summary["mergesets_deployed"], summary["mergesets_waiting"]) == (1, 0)

    # Imported history moves the adoption point earlier: the parent, now known directly, counts.
    merged = (T0 - timedelta(hours=3)).isoformat()
    merge = {"repository": REPO, "sha": PARENT, "merged_at": merged}
    assert client.post("/api/merges", json=merge).status_code == 200
    deploys = client.get("/api/deploys").json()
    assert [m["sha"] for m in deploys[0]["mergesets"]] == [PARENT, SHA]
    mergesets = {m["sha"]: m for m in client.get("/api/mergesets").json()}
    assert mergesets[PARENT]["context"] is False
    assert mergesets[PARENT]["lead_time_seconds"] == 3 * 3600 + 9 * 60
    assert all(m["batched"] for m in mergesets.values())


def test_official_otel_exporter_protobuf_is_accepted(client, live_server):
    exporter = OTLPSpanExporter(endpoint=f"{live_server.url}/v1/traces", timeout=10)
    provider = TracerProvider(resource=Resource.create({"service.name": "billing"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    attributes = {**CI, "vcs.ref.head.name": "feature/x"}
    with (
        tracer.start_as_current_span("build", attributes=attributes) as build,
        tracer.start_as_current_span("compile"),
    ):
        pass
    provider.shutdown()
    trace_id = f"{build.get_span_context().trace_id:032x}"
    run = client.get(f"/api/pipelines/{trace_id}").json()
    assert run["branch"] == "feature/x"
    assert run["steps"][0]["name"] == "build"
    assert run["steps"][0]["service"] == "billing"
    assert [child["name"] for child in run["steps"][0]["children"]] == ["compile"]
    assert client.get("/api/mergesets").json() == []  # not on a main branch: no mergeset


def _protobuf(json_body: bytes) -> bytes:
    """The same request as OTLP protobuf, converted through the JSON mapping."""
    document = json.loads(json_body)
    for resource in document["resourceSpans"]:
        for scope in resource["scopeSpans"]:
            for span in scope["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:
                        span[key] = base64.b64encode(bytes.fromhex(span[key])).decode()
    return json_format.ParseDict(document, ExportTraceServiceRequest()).SerializeToString()


def test_gzip_protobuf_gets_a_protobuf_answer(client):
    response = client.post(
        "/v1/traces",
        content=gzip.compress(_protobuf(main_pipeline_with_deploy())),
        headers={"content-type": "application/x-protobuf", "content-encoding": "gzip"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-protobuf"
    assert (
        ExportTraceServiceResponse.FromString(response.content).HasField("partial_success") is False
    )
    assert len(client.get(f"/api/pipelines/{TRACE}").json()["steps"]) == 2


def test_the_same_spans_twice_are_stored_once(client, live_server):
    engine = live_server.app.state.engine
    assert post_json(client, main_pipeline_with_deploy()).status_code == 200
    once = count_rows(engine)
    assert post_json(client, main_pipeline_with_deploy()).status_code == 200
    assert count_rows(engine) == once
    assert once["steps"] == 2 and once["deploys"] == 1 and once["mergesets"] == 2


def test_unusable_spans_are_rejected_and_the_rest_kept(client):
    good = otlp.span(TRACE, "eee19b7ec3c1b174", "ok", T0, T0 + timedelta(seconds=5))
    backwards = otlp.span(TRACE, "eee19b7ec3c1b176", "backwards", T0, T0 - timedelta(seconds=5))
    short_id = otlp.span(TRACE, "eee19b", "short", T0, T0 + timedelta(seconds=5))
    response = post_json(client, otlp.request([good, backwards, short_id]))
    assert response.status_code == 200
    partial = response.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "2"
    assert "ends before it starts" in partial["errorMessage"]
    assert "span_id must be 8 bytes" in partial["errorMessage"]
    assert [s["name"] for s in client.get(f"/api/pipelines/{TRACE}").json()["steps"]] == ["ok"]


@pytest.mark.parametrize(
    ("body", "headers", "status", "message"),
    [
        (
            b"\xff\xfe not protobuf",
            {"content-type": "application/x-protobuf"},
            400,
            "not an OTLP ExportTraceServiceRequest",
        ),
        (b"{not json", {"content-type": "application/json"}, 400, "body is not JSON"),
        (b'{"resourceSpans": 7}', {"content-type": "application/json"}, 400, "not OTLP/JSON"),
        (
            b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz"}]}]}]}',
            {"content-type": "application/json"},
            400,
            "is not hex",
        ),
        (b"hello", {"content-type": "text/plain"}, 415, "send application/x-protobuf"),
        (
            b"\x1f\x8b\x08 broken gzip",
            {"content-type": "application/json", "content-encoding": "gzip"},
            400,
            "not valid gzip",
        ),
        (
            b"x",
            {"content-type": "application/json", "content-encoding": "br"},
            415,
            "send gzip or nothing",
        ),
    ],
)
def test_bad_bodies_get_a_clear_4xx_and_store_nothing(
    client, live_server, body, headers, status, message
):
    before = count_rows(live_server.app.state.engine)
    response = client.post("/v1/traces", content=body, headers=headers)
    assert response.status_code == status
    assert message in response.json()["error"]["message"]
    assert count_rows(live_server.app.state.engine) == before


@pytest.fixture(scope="module")
def strict_server(engine, db_url):
    with LiveServer(settings_for(db_url, auth="on", max_body_bytes=4096)) as server:
        yield server
    wipe(engine)


def test_missing_or_unknown_token_is_401_and_stores_nothing(strict_server):
    engine = strict_server.app.state.engine
    before = count_rows(engine)
    for headers in ({}, {"authorization": "Bearer lt_nope"}, {"authorization": "Basic abc"}):
        response = httpx.post(
            f"{strict_server.url}/v1/traces",
            content=otlp.request([]),
            headers={"content-type": "application/json", **headers},
        )
        assert response.status_code == 401
        assert "token" in response.json()["error"]["message"]
        assert response.headers["www-authenticate"] == "Bearer"
    assert count_rows(engine) == before


def test_oversized_bodies_are_413_also_after_decompression(strict_server):
    from leadtime.server import auth, db

    with db.unit_of_work(db.session_factory(strict_server.app.state.engine)) as session:
        _, token = auth.create_token(session, "test")
    headers = {"content-type": "application/json", "authorization": f"Bearer {token}"}
    before = count_rows(strict_server.app.state.engine)
    big = b" " * 5000 + b"{}"
    response = httpx.post(f"{strict_server.url}/v1/traces", content=big, headers=headers)
    assert response.status_code == 413
    bomb = gzip.compress(b" " * 100_000 + b"{}")
    assert len(bomb) < 4096
    response = httpx.post(
        f"{strict_server.url}/v1/traces",
        content=bomb,
        headers={**headers, "content-encoding": "gzip"},
    )
    assert response.status_code == 413
    assert "once decompressed" in response.json()["error"]["message"]
    assert count_rows(strict_server.app.state.engine) == before
    ok = httpx.post(f"{strict_server.url}/v1/traces", content=b"{}", headers=headers)
    assert ok.status_code == 200


def test_a_main_branch_runs_spans_report_its_mergeset_once():
    """Every span of a main-branch run names its commit: the delivery reports the mergeset once
    (each further report cost the store a read and a write), with what the spans say of it."""
    spans = [
        otlp.span(TRACE, f"{step + 1:016x}", f"step-{step}", T0, T0 + timedelta(seconds=9), CI)
        for step in range(20)
    ]
    body = otlp_decoder.decode_request(otlp.request(spans), "application/json")
    facts = facts_from_spans(otlp_decoder.spans_from(body).spans, ("main",))
    assert [(fact.sha, fact.source) for fact in facts.mergesets] == [(SHA, "pipeline")]
    assert len(facts.steps) == 20
