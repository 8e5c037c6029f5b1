"""What the alert tests share: a live server whose alerts go to real HTTP receivers on loopback,
and histories built through its real API."""

from __future__ import annotations

import base64
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import httpx

from tests.server.conftest import LiveServer, settings_for, wipe
from tests.server.hooks import HookReceiver

REPO = "https://github.com/acme/shop"
SECRET_KEY = b"a signing key of thirty-two bytes"
SECRET = "whsec_" + base64.b64encode(SECRET_KEY).decode()
NOW = datetime.now(UTC)


@contextmanager
def alerting_server(engine, db_url: str, slack: list[int] | None = None, hook=None, **settings):
    """A live server whose alerts go to a Slack receiver and a webhook receiver."""
    with HookReceiver(slack) as slack_receiver, HookReceiver(hook) as hook_receiver:
        options = {
            "auth": "off",
            "alerts_enabled": True,
            "alert_interval_seconds": 3600,
            "slack_webhook_url": slack_receiver.url + "/services/T0/B0/slack-secret",
            "alert_webhook_url": hook_receiver.url + "/hooks/leadtime",
            "alert_webhook_secret": SECRET,
            "notify_retry_seconds": 0.2,
            "public_url": "https://leadtime.example.com",
            **settings,
        }
        with (
            LiveServer(settings_for(db_url, **options)) as server,
            httpx.Client(base_url=server.url, timeout=30) as client,
        ):
            try:
                yield client, slack_receiver, hook_receiver
            finally:
                server.app.state.alerts.stop()
                wipe(engine)


class History:
    """Mergesets on main, one after another, each shipped by its own production deploy."""

    def __init__(self, client: httpx.Client, repo: str = REPO, first: int = 0) -> None:
        self.client, self.repo, self.count, self.parent = client, repo, first, None

    def merge(self, merged_at: datetime, title: str | None = None) -> str:
        self.count += 1
        sha = f"{self.count:040x}"
        body = {"repository": self.repo, "sha": sha, "merged_at": merged_at.isoformat()}
        if self.parent:
            body["parent_sha"] = self.parent
        if title:
            body["title"] = title
        assert self.client.post("/api/merges", json=body).status_code == 200
        self.parent = sha
        return sha

    def deploy(self, sha: str, finished_at: datetime) -> None:
        body = {
            "service": self.repo.rsplit("/", 1)[-1],
            "repository": self.repo,
            "environment": "production",
            "sha": sha,
            "status": "succeeded",
            "finished_at": finished_at.isoformat(),
        }
        assert self.client.post("/api/deploys", json=body).status_code == 200

    def ship(self, merged_at: datetime, lead_minutes: float) -> str:
        sha = self.merge(merged_at)
        self.deploy(sha, merged_at + timedelta(minutes=lead_minutes))
        return sha

    def ship_daily(self, first_day_ago: int, count: int, lead_minutes: float) -> None:
        """`count` mergesets, one every 3 hours from `first_day_ago` days ago."""
        start = NOW - timedelta(days=first_day_ago)
        for index in range(count):
            self.ship(start + timedelta(hours=3 * index), lead_minutes)


def slipped_history(client, history: History | None = None) -> History:
    """Four weeks at 10 minutes, then this week at 14 (+40%, +4 minutes: fires)."""
    history = history or History(client)
    history.ship_daily(30, 8, 10)
    history.ship_daily(5, 6, 14)
    return history


def check(client) -> dict:
    response = client.post("/api/alerts/check")
    assert response.status_code == 200, response.text
    return response.json()


def alerts(client, **params) -> list[dict]:
    return client.get("/api/alerts", params=params).json()


def settled(client, alert_id: int, timeout: float = 20) -> dict:
    """The alert once none of its notifications is still waiting to be sent."""
    deadline = time.monotonic() + timeout
    while True:
        alert = client.get(f"/api/alerts/{alert_id}").json()
        if all(n["status"] in ("sent", "failed") for n in alert["notifications"]):
            return alert
        assert time.monotonic() < deadline, alert["notifications"]
        time.sleep(0.05)
