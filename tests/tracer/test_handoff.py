"""A step hands its span to the spool and a detached sender: the step waits for neither, the
sender is really detached, parallel steps send each span once, the span is the one the step
would have sent itself, and a job's runner torn down right after `pipeline end` loses nothing."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.conftest import LEADTIME, clean_env, run_leadtime, wait_for_senders
from tests.otlp import RunningReceiver


def _processes_with(marker: str) -> list[int]:
    """The pids whose environment holds `marker` (a test's own spool directory)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue  # gone, or not ours to read
    return found


def _pending(spool: Path) -> list[Path]:
    return [*spool.rglob("*.step.json"), *spool.rglob("*.otlp")]


def _open_descriptors(pid: int) -> dict[int, str]:
    """What each of a process's descriptors points at; one it closes while being read (the
    sender at work opens and closes its connection and files) is left out."""
    found = {}
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            found[int(fd.name)] = os.readlink(fd)
        except FileNotFoundError:
            continue
    return found


def test_the_sender_runs_in_a_session_of_its_own_with_nothing_of_the_step_open(tmp_path):
    with RunningReceiver() as server:
        server.delay = 3.0  # keeps the sender at work long enough to look at it
        env = clean_env(tmp_path, LEADTIME_URL=server.endpoint, LEADTIME_EXPORT_TIMEOUT="10")
        marker = f"LEADTIME_SPOOL_DIR={env['LEADTIME_SPOOL_DIR']}"
        read, write = os.pipe()  # a descriptor the CI runner leaves open in the step
        os.set_inheritable(write, True)
        started = time.monotonic()
        done = subprocess.run(
            [*LEADTIME, "step", "s", "--", "true"],
            env=env,
            capture_output=True,
            pass_fds=(write,),
            timeout=60,
        )
        took = time.monotonic() - started
        os.close(write)
        (sender,) = _processes_with(marker)
        assert done.returncode == 0 and took < 3.0  # did not wait for the slow server
        assert os.getsid(sender) != os.getsid(0)  # a session of its own: the job's signals miss it
        descriptors = _open_descriptors(sender)
        assert descriptors[0] == descriptors[1] == descriptors[2] == os.devnull
        assert not any(target.startswith("pipe:") for target in descriptors.values())
        os.set_blocking(read, False)
        assert os.read(read, 1) == b""  # nobody holds the runner's pipe open any more
        wait_for_senders(env)
        assert server.by_name("s").attributes["process.exit.code"] == 0
    assert _pending(tmp_path / "spool") == []


def test_parallel_steps_send_each_span_once(tmp_path):
    with RunningReceiver() as server:
        server.delay = 0.2  # senders overlap: most steps find the lock held
        env = clean_env(tmp_path, LEADTIME_URL=server.endpoint, LEADTIME_EXPORT_TIMEOUT="10")
        names = [f"step-{index}" for index in range(10)]
        with ThreadPoolExecutor(max_workers=5) as pool:
            codes = list(
                pool.map(lambda name: run_leadtime(["step", name, "--", "true"], env), names)
            )
        assert [done.returncode for done in codes] == [0] * 10
        deadline = time.monotonic() + 60
        while len(server.spans) < 10 and time.monotonic() < deadline:
            time.sleep(0.05)  # a step that found the lock held left its span to its holder
        wait_for_senders(env)
        assert sorted(span.name for span in server.spans) == sorted(names)
    assert _pending(tmp_path / "spool") == []


def _attributes_and_resource(span) -> tuple[dict, dict]:
    # The task run id is the span id; the SDK gives each process its own instance id.
    volatile = ("cicd.pipeline.task.run.id", "service.instance.id")
    attributes = {k: v for k, v in span.attributes.items() if k not in volatile}
    return attributes, {k: v for k, v in span.resource.items() if k not in volatile}


def test_the_span_sent_from_the_spool_is_the_one_the_step_sends_itself(tmp_path):
    # A spool that cannot be written makes the step send its span itself (the SDK in the
    # step's process): both ways must give the same span for the same step.
    env_ci = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_RUN_ID": "4242",
        "GITHUB_RUN_ATTEMPT": "1",
        "GITHUB_WORKFLOW": "ci",
        "GITHUB_JOB": "test",
        "GITHUB_REPOSITORY": "acme/shop",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REF": "refs/heads/feature/x",
        "GITHUB_REF_NAME": "feature/x",
        "GITHUB_SHA": "8f2d6c1e0b9a4d7c3e5f1a2b6c8d0e4f7a9b1c3d",
    }
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a spool directory should be")
    with RunningReceiver() as server:
        env = clean_env(tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT=server.endpoint, **env_ci)
        command = [
            "step",
            "s",
            "--cache-hit",
            "true",
            "--attr",
            "team=shop",
            "--",
            "sh",
            "-c",
            "exit 3",
        ]
        spooled = run_leadtime(command, env)
        itself = run_leadtime(command, {**env, "LEADTIME_SPOOL_DIR": str(blocker / "spool")})
        assert spooled.returncode == itself.returncode == 3
        first, second = server.spans
    assert _attributes_and_resource(first) == _attributes_and_resource(second)
    assert (first.name, first.kind, first.status_code) == (
        second.name,
        second.kind,
        second.status_code,
    )
    assert first.attributes["cicd.pipeline.task.run.result"] == "failure"


def test_a_runner_torn_down_right_after_pipeline_end_lost_no_span(tmp_path):
    """Twenty instant steps against a slow server, then `pipeline end`; the moment it returns
    every process of the job is killed and its disk (the spool) deleted, as an ephemeral runner
    does. Every span must have reached the server by then."""
    with RunningReceiver() as server:
        server.delay = 1.0  # senders still at work when the job ends
        env = clean_env(
            tmp_path,
            LEADTIME_URL=server.endpoint,
            LEADTIME_EXPORT_TIMEOUT="20",
            LEADTIME_RUN_ID="job-1",
        )
        marker = f"LEADTIME_SPOOL_DIR={env['LEADTIME_SPOOL_DIR']}"
        names = [f"step-{index}" for index in range(20)]
        assert run_leadtime(["pipeline", "start"], env).returncode == 0
        for name in names:  # as CI runs them: one after another, nothing waited for
            done = subprocess.run(
                [*LEADTIME, "step", name, "--", "true"], env=env, capture_output=True, timeout=60
            )
            assert done.returncode == 0, done.stderr
        ended = run_leadtime(["pipeline", "end", "--result", "success"], env)
        for pid in _processes_with(marker):  # the runner goes away
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        shutil.rmtree(env["LEADTIME_SPOOL_DIR"])
        assert ended.returncode == 0 and ended.stderr == "", ended.stderr
        received = [span.name for span in server.spans]
    assert sorted(received) == sorted([*names, "RUN"])
