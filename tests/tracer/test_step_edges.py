"""`leadtime step` at its edges: started with stdout or stderr closed, under an unsampled
TRACEPARENT, and stopping a command whose children outlive it (real processes)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import LEADTIME, clean_env, run_leadtime, wait_for_senders
from tests.gitrepos import History
from tests.otlp import RunningReceiver


def _closing(fds: tuple[int, ...]):
    def close() -> None:  # in the child, after subprocess set up its pipes: leadtime starts so
        for fd in fds:
            os.close(fd)

    return close


@pytest.mark.parametrize("fds", [(1,), (2,), (1, 2)], ids=["stdout", "stderr", "both"])
def test_closed_output_never_changes_the_exit_code(tmp_path, receiver, fds):
    env = clean_env(tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint)
    done = subprocess.run(
        [*LEADTIME, "step", "s", "--", "sh", "-c", "exit 3"],
        env=env,
        capture_output=True,
        timeout=60,
        preexec_fn=_closing(fds),
    )
    assert done.returncode == 3, done.stderr
    wait_for_senders(env)
    assert receiver.by_name("s").attributes["process.exit.code"] == 3


def test_closed_stderr_with_a_warning_to_give_keeps_the_exit_code(tmp_path, free_port):
    env = clean_env(tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{free_port}")
    env["LEADTIME_EXPORT_TIMEOUT"] = "1"
    for code in (5, 6):  # the second step has the first one's failed try to report
        done = subprocess.run(
            [*LEADTIME, "step", "s", "--", "sh", "-c", f"exit {code}"],
            env=env,
            timeout=60,
            preexec_fn=_closing((1, 2)),
        )
        assert done.returncode == code
        wait_for_senders(env)
    assert len(list((tmp_path / "spool").rglob("*.step.json"))) == 2  # the warning went nowhere


@pytest.mark.parametrize("flags", ["00", "01"])
def test_an_unsampled_traceparent_still_records_the_deploy_with_leadtime(tmp_path, flags):
    history = History(tmp_path / "repo")
    deployed = history.merge("feature-a")
    incoming = f"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-{flags}"
    with RunningReceiver() as leadtime_server, RunningReceiver() as otlp_backend:
        env = clean_env(
            tmp_path,
            LEADTIME_URL=leadtime_server.endpoint,
            OTEL_EXPORTER_OTLP_ENDPOINT=otlp_backend.endpoint,
            TRACEPARENT=incoming,
        )
        done = run_leadtime(["deploy", "production", "--", "true"], env, cwd=history.path)
        assert done.returncode == 0, done.stderr
        span = leadtime_server.by_name("deploy production")
        assert span.trace_id == "0af7651916cd43dd8448eb211c80319c"
        assert span.attributes["deployment.environment.name"] == "production"
        assert span.attributes["vcs.ref.head.revision"] == deployed
        backend_names = [received.name for received in otlp_backend.spans]
    assert backend_names == ([] if flags == "00" else ["deploy production"])


def _running(pid: int) -> bool:
    """Alive and not a zombie waiting for whoever adopted it to reap it."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def test_timeout_stops_the_command_s_grandchildren_too(tmp_path, receiver):
    pids = tmp_path / "pids"
    script = (
        f"sleep 60 & echo $! >> {pids}; (trap '' TERM; exec sleep 60) & echo $! >> {pids}; wait"
    )
    env = clean_env(tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint)
    started = time.monotonic()
    done = run_leadtime(
        ["step", "s", "--timeout", "1", "--kill-after", "1", "--", "sh", "-c", script], env
    )
    assert done.returncode == 124
    assert time.monotonic() - started < 20
    grandchildren = [int(line) for line in pids.read_text().split()]
    assert len(grandchildren) == 2
    deadline = time.monotonic() + 10  # whoever adopted them reaps them soon after
    while any(_running(pid) for pid in grandchildren) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_running(pid) for pid in grandchildren)
    assert receiver.by_name("s").attributes["cicd.pipeline.task.run.result"] == "timeout"


def test_kill_after_counts_from_the_term(tmp_path, receiver):
    script = "trap '' TERM; while :; do sleep 0.1; done"
    env = clean_env(tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint)
    started = time.monotonic()
    done = run_leadtime(
        ["step", "s", "--timeout", "0.5", "--kill-after", "2", "--", "sh", "-c", script], env
    )
    took = time.monotonic() - started
    assert done.returncode == 124
    assert 2.5 <= took < 20  # TERM at 0.5 s, KILL 2 s after it (not 2 s after the start)


def _catches_term(pid: int) -> bool:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) & (1 << (signal.SIGTERM - 1)))
    return False


def test_a_signal_that_arrives_while_the_command_is_spawned_still_reaches_it(tmp_path, receiver):
    # A PATH of 14,000 missing folders before the real ones: finding `sleep` takes the spawn
    # tens of milliseconds, and the TERM is sent as soon as leadtime has its handler, inside
    # that spawn. The command must get it all the same (not sleep its 30 s).
    env = clean_env(tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint)
    env["PATH"] = ":".join(f"/m{i}" for i in range(14_000)) + ":/usr/bin:/bin"  # < 128 KiB
    process = subprocess.Popen(
        [*LEADTIME, "step", "s", "--", "sleep", "30"], env=env, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 30
        while not _catches_term(process.pid):
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.0005)
        os.kill(process.pid, signal.SIGTERM)
        assert process.wait(timeout=20) == 128 + signal.SIGTERM
        wait_for_senders(env)
    finally:
        if process.poll() is None:
            process.kill()
    assert receiver.by_name("s").attributes["cicd.pipeline.task.run.result"] == "cancellation"
