"""Notifier targets never reach into the server's own network unless an admin allowed it:
refused when set through the API, and again at delivery (a URL stored unchecked, or a name that
resolves elsewhere later). Real server, real receiver on loopback."""

from __future__ import annotations

from datetime import timedelta

import pytest

from leadtime.server import db, store
from tests.server.hooks import HookReceiver
from tests.server.notify.alerting import (
    NOW,
    REPO,
    History,
    alerting_server,
    check,
    settled,
    slipped_history,
)

INTERNAL_URLS = [
    "http://127.0.0.1:9/hook",
    "http://localhost:9/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.1.2.3/hook",
    "http://[::1]:9/hook",
    "http://[::ffff:127.0.0.1]:9/hook",
    "http://0.0.0.0:9/hook",
]


@pytest.mark.parametrize("url", INTERNAL_URLS)
def test_a_notifier_url_inside_the_network_is_refused(engine, db_url, url):
    with alerting_server(engine, db_url, slack_webhook_url=None, alert_webhook_url=None) as (
        client,
        _slack,
        _hook,
    ):
        History(client).ship(NOW - timedelta(days=2), 10)
        for field in ("webhook_url", "slack_webhook_url"):
            refused = client.post("/api/alert-rules", json={"repository": REPO, field: url})
            assert refused.status_code == 400, refused.text
            message = refused.json()["error"]["message"]
            assert message.startswith(f"{field}: its host resolves to a loopback, private")
            assert "LEADTIME_NOTIFY_ALLOWED_HOSTS" in message and url not in message
        (rule,) = client.get("/api/alert-rules", params={"repo": REPO}).json()
        assert rule["channels"] == ["log"]


def _store_webhook(engine, url: str) -> None:
    """A repository webhook stored as an older version stored it, unchecked (or one whose
    name resolved elsewhere when it was set)."""
    with db.unit_of_work(db.session_factory(engine)) as session:
        repository = store.find_repository(session, REPO)
        store.set_alerting(session, repository, {"webhook_url": url})


@pytest.mark.parametrize("allowed", ["", "127.0.0.1", "127.0.0.0/8"])
def test_a_delivery_inside_the_network_goes_only_where_an_admin_allowed(engine, db_url, allowed):
    with (
        HookReceiver() as internal,
        alerting_server(
            engine,
            db_url,
            slack_webhook_url=None,
            alert_webhook_url=None,
            notify_allowed_hosts=allowed,
            notify_max_attempts=1,
        ) as (client, _slack, _hook),
    ):
        history = History(client)
        history.merge(NOW - timedelta(days=60))  # the repository, known before its webhook
        _store_webhook(engine, internal.url + "/internal")
        slipped_history(client, history)
        (fired,) = check(client)["firing"]
        webhook = next(
            n for n in settled(client, fired["id"])["notifications"] if n["channel"] == "webhook"
        )
        if allowed:
            assert webhook["status"] == "sent" and len(internal.wait_for(1)) == 1
        else:
            assert webhook["status"] == "failed" and internal.deliveries == []
            assert webhook["last_error"].startswith("not sent: its host resolves to a loopback")
