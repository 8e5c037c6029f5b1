"""The spool: each entry goes to its own target only, oldest first, once, whatever else is in
the spool (another team's server, a corrupt file, a request refused for good or answered 5xx),
however many flushes run at once, and a full disk leaves nothing behind."""

from __future__ import annotations

import json
import resource
import subprocess
from pathlib import Path

from tests.conftest import LEADTIME, clean_env, run_leadtime
from tests.otlp import RunningReceiver


def _entries(tmp_path) -> list:
    """The entries waiting in the spool: encoded requests and steps' documents alike."""
    spool = tmp_path / "spool"
    return sorted([*spool.rglob("*.otlp"), *spool.rglob("*.step.json")])


def _server_env(tmp_path, port: int, token: str = "") -> dict[str, str]:
    env = clean_env(tmp_path, LEADTIME_URL=f"http://127.0.0.1:{port}", LEADTIME_EXPORT_TIMEOUT="1")
    if token:
        env["LEADTIME_TOKEN"] = token
    return env


def _spool_steps(env, *names: str) -> None:
    """Steps whose target is down: each one's span stays in the spool, once its sender tried."""
    spool = Path(env["LEADTIME_SPOOL_DIR"])
    for name in names:
        before = len(list(spool.rglob("*.step.json")))
        done = run_leadtime(["step", name, "--", "true"], env)
        assert done.returncode == 0, done.stderr
        assert len(list(spool.rglob("*.step.json"))) == before + 1


def test_a_span_spooled_for_one_server_never_goes_to_another(tmp_path, free_port):
    team_a = _server_env(tmp_path, free_port, token="a-token")  # team A's server is down
    _spool_steps(team_a, "team-a-build")
    with RunningReceiver() as team_b_server:
        team_b = _server_env(tmp_path, team_b_server.port, token="b-token")
        done = run_leadtime(["step", "team-b-build", "--", "true"], team_b)
        assert done.returncode == 0 and done.stderr == ""
        flushed = run_leadtime(["flush"], team_b)
        assert [span.name for span in team_b_server.spans] == ["team-b-build"]
    assert flushed.returncode == 1
    assert "leadtime (another endpoint or token): sent 0, left 1" in flushed.stdout
    with RunningReceiver(port=free_port) as team_a_server:
        assert run_leadtime(["flush"], team_a).returncode == 0
        assert [span.name for span in team_a_server.spans] == ["team-a-build"]
        assert team_a_server.requests[0]["authorization"] == "Bearer a-token"
    assert _entries(tmp_path) == []


def test_the_same_server_with_another_token_is_another_target(tmp_path, free_port):
    _spool_steps(_server_env(tmp_path, free_port, token="old"), "with-old-token")
    with RunningReceiver(port=free_port) as server:
        done = run_leadtime(["flush"], _server_env(tmp_path, free_port, token="new"))
        assert server.spans == []
    assert done.returncode == 1 and len(_entries(tmp_path)) == 1


def test_flush_sends_oldest_first(tmp_path, free_port):
    env = _server_env(tmp_path, free_port)
    _spool_steps(env, "first", "second", "third")
    with RunningReceiver(port=free_port) as server:
        assert run_leadtime(["flush"], env).returncode == 0
        assert [span.name for span in server.spans] == ["first", "second", "third"]


def test_a_corrupt_entry_is_set_aside_and_the_rest_delivered(tmp_path, free_port):
    env = _server_env(tmp_path, free_port)
    _spool_steps(env, "good")
    (good,) = _entries(tmp_path)
    corrupt = good.parent / ("0" * 20 + "-1-dead.otlp")  # sorts first: the oldest
    corrupt.write_bytes(b"\xff\xff not a request")
    with RunningReceiver(port=free_port) as server:
        done = run_leadtime(["flush", "--json"], env)
        assert [span.name for span in server.spans] == ["good"]
    assert done.returncode == 0, done.stdout
    assert json.loads(done.stdout)["set_aside"] == {"leadtime": 1}
    assert "unreadable spooled request(s) for leadtime moved to .corrupt/" in done.stderr
    assert _entries(tmp_path) == [] and len(list((tmp_path / "spool/.corrupt").iterdir())) == 1


