"""Telemetry trouble never changes the step's outcome, costs at most the bound, loses nothing."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time

import pytest

from tests.conftest import LEADTIME, clean_env, run_leadtime, wait_for_senders
from tests.otlp import RunningReceiver

BOUND = 1.0  # LEADTIME_EXPORT_TIMEOUT for these tests
SLACK = 2.5  # interpreter start, SDK import and teardown on a busy 2-core machine


def _spooled(tmp_path) -> list:
    """The entries waiting in the spool: encoded requests and steps' documents alike."""
    spool = tmp_path / "spool"
    return sorted([*spool.rglob("*.otlp"), *spool.rglob("*.step.json")])


@pytest.fixture
def hanging_port():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)  # connections complete in the backlog; nobody ever answers
        yield listener.getsockname()[1]


def _env(tmp_path, endpoint, bound=BOUND):
    return clean_env(
        tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT=endpoint, LEADTIME_EXPORT_TIMEOUT=str(bound)
    )


def _timed_step(env, code):
    """A step, timed until it exits (its detached sender is waited for afterwards)."""
    started = time.monotonic()
    done = subprocess.run(
        [*LEADTIME, "step", "s", "--", "sh", "-c", f"echo out; exit {code}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    took = time.monotonic() - started
    wait_for_senders(env)
    return done, took


def _timed_deploy(env, code, cwd):
    """A deploy, which confirms its span before it exits: the export bound is its to keep."""
    started = time.monotonic()
    command = ["deploy", "staging", "--", "sh", "-c", f"echo out; exit {code}"]
    done = run_leadtime(command, env, cwd=cwd)
    return done, time.monotonic() - started


def _warnings(done, about: str) -> list[str]:
    return [
        line for line in done.stderr.splitlines() if line.startswith("leadtime:") and about in line
    ]


@pytest.mark.parametrize("code", [0, 3])
def test_refused_endpoint_keeps_exit_code_and_spools(tmp_path, free_port, code):
    env = _env(tmp_path, f"http://127.0.0.1:{free_port}")
    done, took = _timed_step(env, code)
    assert done.returncode == code
    assert done.stdout == "out\n"
    assert done.stderr == ""  # the step did not wait for the endpoint: its sender did
    assert took < BOUND + SLACK
    assert len(_spooled(tmp_path)) == 1
    later = run_leadtime(["step", "later", "--", "true"], env)
    told = _warnings(later, "wait in the spool for otlp")
    assert len(told) == 1 and "ConnectionRefusedError" in told[0], later.stderr
    assert len(_spooled(tmp_path)) == 2


def test_a_step_never_waits_for_a_hanging_endpoint(tmp_path, hanging_port):
    # With a 5 s bound a step that waited for the endpoint would take 5 s; this one hands its
    # span to the sender, which gives up after the bound and keeps it in the spool.
    env = _env(tmp_path, f"http://127.0.0.1:{hanging_port}", bound=5)
    done, took = _timed_step(env, 0)
    assert done.returncode == 0
    assert took < 5
    assert len(_spooled(tmp_path)) == 1


@pytest.mark.parametrize("code", [0, 3])
def test_a_deploy_to_a_refused_endpoint_keeps_exit_code_and_spools(tmp_path, free_port, code):
    done, took = _timed_deploy(_env(tmp_path, f"http://127.0.0.1:{free_port}"), code, tmp_path)
    assert done.returncode == code
    assert done.stdout == "out\n"
    assert took < BOUND + SLACK
    assert len(_spooled(tmp_path)) == 1
    assert len(_warnings(done, "spooled")) == 1


def test_a_deploy_to_a_hanging_endpoint_costs_at_most_the_bound(tmp_path, hanging_port):
    done, took = _timed_deploy(_env(tmp_path, f"http://127.0.0.1:{hanging_port}"), 0, tmp_path)
    assert done.returncode == 0
    assert BOUND * 0.9 <= took < BOUND + SLACK
    assert len(_spooled(tmp_path)) == 1


def test_endpoint_answering_500_keeps_exit_code_and_spools(tmp_path):
    with RunningReceiver(mode="error") as failing:
        env = _env(tmp_path, failing.endpoint)
        done, took = _timed_step(env, 1)
        assert done.returncode == 1
        assert took < BOUND + SLACK
        assert len(_spooled(tmp_path)) == 1
        later = run_leadtime(["step", "later", "--", "true"], env)
    assert "HTTP 500" in later.stderr
    deployed, _ = _timed_deploy(env, 0, tmp_path)  # nobody listens now: refused, spooled
    assert deployed.returncode == 0 and len(_warnings(deployed, "spooled")) == 1
    assert len(_spooled(tmp_path)) == 3


def test_endpoint_rejecting_for_good_drops_without_spooling(tmp_path):
    # A 400 is permanent in OTLP: sending it again can never succeed.
    import http.server

    class BadRequest(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["content-length"]))
            self.send_response(400)
            self.send_header("content-length", "11")
            self.end_headers()
            self.wfile.write(b"bad payload")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), BadRequest)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = _env(tmp_path, f"http://127.0.0.1:{server.server_port}")
    try:
        done, _ = _timed_step(env, 0)
        assert done.returncode == 0 and _spooled(tmp_path) == []
        later = run_leadtime(["step", "later", "--", "true"], env)
        deployed, _ = _timed_deploy(env, 0, tmp_path)
    finally:
        server.shutdown()
    told = _warnings(later, "rejected")
    assert told == [
        "leadtime: warning: otlp rejected 1 span request(s) for good (HTTP 400: bad payload), "
        "dropped"
    ]
    assert "rejected the spans for good (HTTP 400: bad payload)" in deployed.stderr
    assert _spooled(tmp_path) == []


