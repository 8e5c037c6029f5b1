"""Hostile and malformed input: schemathesis against the server's own OpenAPI schema (with a
token), hypothesis on every decoder and webhook parser, and the security promises one by one."""

from __future__ import annotations

import copy
import hmac
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadtime.server.errors import LeadtimeError
from leadtime.server.ingest import github, gitlab, otlp, pagerduty
from leadtime.server.ingest.webhooks import SOURCES
from tests.factories import load_payload
from tests.server import otlp_payloads
from tests.server.conftest import LiveServer, count_rows, settings_for, wipe

REPO = "https://github.com/acme/shop"
PULL_REQUEST_MERGED = load_payload("github_pull_request_merged")
PUSH = load_payload("github_push")
DEPLOYMENT_STATUS = load_payload("github_deployment_status")
WORKFLOW_RUN = load_payload("github_workflow_run")
WORKFLOW_JOB = load_payload("github_workflow_job")
GITLAB_MERGE = load_payload("gitlab_merge_request")
GITLAB_PIPELINE = load_payload("gitlab_pipeline")
GITLAB_DEPLOYMENT = load_payload("gitlab_deployment")
PAGERDUTY_TRIGGERED = load_payload("pagerduty_incident_triggered")
OPSGENIE_CREATE = load_payload("opsgenie_create")
ALERTMANAGER_FIRING = load_payload("alertmanager_firing")

SERVER = Path(__file__).resolve().parents[3] / "server"
BIN = Path(sys.executable).parent

# The server's own schema, every documented endpoint, with a token -----------------------------


