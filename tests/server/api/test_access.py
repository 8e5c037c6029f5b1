"""Who may write, as an operator configures it and as an attacker tries it: every usual spelling
of a switch means what it says (before, `true` or `1` silently meant `auto`, open on a loopback
bind), a value that is no spelling or a misspelled variable stops `leadtime serve` with exit 2,
and the open-on-loopback default holds only for a client on this machine that connected
directly: a request a proxy forwarded (the shipped nginx.conf says so) needs a token."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from leadtime.server.settings import misspelled_variables
from tests.conftest import clean_env, run_leadtime
from tests.server.conftest import LiveServer, settings_for, wipe

MERGE = {"repository": "acme/shop", "sha": "a" * 40, "merged_at": "2026-11-20T10:00:00Z"}
NGINX = Path(__file__).resolve().parents[3] / "examples" / "deploy" / "nginx.conf"


@pytest.mark.parametrize("spelling", ["on", "ON", "true", "True", "1", "yes", "enabled"])
def test_every_spelling_of_on_closes_writes_and_reads(spelling):
    settings = settings_for("sqlite://", host="127.0.0.1", auth=spelling, read_auth=spelling)
    assert settings.auth == "on" and settings.writes_need_token is True
    assert settings.reads_need_token is True


@pytest.mark.parametrize("spelling", ["off", "OFF", "false", "0", "no", "disabled"])
def test_every_spelling_of_off_means_off(spelling):
    settings = settings_for("sqlite://", host="0.0.0.0", auth=spelling, read_auth=spelling)
    assert settings.auth == "off" and settings.writes_need_token is False
    assert settings.reads_need_token is False


@pytest.mark.parametrize("value", ["maybe", "auto-ish", "", "2"])
def test_a_value_that_is_no_spelling_is_refused_naming_the_variable(value):
    with pytest.raises(ValidationError, match=r"LEADTIME_AUTH=.*use one of on, off, auto"):
        settings_for("sqlite://", auth=value)
    with pytest.raises(ValidationError, match=r"LEADTIME_READ_AUTH=.*use one of on, off"):
        settings_for("sqlite://", read_auth="auto")  # auto is for writes only


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"LEADTIME_AUTH": "maybe"}, "LEADTIME_AUTH='maybe': use one of on, off, auto"),
        ({"LEADTIME_AUHT": "on"}, "LEADTIME_AUHT is not a setting; did you mean LEADTIME_AUTH?"),
        ({"LEADTIME_READAUTH": "on"}, "did you mean LEADTIME_READ_AUTH?"),
        ({"LEADTIME_BUDGET_MINUTES": "soon"}, "LEADTIME_BUDGET_MINUTES='soon'"),
    ],
)
def test_serve_stops_with_exit_2_on_a_bad_or_misspelled_setting(tmp_path, variables, message):
    env = clean_env(tmp_path, **variables)
    done = run_leadtime(["serve", "--port", "1", "--db", f"sqlite:///{tmp_path}/x.db"], env)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr


def test_true_really_closes_a_real_server_on_loopback(db_url, engine):
    with LiveServer(settings_for(db_url, host="127.0.0.1", auth="true")) as server:
        refused = httpx.post(f"{server.url}/api/merges", json=MERGE)
    assert refused.status_code == 401
    wipe(engine)


@pytest.fixture
def default_server(db_url, engine):
    """The default: LEADTIME_AUTH=auto on a loopback bind."""
    with LiveServer(settings_for(db_url, host="127.0.0.1")) as server:
        yield server.url
    wipe(engine)


def test_on_a_loopback_bind_a_direct_local_client_writes_without_a_token(default_server):
    assert httpx.post(f"{default_server}/api/merges", json=MERGE).status_code == 200


@pytest.mark.parametrize(
    "header",
    [
        {"X-Forwarded-For": "203.0.113.9"},
        {"X-Forwarded-For": "127.0.0.1"},  # forwarded at all: a proxy is in between
        {"Forwarded": "for=198.51.100.7;proto=https"},
        {"X-Real-IP": "203.0.113.9"},
    ],
)
def test_a_request_a_proxy_forwarded_needs_a_token(default_server, header):
    refused = httpx.post(f"{default_server}/api/merges", json=MERGE, headers=header)
    assert refused.status_code == 401
    assert "missing token" in refused.json()["error"]["message"]
    assert httpx.get(f"{default_server}/api/mergesets").json() == []  # nothing stored


def test_the_shipped_nginx_config_tells_the_server_it_is_a_proxy():
    assert "proxy_set_header X-Forwarded-For" in NGINX.read_text()


def test_a_leadtime_variable_far_from_any_setting_is_left_alone():
    environ = {"LEADTIME_TEST_DATABASE_URL": "x", "LEADTIME_RUN_ID": "7", "LEADTIME_URL": "x"}
    assert misspelled_variables(environ) == []
    assert misspelled_variables({"LEADTIME_PROT": "80"}) == [
        "LEADTIME_PROT is not a setting; did you mean LEADTIME_PORT?"
    ]
