"""`leadtime step` keeps the step's exit code, output, input and signals (real processes)."""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import LEADTIME, clean_env, run_leadtime, wait_for_senders


@pytest.fixture
def env(tmp_path, receiver):
    return clean_env(tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint)


@pytest.mark.parametrize("code", [0, 1, 2, 3, 42, 255])
def test_exit_code_is_the_commands(env, receiver, code):
    done = run_leadtime(["step", "s", "--", "sh", "-c", f"exit {code}"], env)
    assert done.returncode == code
    span = receiver.by_name("s")
    assert span.attributes["process.exit.code"] == code
    expected = "success" if code == 0 else "failure"
    assert span.attributes["cicd.pipeline.task.run.result"] == expected
    assert span.status_code == (0 if code == 0 else 2)  # UNSET or ERROR


def test_command_not_found_exits_127(env, receiver):
    done = run_leadtime(["step", "s", "--", "no-such-command-anywhere"], env)
    assert done.returncode == 127
    assert "no-such-command-anywhere: command not found" in done.stderr
    assert receiver.by_name("s").attributes["cicd.pipeline.task.run.result"] == "error"


def test_command_not_executable_exits_126(env, receiver, tmp_path):
    script = tmp_path / "script.sh"
    script.write_text("#!/bin/sh\necho never\n")
    script.chmod(0o644)
    done = run_leadtime(["step", "s", "--", str(script)], env)
    assert done.returncode == 126
    assert "never" not in done.stdout
    assert receiver.by_name("s").attributes["process.exit.code"] == 126


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL])
def test_command_killed_by_signal_exits_128_plus_n(env, receiver, signum):
    done = run_leadtime(["step", "s", "--", "sh", "-c", f"kill -{int(signum)} $$"], env)
    assert done.returncode == 128 + signum
    span = receiver.by_name("s")
    assert span.attributes["cicd.pipeline.task.run.result"] == "cancellation"


def test_timeout_stops_the_command_and_exits_124(env, receiver):
    started = time.monotonic()
    done = run_leadtime(["step", "s", "--timeout", "0.5", "--", "sleep", "30"], env)
    assert done.returncode == 124
    assert time.monotonic() - started < 10
    span = receiver.by_name("s")
    assert span.attributes["cicd.pipeline.task.run.result"] == "timeout"
    assert span.status_code == 2


def test_timeout_kills_a_command_that_ignores_term(env, receiver):
    script = "trap '' TERM; echo ready; while :; do sleep 0.1; done"
    started = time.monotonic()
    done = run_leadtime(
        ["step", "s", "--timeout", "0.5", "--kill-after", "0.5", "--", "sh", "-c", script], env
    )
    assert done.returncode == 124
    assert 1.0 <= time.monotonic() - started < 10
    assert receiver.by_name("s").attributes["cicd.pipeline.task.run.result"] == "timeout"


def test_output_streams_in_order_through_the_same_terminal(env):
    script = "for i in 1 2 3; do echo out$i; echo err$i >&2; done"
    done = subprocess.run(
        [*LEADTIME, "step", "s", "--", "sh", "-c", script],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=60,
    )
    lines = [line for line in done.stdout.splitlines() if not line.startswith("leadtime:")]
    assert lines == ["out1", "err1", "out2", "err2", "out3", "err3"]


def test_stdin_reaches_the_command(env):
    done = run_leadtime(["step", "s", "--", "tr", "a-z", "A-Z"], env, input="hello\n")
    assert done.stdout == "HELLO\n"


def test_command_writes_to_the_very_pipe_leadtime_was_given(env):
    read_end, write_end = os.pipe()
    given = f"pipe:[{os.fstat(write_end).st_ino}]"
    subprocess.run(
        [*LEADTIME, "step", "s", "--", "sh", "-c", "readlink /proc/$$/fd/1"],
        env=env,
        stdout=write_end,
        timeout=60,
        check=True,
    )
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        assert pipe.read().strip() == given


def test_a_terminal_stays_a_terminal(env):
    leader, follower = pty.openpty()
    code = "import os; print('tty' if os.isatty(1) and os.isatty(2) else 'not a tty')"
    subprocess.run(
        [*LEADTIME, "step", "s", "--", sys.executable, "-c", code],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
        timeout=60,
        check=True,
    )
    os.close(follower)
    assert os.read(leader, 1024).decode().strip() == "tty"
    os.close(leader)


FORWARDED = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


def start_leadtime_detached(args: list[str], env: dict[str, str], ignored=()) -> subprocess.Popen:
    """leadtime in a session of its own (every signal comes from the test), with the forwarded
    signals at their defaults except `ignored`: a test runner started under nohup would otherwise
    pass its ignored SIGHUP on, and an ignored signal is rightly not forwarded."""

    def dispositions() -> None:
        for signum in FORWARDED:
            signal.signal(signum, signal.SIG_IGN if signum in ignored else signal.SIG_DFL)

    return subprocess.Popen(
        [*LEADTIME, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=dispositions,
    )


def catching_script(signum: int, marker) -> str:
    """A Python command that writes the signal it gets to `marker` and exits 7."""
    return (
        f"import signal, sys, time\n"
        f"def got(n, f):\n"
        f"    open({str(marker)!r}, 'w').write(str(n)); sys.exit(7)\n"
        f"signal.signal({int(signum)}, got)\n"
        f"print('ready', flush=True)\n"
        f"time.sleep(30)\n"
    )


@pytest.mark.parametrize("signum", FORWARDED)
def test_signals_are_forwarded_to_the_command(env, receiver, tmp_path, signum):
    marker = tmp_path / "got"
    script = catching_script(signum, marker)
    process = start_leadtime_detached(["step", "s", "--", sys.executable, "-c", script], env)
    assert process.stdout.readline().strip() == "ready"
    process.send_signal(signum)
    assert process.wait(timeout=20) == 7
    wait_for_senders(env)
    assert marker.read_text() == str(int(signum))
    assert receiver.by_name("s").attributes["process.exit.code"] == 7


def test_a_hangup_ignored_by_nohup_stays_ignored(env, receiver, tmp_path):
    # Under nohup SIGHUP is ignored: leadtime survives it, the command inherits "ignored", and
    # the step runs to its end.
    command = (
        "import signal, time\n"
        "print(int(signal.getsignal(signal.SIGHUP)), flush=True)\n"
        "time.sleep(1)\n"
    )
    process = start_leadtime_detached(
        ["step", "s", "--", sys.executable, "-c", command], env, ignored=(signal.SIGHUP,)
    )
    assert process.stdout.readline().strip() == str(int(signal.SIG_IGN))
    process.send_signal(signal.SIGHUP)
    assert process.wait(timeout=20) == 0
    wait_for_senders(env)
    assert receiver.by_name("s").attributes["cicd.pipeline.task.run.result"] == "success"


def test_leadtime_killed_with_its_command_when_term_is_not_handled(env, receiver):
    process = start_leadtime_detached(
        ["step", "s", "--", "sh", "-c", "echo ready; exec sleep 30"], env
    )
    assert process.stdout.readline().strip() == "ready"
    os.kill(process.pid, signal.SIGTERM)
    assert process.wait(timeout=20) == 128 + signal.SIGTERM
    wait_for_senders(env)
    assert receiver.by_name("s").attributes["cicd.pipeline.task.run.result"] == "cancellation"