def test_schemathesis_finds_no_server_error_and_no_schema_mismatch(served_with_token):
    url, token = served_with_token
    run = subprocess.run(
        [
            str(BIN / "st"),
            "run",
            f"{url}/openapi.json",
            "--checks",
            "not_a_server_error,response_schema_conformance",
            "--phases",
            "coverage,fuzzing",
            "--max-examples",
            "10",
            # One worker: CPython 3.11's ast module is not safe when hypothesis describes its
            # strategies from two threads at once ("AST constructor recursion depth mismatch").
            "--workers",
            "1",
            "--seed",
            "1",
            "--no-color",
            "-H",
            f"Authorization: Bearer {token}",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    summary = re.search(r"(\d+) generated, (\d+) passed", run.stdout)
    print(f"schemathesis: {summary.group(0) if summary else run.stdout[-2000:]}")
    assert run.returncode == 0, run.stdout[-4000:]
    assert summary and summary.group(1) == summary.group(2) and int(summary.group(1)) > 500


@pytest.fixture
def served_with_token(engine, db_url, tmp_path):
    from click.testing import CliRunner

    from leadtime.tracer.cli import cli

    created = CliRunner().invoke(
        cli, ["token", "create", "schemathesis", "--scope", "ingest,read,admin", "--db", db_url]
    )
    token = created.stdout.strip().splitlines()[-1]
    with LiveServer(settings_for(db_url, auth="on", pagerduty_webhook_secret="x")) as server:
        yield server.url, token
    wipe(engine)


# Decoders and parsers: random and mutated real payloads -----------------------------------------

SAMPLES = {
    "pagerduty": PAGERDUTY_TRIGGERED,
    "opsgenie": OPSGENIE_CREATE,
    "alertmanager": ALERTMANAGER_FIRING,
    "github.pull_request": PULL_REQUEST_MERGED,
    "github.push": PUSH,
    "github.deployment_status": DEPLOYMENT_STATUS,
    "github.workflow_run": WORKFLOW_RUN,
    "github.workflow_job": WORKFLOW_JOB,
    "gitlab.merge": GITLAB_MERGE,
    "gitlab.pipeline": GITLAB_PIPELINE,
    "gitlab.deployment": GITLAB_DEPLOYMENT,
}


def parse(kind: str, body: bytes) -> None:
    """What the receiver does with a verified body, up to the facts."""
    name, _, event = kind.partition(".")
    (source,) = [source for source in SOURCES if source.name == name]
    source.parse(body, {"x-github-event": event})


JSON_LEAVES = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=12,
)


def mutate(value, draw_value, paths: list):
    """The payload with the value at one of its paths replaced."""
    mutated = copy.deepcopy(value)
    if not paths:
        return draw_value
    *parents, last = paths
    target = mutated
    for key in parents:
        target = target[key]
    target[last] = draw_value
    return mutated


def paths_of(value, prefix=()) -> list[tuple]:
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            found.append((*prefix, key))
            found += paths_of(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.append((*prefix, index))
            found += paths_of(item, (*prefix, index))
    return found


@settings(
    max_examples=int(os.environ.get("LEADTIME_FUZZ_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(kind=st.sampled_from(sorted(SAMPLES)), data=st.data())
def test_mutated_real_payloads_raise_only_client_errors(kind, data):
    sample = SAMPLES[kind]
    path = data.draw(st.sampled_from([(), *paths_of(sample)]))
    payload = mutate(sample, data.draw(JSON_VALUES), list(path))
    try:
        parse(kind, json.dumps(payload).encode())
    except LeadtimeError:
        pass  # a 4xx with a message: the documented answer


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(sorted(SAMPLES)), body=st.binary(max_size=300))
def test_random_bytes_raise_only_client_errors(kind, body):
    try:
        parse(kind, body)
    except LeadtimeError:
        pass


@settings(max_examples=300, deadline=None)
@given(body=st.binary(max_size=400), json_body=st.booleans())
def test_otlp_decoding_of_random_bytes_raises_only_client_errors(body, json_body):
    content_type = "application/json" if json_body else "application/x-protobuf"
    try:
        otlp.spans_from(otlp.decode_request(body, content_type))
    except LeadtimeError:
        pass


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_otlp_decoding_of_mutated_requests_raises_only_client_errors(data):
    span = otlp_payloads.span(
        "0af7651916cd43dd8448eb211c80319c",
        "b7ad6b7169203331",
        "build",
        *(
            __import__("datetime").datetime(2026, 11, 20, 10, m, tzinfo=__import__("datetime").UTC)
            for m in (0, 1)
        ),
        otlp_payloads.ci("main", "a" * 40, 1),
    )
    request = json.loads(otlp_payloads.request([span]))
    path = data.draw(st.sampled_from([(), *paths_of(request)]))
    mutated = mutate(request, data.draw(JSON_VALUES), list(path))
    try:
        otlp.spans_from(otlp.decode_request(json.dumps(mutated).encode(), "application/json"))
    except LeadtimeError:
        pass


# Security, promise by promise ---------------------------------------------------------------------


@pytest.mark.parametrize("secret", ["", None])
def test_an_empty_or_missing_secret_refuses_every_delivery(secret):
    body = json.dumps(PAGERDUTY_TRIGGERED).encode()
    with pytest.raises(LeadtimeError, match="refused"):
        pagerduty.verify_signature(body, "v1=" + "0" * 64, secret)
    with pytest.raises(LeadtimeError, match="refused"):
        github.verify_signature(body, "sha256=" + "0" * 64, secret)
    with pytest.raises(LeadtimeError, match="refused"):
        gitlab.verify_token(body, {"x-gitlab-token": ""}, secret, None)


def test_signatures_and_tokens_are_compared_in_constant_time(monkeypatch):
    compared = []
    real = hmac.compare_digest

    def spy(a, b):
        compared.append(True)
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    body = b"{}"
    for check in (
        lambda: pagerduty.verify_signature(body, "v1=00", "s"),
        lambda: github.verify_signature(body, "sha256=00", "s"),
        lambda: gitlab.verify_token(body, {"x-gitlab-token": "guess"}, "s", None),
    ):
        before = len(compared)
        with pytest.raises(LeadtimeError):
            check()
        assert len(compared) > before


def test_sql_is_parameterised_everywhere():
    # No SQL text is ever built from values: every text() and execute() takes a constant.
    built = re.compile(r"(text|execute|exec_driver_sql)\(\s*f[\"']")
    offenders = [
        f"{path.relative_to(SERVER)}:{number}"
        for path in SERVER.rglob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if built.search(line) or (".format(" in line and "SELECT" in line.upper())
    ]
    assert offenders == []


def test_request_bodies_over_the_limit_are_refused_even_in_chunks(engine, db_url):
    with LiveServer(settings_for(db_url, auth="off", max_body_bytes=2048)) as server:
        merge = {"repository": REPO, "sha": "a" * 40, "merged_at": "2026-11-20T10:00:00Z"}
        padded = json.dumps({**merge, "title": "x" * 4000}).encode()

        def chunks():  # no Content-Length: the server has to count
            for start in range(0, len(padded), 512):
                yield padded[start : start + 512]

        response = httpx.post(
            f"{server.url}/api/merges",
            content=chunks(),
            headers={"content-type": "application/json"},
        )
        assert response.status_code == 413
        assert "over the limit of 2048 bytes" in response.json()["error"]["message"]
        ok = httpx.post(f"{server.url}/api/merges", json=merge)
        assert ok.status_code == 200
    assert count_rows(engine)["mergesets"] == 1
    wipe(engine)


def test_span_counts_and_attribute_values_are_capped(client, engine):
    from datetime import UTC, datetime

    start, end = (
        datetime(2026, 11, 20, 10, 0, tzinfo=UTC),
        datetime(2026, 11, 20, 10, 1, tzinfo=UTC),
    )
    too_many = [
        otlp_payloads.span("0af7651916cd43dd8448eb211c80319c", f"{n + 1:016x}", "s", start, end)
        for n in range(otlp.MAX_SPANS + 1)
    ]
    refused = client.post(
        "/v1/traces",
        content=otlp_payloads.request(too_many),
        headers={"content-type": "application/json"},
    )
    assert (
        refused.status_code == 413 and "send smaller batches" in refused.json()["error"]["message"]
    )
    assert count_rows(engine)["steps"] == 0

    attributes = {f"k{n}": "v" * 10_000 for n in range(otlp.MAX_ATTRIBUTES + 50)}
    big = otlp_payloads.span(
        "0af7651916cd43dd8448eb211c80319c", "1" * 16, "big", start, end, attributes
    )
    assert (
        client.post(
            "/v1/traces",
            content=otlp_payloads.request([big]),
            headers={"content-type": "application/json"},
        ).status_code
        == 200
    )
    stored = client.get("/api/pipelines/0af7651916cd43dd8448eb211c80319c").json()["steps"][0]
    assert len(stored["attributes"]) <= otlp.MAX_ATTRIBUTES
    assert max(len(str(v)) for v in stored["attributes"].values()) == otlp.MAX_STRING_CHARS
