"""A run's own keys held once: spans of one run repeat its pipeline, repository and ref on every
step; the server keeps them on the run, each step keeps what is its own (or differs), and the
API gives every step back its attributes as they were sent. All of a delivery's runs are stored
in one statement."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from sqlalchemy import Engine, event, text

from tests.server import otlp_payloads as otlp

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
SHA = "8f2d6c1e0b9a4d7c3e5f1a2b6c8d0e4f7a9b1c3d"
OTHER = "1111111111111111111111111111111111111111"
# What every span of the run says alike: the keys a run is known by.
RUN_KEYS = {
    "cicd.pipeline.name": "ci",
    "cicd.pipeline.run.id": "4711",
    "cicd.pipeline.run.url.full": "https://github.com/acme/shop/actions/runs/4711",
    "vcs.change.id": 1,
    "leadtime.ci.provider": "github",
    "vcs.repository.url.full": "https://github.com/acme/shop",
    "vcs.repository.name": "acme/shop",
    "vcs.ref.head.name": "feature/x",
    "vcs.ref.head.revision": SHA,
}


def _stored(engine: Engine, trace_id: str) -> tuple[dict, dict[str, dict]]:
    """(the run's attributes, each step's attributes by name) as the database holds them."""
    with engine.connect() as connection:
        held = connection.execute(
            text("SELECT attributes FROM pipeline_runs WHERE trace_id = :t"), {"t": trace_id}
        ).scalar_one()
        steps = connection.execute(
            text("SELECT name, attributes FROM steps WHERE trace_id = :t"), {"t": trace_id}
        ).all()
    decoded = [
        (name, value if isinstance(value, dict) else json.loads(value)) for name, value in steps
    ]
    return (held if isinstance(held, dict) else json.loads(held)), dict(decoded)


def _flattened(steps: list[dict]) -> dict[str, dict]:
    found = {}
    for step in steps:
        found[step["name"]] = step["attributes"]
        found.update(_flattened(step["children"]))
    return found


def test_a_runs_keys_are_held_once_and_every_step_reads_back_as_sent(client, live_server, engine):
    provider = TracerProvider(resource=Resource.create({"service.name": "shop"}))
    provider.add_span_processor(
        SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{live_server.url}/v1/traces", timeout=10))
    )
    tracer = provider.get_tracer("test")
    sent = {}
    with tracer.start_as_current_span("RUN", attributes=RUN_KEYS) as root:
        for index in range(4):
            own = {"cicd.pipeline.task.name": f"step-{index}", "process.exit.code": index % 2}
            sent[f"step-{index}"] = {**RUN_KEYS, **own, "cicd.pipeline.task.run.result": "success"}
            with tracer.start_as_current_span(f"step-{index}", attributes=sent[f"step-{index}"]):
                pass
    provider.shutdown()
    trace_id = f"{root.get_span_context().trace_id:032x}"

    held, steps = _stored(engine, trace_id)
    assert held == RUN_KEYS
    for name, attributes in sent.items():
        assert steps[name] == {key: v for key, v in attributes.items() if key not in RUN_KEYS}
    run = client.get(f"/api/pipelines/{trace_id}").json()
    assert _flattened(run["steps"]) == {"RUN": RUN_KEYS, **sent}


def test_a_later_delivery_keeps_only_what_differs_from_its_run(client, engine):
    trace_id = "5b8efff798038103d269b633813fc60c"
    first = otlp.span(
        trace_id, "a000000000000001", "build", T0, T0 + timedelta(minutes=2), RUN_KEYS
    )
    assert (
        client.post(
            "/v1/traces",
            content=otlp.request([first]),
            headers={"content-type": "application/json"},
        ).status_code
        == 200
    )
    # The second job of the run: its own runner names the run alike, two keys as other types
    # (equal in Python, not once read back), and a deploy span of another commit.
    later = {
        **RUN_KEYS,
        "cicd.pipeline.run.id": 4711,
        "vcs.change.id": True,
        "leadtime.job.name": "deploy",
    }
    deploy = {
        **RUN_KEYS,
        "vcs.ref.head.revision": OTHER,
        "deployment.environment.name": "staging",
        "deployment.status": "succeeded",
    }
    second = [
        otlp.span(trace_id, "a000000000000002", "test", T0, T0 + timedelta(minutes=5), later),
        otlp.span(trace_id, "a000000000000003", "deploy", T0, T0 + timedelta(minutes=9), deploy),
    ]
    assert (
        client.post(
            "/v1/traces", content=otlp.request(second), headers={"content-type": "application/json"}
        ).status_code
        == 200
    )

    held, steps = _stored(engine, trace_id)
    assert held == RUN_KEYS  # the first report's
    assert steps["build"] == {}
    assert steps["test"] == {
        "cicd.pipeline.run.id": 4711,
        "vcs.change.id": True,
        "leadtime.job.name": "deploy",
    }
    assert steps["deploy"] == {
        "vcs.ref.head.revision": OTHER,
        "deployment.environment.name": "staging",
        "deployment.status": "succeeded",
    }
    run = client.get(f"/api/pipelines/{trace_id}").json()
    assert _flattened(run["steps"]) == {"build": RUN_KEYS, "test": later, "deploy": deploy}
    assert run["duration_seconds"] == 9 * 60  # the later report widened the run


def test_a_deliverys_runs_are_stored_in_one_statement(client):
    spans = [
        otlp.span(
            f"{run:032x}",
            f"{run:016x}",
            "build",
            T0,
            T0 + timedelta(minutes=run),
            {**RUN_KEYS, "cicd.pipeline.run.id": str(run)},
        )
        for run in range(1, 31)
    ]
    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(" ".join(statement.split()).upper())

    event.listen(Engine, "before_cursor_execute", seen)
    try:
        response = client.post(
            "/v1/traces", content=otlp.request(spans), headers={"content-type": "application/json"}
        )
    finally:
        event.remove(Engine, "before_cursor_execute", seen)
    assert response.status_code == 200
    writes = [
        sql
        for sql in statements
        if sql.startswith(("INSERT INTO PIPELINE_RUNS", "UPDATE PIPELINE_RUNS"))
    ]
    assert len(writes) == 2, writes  # one upsert of the 30 runs, one update of their summaries
    assert writes[0].startswith("INSERT INTO PIPELINE_RUNS")
    durations = [
        client.get(f"/api/pipelines/{run:032x}").json()["duration_seconds"] for run in (1, 30)
    ]
    assert durations == [60, 30 * 60]
