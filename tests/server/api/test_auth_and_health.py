"""Tokens (created once, stored hashed, revocable), who may write and read, readiness, and a
database that is down answering 503 with Retry-After."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from leadtime.server import auth, db
from leadtime.server.models import ApiToken
from leadtime.tracer.cli import cli
from tests.server import otlp_payloads as otlp
from tests.server.conftest import LiveServer, count_rows, settings_for, wipe

MERGE = {"repository": "acme/shop", "sha": "a" * 40, "merged_at": "2026-11-20T10:00:00Z"}


@pytest.fixture
def locked_server(engine, db_url):
    with LiveServer(settings_for(db_url, auth="on", read_auth="on")) as server:
        yield server
    wipe(engine)


def create_token(db_url: str, name: str, scope: str = "ingest,read") -> str:
    result = CliRunner().invoke(cli, ["token", "create", name, "--scope", scope, "--db", db_url])
    assert result.exit_code == 0, result.output
    return result.stdout.strip().splitlines()[-1]


def test_token_is_shown_once_and_stored_only_as_a_hash(db_url, engine):
    token = create_token(db_url, "ci")
    assert token.startswith("lt_") and len(token) > 40
    with db.session_factory(engine)() as session:
        stored = session.scalars(select(ApiToken)).one()
    assert stored.name == "ci" and token not in stored.token_hash and len(stored.token_hash) == 64
    listed = CliRunner().invoke(cli, ["token", "list", "--db", db_url, "--json"])
    assert '"name": "ci"' in listed.output and token not in listed.output
    wipe(engine)


def test_writes_and_reads_need_a_live_token(locked_server, db_url):
    url = locked_server.url
    refused = httpx.post(f"{url}/api/merges", json=MERGE)
    assert refused.status_code == 401
    assert "leadtime token create" in refused.json()["error"]["message"]
    assert httpx.get(f"{url}/api/mergesets").status_code == 401

    token = create_token(db_url, "ci")
    headers = {"authorization": f"Bearer {token}"}
    assert httpx.post(f"{url}/api/merges", json=MERGE, headers=headers).status_code == 200
    assert len(httpx.get(f"{url}/api/mergesets", headers=headers).json()) == 1

    listed = json.loads(CliRunner().invoke(cli, ["token", "list", "--db", db_url, "--json"]).output)
    revoked = CliRunner().invoke(cli, ["token", "revoke", str(listed[0]["id"]), "--db", db_url])
    assert revoked.exit_code == 0, revoked.output
    again = httpx.post(f"{url}/api/merges", json=MERGE, headers=headers)
    assert again.status_code == 401
    assert "was revoked" in again.json()["error"]["message"]
    assert httpx.get(f"{url}/healthz").status_code == 200  # health stays open


def _one_span(number: int) -> bytes:
    """A feature branch's one-step run, its own trace."""
    start = datetime(2026, 11, 20, 10, number, tzinfo=UTC)
    trace = f"{number + 1:032x}"
    return otlp.request(
        [otlp.span(trace, f"{number + 1:016x}", "build", start, start, otlp.ci("f", "b" * 40, 1))]
    )


def test_spans_need_an_ingest_token_or_its_session(locked_server, db_url, engine):
    """OTLP writes check their token without a session or write turn of their own (the early
    check's token), or look a browser's session cookie up."""
    url, as_json = locked_server.url, {"content-type": "application/json"}
    ingest, read = (create_token(db_url, scope, scope) for scope in ("ingest", "read"))

    def post(number: int, **extra) -> httpx.Response:
        headers = {**as_json, **extra.pop("headers", {})}
        return httpx.post(f"{url}/v1/traces", content=_one_span(number), headers=headers, **extra)

    assert post(0).status_code == 401
    refused = post(1, headers={"authorization": f"Bearer {read}"})
    assert refused.status_code == 403 and "this needs ingest" in refused.json()["error"]["message"]
    assert post(2, headers={"authorization": f"Bearer {ingest}"}).status_code == 200
    with db.session_factory(engine)() as session:
        rows = {row.name: row for row in session.scalars(select(ApiToken))}
    now = datetime.now(UTC).timestamp()
    signed_in = {"leadtime_session": auth.session_value(rows["ingest"], now)}
    assert post(3, cookies=signed_in).status_code == 200
    reader = {"leadtime_session": auth.session_value(rows["read"], now)}
    assert post(4, cookies=reader).status_code == 403
    assert count_rows(engine)["steps"] == 2  # the two with an ingest token, and nothing else


ADMIN_WRITES = [
    ("/api/alert-rules", {"repository": "acme/shop", "webhook_url": "https://example.com/h"}),
    ("/api/targets", {"repository": "acme/shop", "target_seconds": 600}),
    ("/api/budgets", {"repository": "acme/shop", "budget_seconds": 600}),
    ("/api/service-mappings", {"pager_service": "PX", "service": "shop"}),
    ("/api/alerts/check", {}),
]