def test_an_entry_refused_for_good_is_dropped_and_one_answered_5xx_waits(tmp_path, free_port):
    env = _server_env(tmp_path, free_port)
    _spool_steps(env, "refused", "server-error", "fine", "too-large")
    with RunningReceiver(port=free_port) as server:
        server.statuses = {"refused": 422, "server-error": 500, "too-large": 413}
        done = run_leadtime(["flush", "--json"], env)
        assert [span.name for span in server.spans] == ["fine"]
        report = json.loads(done.stdout)
        assert report["sent"] == {"leadtime": 1} and report["dropped"] == {"leadtime": 2}
        assert report["remaining"] == {"leadtime": 1} and done.returncode == 1
        assert "rejected 2 spooled request(s) for good, dropped" in done.stderr
        server.statuses = {}
        assert run_leadtime(["flush"], env).returncode == 0  # the 5xx one, later
        assert [span.name for span in server.spans] == ["fine", "server-error"]
    assert _entries(tmp_path) == []


def test_a_live_413_is_not_spooled_and_a_202_or_204_is_success(tmp_path):
    with RunningReceiver() as server:
        server.statuses = {"huge": 413, "accepted": 202, "no-content": 204}
        env = _server_env(tmp_path, server.port)
        assert run_leadtime(["step", "huge", "--", "true"], env).stderr == ""
        accepted = run_leadtime(["step", "accepted", "--", "true"], env)
        assert "leadtime rejected 1 span request(s) for good (HTTP 413" in accepted.stderr
        done = run_leadtime(["step", "no-content", "--", "true"], env)
        assert done.returncode == 0 and done.stderr == "", done.stderr
        assert sorted(span.name for span in server.spans) == ["accepted", "no-content"]
    assert _entries(tmp_path) == []


def test_four_parallel_flushes_send_each_entry_once(tmp_path, free_port):
    env = _server_env(tmp_path, free_port)
    names = [f"step-{index}" for index in range(12)]
    _spool_steps(env, *names)
    with RunningReceiver(port=free_port) as server:
        flushes = [
            subprocess.Popen([*LEADTIME, "flush", "--timeout", "60"], env=env, text=True)
            for _ in range(4)
        ]
        codes = [process.wait(timeout=120) for process in flushes]
        assert sorted(span.name for span in server.spans) == sorted(names)
    assert codes == [0, 0, 0, 0]
    assert _entries(tmp_path) == []


def _limit_file_size() -> None:
    # Any write past 64 bytes fails as on a full disk (EFBIG; Python ignores SIGXFSZ).
    resource.setrlimit(resource.RLIMIT_FSIZE, (64, 64))


def test_a_full_disk_leaves_no_temporary_or_partial_entry(tmp_path, free_port):
    env = _server_env(tmp_path, free_port)
    (tmp_path / "spool").mkdir()
    done = subprocess.run(
        [*LEADTIME, "step", "s", "--", "sh", "-c", "exit 4"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_limit_file_size,
    )
    assert done.returncode == 4
    assert "the spool is not writable" in done.stderr
    assert [path for path in (tmp_path / "spool").rglob("*") if path.is_file()] == []


def test_a_backlog_of_300_entries_goes_in_a_few_requests_and_each_span_once(tmp_path, free_port):
    """Serialized OTLP requests concatenate into one: 300 spooled entries (two real ones, each
    copied 149 times under later names) go over a connection or two, not 300."""
    env = _server_env(tmp_path, free_port)
    _spool_steps(env, "build", "test")
    for original in _entries(tmp_path):
        stamp, rest = original.name.split("-", 1)
        for copy in range(1, 150):
            (original.parent / f"{int(stamp) + copy:020d}-{rest}").write_bytes(
                original.read_bytes()
            )
    assert len(_entries(tmp_path)) == 300
    with RunningReceiver(port=free_port) as server:
        done = run_leadtime(["flush", "--json"], env)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["sent"] == {"leadtime": 300}
        assert len(server.spans) == 300 and len(server.requests) <= 2
        names = [span.name for span in server.spans]
        assert names.count("build") == names.count("test") == 150
    assert _entries(tmp_path) == []
