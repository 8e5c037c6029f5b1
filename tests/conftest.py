from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.otlp import RunningReceiver

LEADTIME = [sys.executable, "-m", "leadtime.tracer"]
CI_PREFIXES = (
    "GITHUB_",
    "GITLAB_",
    "CI_",
    "CI",
    "JENKINS_",
    "BUILD_",
    "CIRCLE",
    "BUILDKITE",
    "TF_BUILD",
    "SYSTEM_",
    "OTEL_",
    "LEADTIME_",
    "TRACEPARENT",
    "TRACESTATE",
)


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The test process's environment without any CI, OTel or leadtime variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(CI_PREFIXES)}
    env["LEADTIME_SPOOL_DIR"] = str(tmp_path / "spool")
    env["HOME"] = str(tmp_path / "home")
    env.update(extra)
    return env


def run_leadtime(args, env, **kwargs) -> subprocess.CompletedProcess:
    """Run leadtime; after `leadtime step`, also wait for the sender it started (its spans are
    sent, or spooled for good reason, when this returns)."""
    kwargs.setdefault("capture_output", True)
    kwargs.setdefault("text", True)
    kwargs.setdefault("timeout", 60)
    done = subprocess.run([*LEADTIME, *args], env=env, **kwargs)
    if args and args[0] == "step":
        wait_for_senders(env)
    return done


def wait_for_senders(env: dict[str, str], timeout: float = 60.0) -> None:
    """Wait until no detached sender holds a lock in the spool of `env`: a finished step hands
    its locks to its sender, so once each lock is free again its span has been dealt with."""
    from leadtime.tracer.config import TracerConfig
    from leadtime.tracer.spool import Spool

    spool = Spool(TracerConfig.from_env(env).spool_dir)
    deadline = time.monotonic() + timeout
    for key in spool.folders():
        with spool.locked(key, deadline) as free:
            assert free, f"a sender still holds the lock of {key} after {timeout} s"


@pytest.fixture
def receiver():
    with RunningReceiver() as running:
        yield running


@pytest.fixture
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DEAD_PORT = 9  # discard: nothing listens there on a test machine


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium, driven by Playwright (which downloads no browser of its own)."""
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
                # the network is blocked except loopback: every other address goes to a proxy
                # that is not there (Chromium always connects to 127.0.0.1 directly)
                f"--proxy-server=http://127.0.0.1:{DEAD_PORT}",
            ],
        )
        yield browser
        browser.close()
