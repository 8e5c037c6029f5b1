"""A mergeset named by a prefix of its sha: one that fits several is a 409 naming them (the CLI
lists them too), one too short or not hex is a 400, and LIKE wildcards are taken literally."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from click.testing import CliRunner

from leadtime.server import store
from leadtime.tracer.cli import cli
from tests.factories import make_mergeset

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
FIRST, SECOND = "abcdef1" + "0" * 33, "abcdef2" + "0" * 33


def test_a_prefix_that_fits_several_mergesets_is_a_conflict_naming_them(client):
    make_mergeset(client, FIRST, T0)
    make_mergeset(client, SECOND, T0 + timedelta(minutes=1))
    answer = client.get("/api/mergesets/abcdef/breakdown")
    assert answer.status_code == 400 and "at least 7" in answer.json()["error"]["message"]
    answer = client.get("/api/mergesets/abcdef0/breakdown")
    assert answer.status_code == 404
    answer = client.get("/api/mergesets/abcdef1/breakdown")
    assert answer.status_code == 200 and answer.json()["mergeset"]["sha"] == FIRST
    both = client.get("/api/mergesets/ABCDEF/breakdown")
    assert both.status_code == 400
    make_mergeset(client, "abcdef1" + "1" * 33, T0 + timedelta(minutes=2))
    answer = client.get("/api/mergesets/abcdef1/breakdown")
    assert answer.status_code == 409
    message = answer.json()["error"]["message"]
    assert "abcdef100000" in message and "abcdef111111" in message and "give more" in message


def test_wildcards_in_a_prefix_are_refused_and_never_match(client, session, monkeypatch):
    make_mergeset(client, FIRST, T0)
    for prefix in ("abcdef%", "abcde_1", "%%%%%%%"):
        answer = client.get(f"/api/mergesets/{prefix}/breakdown")
        assert answer.status_code == 400, prefix
    assert store.mergesets_by_prefix(session, "abcde_1") == []
    assert [m.sha for m in store.mergesets_by_prefix(session, "abcdef1")] == [FIRST]


def test_the_cli_lists_the_candidates(client, live_server, monkeypatch):
    make_mergeset(client, FIRST, T0)
    make_mergeset(client, "abcdef1" + "1" * 33, T0 + timedelta(minutes=2))
    monkeypatch.setenv("LEADTIME_URL", live_server.url)
    result = CliRunner().invoke(cli, ["report", "mergeset", "abcdef1"])
    assert result.exit_code == 1
    assert "409" in result.output and "abcdef100000" in result.output