def test_each_scope_opens_its_own_routes_only(locked_server, db_url):
    url = locked_server.url
    ingest, read, admin = (
        {"authorization": f"Bearer {create_token(db_url, scope, scope)}"}
        for scope in ("ingest", "read", "admin")
    )
    assert httpx.post(f"{url}/api/merges", json=MERGE, headers=ingest).status_code == 200
    refused = httpx.get(f"{url}/api/mergesets", headers=ingest)
    assert refused.status_code == 403
    assert "has scope ingest; this needs read" in refused.json()["error"]["message"]
    assert httpx.get(f"{url}/api/mergesets", headers=read).status_code == 200
    assert httpx.post(f"{url}/api/merges", json=MERGE, headers=read).status_code == 403
    for path, body in ADMIN_WRITES:
        for headers in (ingest, read):
            answer = httpx.post(f"{url}{path}", json=body, headers=headers)
            assert answer.status_code == 403, (path, answer.text)
            assert "--scope admin" in answer.json()["error"]["message"]
        assert httpx.post(f"{url}{path}", json=body, headers=admin).status_code == 200, path
    for headers in (ingest, read):
        assert httpx.get(f"{url}/api/notifiers", headers=headers).status_code == 403
    assert httpx.get(f"{url}/api/notifiers", headers=admin).status_code == 200
    unmapped = httpx.delete(f"{url}/api/service-mappings/PX", headers=ingest)
    assert unmapped.status_code == 403
    assert httpx.post(f"{url}/api/merges", json=MERGE, headers=admin).status_code == 403


def test_token_scopes_are_listed_and_checked_when_created(db_url, engine):
    create_token(db_url, "ops", "read, admin")
    listed = json.loads(CliRunner().invoke(cli, ["token", "list", "--db", db_url, "--json"]).output)
    assert [(row["name"], row["scopes"]) for row in listed] == [("ops", "read,admin")]
    default = CliRunner().invoke(cli, ["token", "create", "ci", "--db", db_url])
    assert default.exit_code == 0 and "scope ingest)" in default.stderr
    bad = CliRunner().invoke(cli, ["token", "create", "x", "--scope", "write", "--db", db_url])
    assert bad.exit_code == 2 and "unknown scope write: use ingest, read, admin" in bad.output
    wipe(engine)


def test_revoking_an_unknown_token_says_so(db_url):
    result = CliRunner().invoke(cli, ["token", "revoke", "999", "--db", db_url])
    assert result.exit_code == 1
    assert "no token with id 999" in result.output


def test_auth_defaults_to_off_on_loopback_only():
    assert settings_for("sqlite://", host="127.0.0.1").writes_need_token is False
    assert settings_for("sqlite://", host="0.0.0.0").writes_need_token is True
    assert settings_for("sqlite://", host="127.0.0.1", auth="on").writes_need_token is True


def test_health_and_readiness(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready"


def test_readiness_reports_a_schema_behind(tmp_path):
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    with LiveServer(settings_for(empty)) as server:
        response = httpx.get(f"{server.url}/readyz")
    assert response.status_code == 503
    assert "leadtime db upgrade" in response.json()["reason"]


@pytest.fixture
def database_down():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/test?connect_timeout=2"
    with LiveServer(settings_for(url, auth="off")) as server:
        yield server


def test_database_down_is_a_503_with_retry_after(database_down):
    url = database_down.url
    write = httpx.post(f"{url}/api/merges", json=MERGE, timeout=30)
    assert write.status_code == 503
    assert write.headers["retry-after"] == "5"
    assert "retry later" in write.json()["error"]["message"]
    start = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    one_span = otlp.request(
        [otlp.span("5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174", "build", start, start)]
    )
    traces = httpx.post(
        f"{url}/v1/traces",
        content=one_span,
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert traces.status_code == 503
    read = httpx.get(f"{url}/api/mergesets", timeout=30)
    assert read.status_code == 503
    ready = httpx.get(f"{url}/readyz", timeout=30)
    assert ready.status_code == 503 and "database unreachable" in ready.json()["reason"]


def test_server_cli_help_explains(db_url):
    for command in (
        ["serve", "--help"],
        ["db", "upgrade", "--help"],
        ["token", "--help"],
        ["mergesets", "--help"],
        ["deploys", "--help"],
    ):
        result = CliRunner().invoke(cli, command)
        assert result.exit_code == 0 and "Usage:" in result.output
    upgraded = CliRunner().invoke(cli, ["db", "upgrade", "--db", db_url])
    assert upgraded.output.strip() == "database is up to date"


def test_terminal_tables_read_from_the_server(client, live_server, monkeypatch):
    client.post("/api/merges", json={**MERGE, "pr_title": "Faster checkout"})
    client.post(
        "/api/deploys",
        json={
            "service": "shop",
            "repository": "acme/shop",
            "environment": "production",
            "sha": "a" * 40,
            "status": "succeeded",
            "finished_at": "2026-11-20T10:12:30Z",
        },
    )
    monkeypatch.setenv("LEADTIME_URL", live_server.url)
    table = CliRunner().invoke(cli, ["mergesets"])
    assert table.exit_code == 0, table.output
    assert "aaaaaaaaaa  2026-11-20 10:00  2026-11-20 10:12  12m30s" in table.output
    assert "Faster checkout" in table.output
    as_json = CliRunner().invoke(cli, ["mergesets", "--json"])
    assert '"lead_time_seconds": 750.0' in as_json.output
    deploys = CliRunner().invoke(cli, ["deploys", "--environment", "production"])
    assert "shop     production   aaaaaaaaaa  succeeded" in deploys.output


def test_terminal_says_when_the_server_is_away(monkeypatch):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("LEADTIME_URL", f"http://127.0.0.1:{port}")
    result = CliRunner().invoke(cli, ["mergesets"])
    assert result.exit_code == 1
    assert "cannot reach the leadtime server" in result.output


def test_naive_datetimes_are_refused_before_they_reach_the_database(engine):
    from leadtime.server.models import Repository

    with db.session_factory(engine)() as session:
        session.add(Repository(name="x", created_at=datetime(2026, 1, 1)))
        with pytest.raises(Exception, match="naive datetime"):
            session.commit()
    assert count_rows(engine)["repositories"] == 0