def test_flush_delivers_everything_once_the_endpoint_is_back(tmp_path, free_port):
    env = _env(tmp_path, f"http://127.0.0.1:{free_port}")
    for _ in range(3):
        assert _timed_step(env, 0)[0].returncode == 0
    assert len(_spooled(tmp_path)) == 3
    before = run_leadtime(["flush", "--timeout", "2"], env)
    assert before.returncode == 1  # still down: nothing lost, nothing removed
    assert len(_spooled(tmp_path)) == 3
    with RunningReceiver(port=free_port) as back:
        done = run_leadtime(["flush", "--json"], env)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["sent"] == {"otlp": 3}
        assert len(back.spans) == 3
        assert len({span.span_id for span in back.spans}) == 3
    assert _spooled(tmp_path) == []


def test_next_step_sends_what_earlier_steps_spooled(tmp_path, free_port):
    env = _env(tmp_path, f"http://127.0.0.1:{free_port}")
    run_leadtime(["step", "early", "--", "true"], env)
    assert len(_spooled(tmp_path)) == 1
    with RunningReceiver(port=free_port) as back:
        done = run_leadtime(["step", "later", "--", "true"], env)
        assert "1 span request(s) wait in the spool for otlp" in done.stderr  # before this try
        assert sorted(span.name for span in back.spans) == ["early", "later"]
        again = run_leadtime(["step", "again", "--", "true"], env)
        assert again.stderr == ""  # the last try sent everything: nothing more to say
    assert _spooled(tmp_path) == []


def test_flush_leaves_entries_of_an_unconfigured_target(tmp_path, free_port):
    run_leadtime(["step", "s", "--", "true"], _env(tmp_path, f"http://127.0.0.1:{free_port}"))
    done = run_leadtime(["flush"], clean_env(tmp_path))
    assert done.returncode == 1
    assert (
        "otlp (another endpoint or token): sent 0, left 1 (its endpoint is not configured now)"
        in (done.stdout)
    )
    assert len(_spooled(tmp_path)) == 1


def test_unwritable_spool_is_a_warning_not_a_failure(tmp_path, free_port):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the spool directory should be")
    env = _env(tmp_path, f"http://127.0.0.1:{free_port}")
    env["LEADTIME_SPOOL_DIR"] = str(blocker / "spool")
    done = run_leadtime(["step", "s", "--", "sh", "-c", "exit 5"], env)
    assert done.returncode == 5
    assert "spool is not writable" in done.stderr


def test_bad_settings_warn_and_use_defaults(tmp_path, receiver):
    env = clean_env(
        tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint, LEADTIME_EXPORT_TIMEOUT="soon"
    )
    done = run_leadtime(["step", "s", "--", "true"], env)
    assert done.returncode == 0
    assert "LEADTIME_EXPORT_TIMEOUT='soon' is not a positive number" in done.stderr
    assert receiver.by_name("s").attributes["process.exit.code"] == 0


def test_otlp_timeout_variable_shortens_the_wait_for_a_hanging_endpoint(tmp_path, hanging_port):
    env = clean_env(
        tmp_path,
        OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{hanging_port}",
        OTEL_EXPORTER_OTLP_TIMEOUT="0.3",
        LEADTIME_EXPORT_TIMEOUT="10",
    )
    done, took = _timed_deploy(env, 0, tmp_path)
    assert done.returncode == 0
    assert took < 0.3 + SLACK < 10
    assert len(_spooled(tmp_path)) == 1


def test_without_a_setting_the_bound_is_two_seconds(tmp_path, hanging_port):
    env = clean_env(tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{hanging_port}")
    done, took = _timed_deploy(env, 0, tmp_path)
    assert done.returncode == 0
    assert 1.8 <= took < 2.0 + SLACK
    assert len(_spooled(tmp_path)) == 1


@pytest.fixture
def trickling_port():
    """A server that answers one byte every 0.2 s and never finishes: each read succeeds within
    a socket timeout, so only the overall deadline ends the wait."""
    stop = threading.Event()

    def answer(connection: socket.socket) -> None:
        with connection:
            connection.recv(65536)
            while not stop.wait(0.2):
                try:
                    connection.sendall(b"H")
                except OSError:
                    return

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.settimeout(0.2)

        def accept() -> None:
            while not stop.is_set():
                try:
                    connection, _ = listener.accept()
                except TimeoutError:
                    continue
                except OSError:  # the listener closed at the end of the test
                    return
                threading.Thread(target=answer, args=(connection,), daemon=True).start()

        threading.Thread(target=accept, daemon=True).start()
        yield listener.getsockname()[1]
        stop.set()


def test_an_endpoint_that_trickles_its_answer_costs_at_most_the_bound(tmp_path, trickling_port):
    done, took = _timed_deploy(_env(tmp_path, f"http://127.0.0.1:{trickling_port}"), 2, tmp_path)
    assert done.returncode == 2 and done.stdout == "out\n"
    assert took < BOUND + SLACK
    assert len(_spooled(tmp_path)) == 1
