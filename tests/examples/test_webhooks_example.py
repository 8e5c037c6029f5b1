"""examples/webhooks/send.sh against a real `leadtime serve`: every sample is accepted, tells
what the example's README says it tells, and a second sending stores nothing new."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest

from tests import load
from tests.conftest import clean_env

SEND = Path(__file__).resolve().parents[2] / "examples" / "webhooks" / "send.sh"
GITLAB_TOKEN = "sample-gitlab-token"


@pytest.fixture
def server(tmp_path):
    running = load.Server(
        f"sqlite:///{tmp_path / 'leadtime.db'}", LEADTIME_GITLAB_WEBHOOK_TOKEN=GITLAB_TOKEN
    ).start()
    yield running
    running.stop()


def send(server: load.Server, tmp_path: Path) -> list[dict]:
    env = clean_env(
        tmp_path,
        LEADTIME_URL=server.url,
        GITHUB_SECRET=load.GITHUB_SECRET,
        GITLAB_TOKEN=GITLAB_TOKEN,
        PAGERDUTY_SECRET=load.PAGERDUTY_SECRET,
    )
    done = subprocess.run(["bash", str(SEND)], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr + server.logged()
    return [httpx.Response(200, content=line).json() for line in done.stdout.splitlines()]


def test_send_sh_delivers_every_sample_once(server, tmp_path):
    answers = send(server, tmp_path)
    assert len(answers) == 6
    assert not any(answer.get("duplicate") for answer in answers)
    mergesets = httpx.get(f"{server.url}/api/mergesets", params={"limit": 10}).json()
    by_sha = {m["sha"][:7]: m for m in mergesets}
    assert set(by_sha) == {"5e1c0b7", "9a8b7c6"}
    assert by_sha["5e1c0b7"]["pr_number"] == 42
    assert by_sha["5e1c0b7"]["lead_time_seconds"] == 12 * 60 + 30
    pages = httpx.get(f"{server.url}/api/pages").json()
    assert sorted(page["source"] for page in pages) == ["alertmanager", "opsgenie", "pagerduty"]
    paged = next(page for page in pages if page["source"] == "pagerduty")
    assert paged["suspect"]["sha"].startswith("5e1c0b7")
    assert paged["seconds_after_deploy"] == pytest.approx(18.6 * 60, abs=6)

    again = send(server, tmp_path)
    assert all(answer.get("duplicate") for answer in again[:4])  # signed ones carry an id
    assert len(httpx.get(f"{server.url}/api/pages").json()) == 3
    assert len(httpx.get(f"{server.url}/api/mergesets").json()) == 2
