"""Regression alerts end to end: histories built through the real API of a real server, the
notifiers delivering to real HTTP receivers on loopback, the rule's answers known in advance."""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from leadtime.server import db
from leadtime.server.alerting import AlertWorker
from leadtime.server.domain import regression
from leadtime.server.models import Mergeset
from tests.server.conftest import settings_for
from tests.server.hooks import HookReceiver
from tests.server.mail import mail_server
from tests.server.notify.alerting import (
    NOW,
    REPO,
    SECRET_KEY,
    History,
    alerting_server,
    alerts,
    check,
    settled,
    slipped_history,
)
from tests.server.otlp_payloads import post_run


def verify_standard_webhook(delivery) -> None:
    headers = delivery.headers
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + delivery.body
    expected = base64.b64encode(hmac.new(SECRET_KEY, signed, hashlib.sha256).digest()).decode()
    assert headers["webhook-signature"] == f"v1,{expected}"
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 300


def test_a_lead_time_slip_is_sent_once_and_its_recovery_once(engine, db_url):
    with alerting_server(engine, db_url) as (client, slack, hook):
        history = slipped_history(client)
        check(client)
        (alert,) = alerts(client, status="open")
        assert (alert["metric"], alert["subject"]) == ("lead_time", "")
        assert (alert["current_seconds"], alert["baseline_seconds"]) == (840, 600)
        assert alert["ratio"] == pytest.approx(1.4)
        assert (
            alert["message"]
            == f"{REPO}: lead time (merge -> production) p50 10m00s -> 14m00s (+40%)"
        )
        assert alert["detail"]["mergesets"] == 6

        # Evaluating again (as the schedule and every deploy do) sends nothing new.
        check(client)
        check(client)
        settled(client, alert["id"])
        assert len(slack.deliveries) == 1 and len(hook.deliveries) == 1
        message = slack.deliveries[0].json()
        assert message["text"] == f"Lead time regression: {alert['message']}"
        assert message["blocks"][0]["text"]["text"] == f"Lead time regression: {REPO}"
        link = "https://leadtime.example.com/?repo=https%3A%2F%2Fgithub.com%2Facme%2Fshop"
        assert f"<{link}|Open in leadtime>" in message["blocks"][1]["text"]["text"]
        assert slack.deliveries[0].path == "/services/T0/B0/slack-secret"

        delivered = hook.deliveries[0]
        verify_standard_webhook(delivered)
        payload = delivered.json()
        assert payload["type"] == "leadtime.alert.fired"
        data = payload["data"]
        assert (data["metric"], data["current_seconds"], data["baseline_seconds"]) == (
            "lead_time",
            840,
            600,
        )
        assert data["change_pct"] == 40.0 and data["url"] == link

        # Seven mergesets at 10 minutes bring the week's median back to 10: resolved.
        history.ship_daily(1, 7, 10)
        result = check(client)
        assert result["firing"] == []
        (resolved,) = alerts(client, status="resolved")
        assert resolved["id"] == alert["id"] and resolved["resolved_at"] is not None
        kinds = [event["kind"] for event in resolved["events"]]
        assert (kinds[0], kinds[-1]) == ("fired", "resolved")
        check(client)
        settled(client, alert["id"])
        assert len(slack.deliveries) == 2 and len(hook.deliveries) == 2
        assert slack.deliveries[1].json()["text"].startswith("Lead time recovered: ")
        assert hook.deliveries[1].json()["type"] == "leadtime.alert.resolved"
        assert hook.deliveries[1].headers["webhook-id"] != hook.deliveries[0].headers["webhook-id"]


# (four weeks' lead time, this week's, mergesets this week): only the 30% slip fires.
HISTORIES = {
    "steady": (10, 10, 6),
    "twenty-percent": (10, 12, 6),
    "thirty-percent": (10, 13, 6),
    "under-the-floor": (1, 1.3, 6),  # +30%, but 18 s more
    "too-few": (10, 30, 4),
}


def test_generated_histories_with_known_answers(engine, db_url):
    with alerting_server(engine, db_url) as (client, _slack, _hook):
        for index, (name, (before, now, count)) in enumerate(HISTORIES.items()):
            history = History(client, f"https://github.com/acme/{name}", first=index * 1000)
            history.ship_daily(30, 8, before)
            history.ship_daily(5, count, now)
        firing = check(client)["firing"]
        assert [(a["repository"], a["metric"]) for a in firing] == [
            ("https://github.com/acme/thirty-percent", "lead_time")
        ]
        assert firing[0]["ratio"] == pytest.approx(1.3)


def test_each_deploy_is_evaluated_without_being_asked(engine, db_url):
    with alerting_server(engine, db_url) as (client, slack, _hook):
        slipped_history(client)
        (delivery,) = slack.wait_for(1)
        assert (
            "lead time (merge -> production) p50 10m00s -> 14m00s (+40%)" in delivery.json()["text"]
        )


def test_the_schedule_evaluates_when_nothing_arrives(engine, db_url):
    with alerting_server(engine, db_url, alert_interval_seconds=0.5) as (client, slack, _hook):
        History(client).ship_daily(5, 6, 10)
        # A target set now changes the verdict; no deploy follows, the schedule notices.
        client.post("/api/targets", json={"repository": "acme/shop", "target_seconds": 300})
        (delivery,) = slack.wait_for(1)
        assert (
            "lead time (merge -> production) p50 5m00s -> 10m00s (+100%) (target)"
            in delivery.json()["text"]
        )


def test_a_delivery_answered_500_is_retried_until_it_goes_through(engine, db_url):
    with alerting_server(engine, db_url, slack=[500, 503, 200]) as (client, slack, _hook):
        slipped_history(client)
        check(client)
        (alert,) = alerts(client, status="open")
        # The same message each time (with the alert's numbers as they are when it is sent).
        headers = [d.json()["blocks"][0]["text"]["text"] for d in slack.wait_for(3)]
        assert headers == [f"Lead time regression: {REPO}"] * 3
        notification = next(
            n for n in settled(client, alert["id"])["notifications"] if n["channel"] == "slack"
        )
        assert (notification["status"], notification["attempts"]) == ("sent", 3)
        assert notification["last_error"] is None


def test_a_failing_notifier_is_shown_and_the_alert_is_still_recorded(engine, db_url, caplog):
    # Slack says the channel is archived (410: give up at once); the webhook keeps failing.
    with alerting_server(engine, db_url, slack=[410], hook=[500], notify_max_attempts=2) as (
        client,
        slack,
        hook,
    ):
        slipped_history(client)
        check(client)
        (alert,) = alerts(client, status="open")
        by_channel = {n["channel"]: n for n in settled(client, alert["id"])["notifications"]}
        assert len(slack.deliveries) == 1 and len(hook.deliveries) == 2
        assert (by_channel["slack"]["status"], by_channel["slack"]["attempts"]) == ("failed", 1)
        assert (by_channel["webhook"]["status"], by_channel["webhook"]["attempts"]) == ("failed", 2)
        assert by_channel["log"]["status"] == "sent"
        ready = client.get("/readyz")
        assert ready.status_code == 200
        notifiers = ready.json()["notifiers"]
        assert notifiers["slack"]["state"] == "failing"
        assert notifiers["slack"]["last_error"].startswith("HTTP 410")
        since = datetime.fromisoformat(notifiers["slack"]["failing_since"])
        assert timedelta(0) <= datetime.now(UTC) - since < timedelta(minutes=5)
        assert notifiers["webhook"]["state"] == "failing"
        assert notifiers["log"]["state"] == "ok"
        assert "slack-secret" not in caplog.text and "slack-secret" not in ready.text
        # What the targets answered stays in the log: never shown to readers of /readyz or
        # the alerts (a target aimed at an internal service would echo it).
        assert "rollup_error" not in ready.text
        assert "rollup_error" not in client.get("/api/alerts", params={"status": "all"}).text
        assert "rollup_error" in caplog.text
        admin_view = client.get("/api/notifiers").json()  # auth off here; admin-only elsewhere
        assert admin_view["slack"]["last_answer"] == "rollup_error"
        assert (
            admin_view["slack"]["state"] == "failing" and admin_view["log"]["last_answer"] is None
        )
        overview = client.get("/", params={"repo": "acme/shop"}).text
        assert "Alert notifier <b>slack</b> is failing: HTTP 410" in overview
        assert "Alert notifier <b>webhook</b> is failing: HTTP 500" in overview


def test_an_unreachable_notifier_never_leaks_its_url(engine, db_url, caplog):
    closed = HookReceiver()  # bound, never started, then closed: nothing listens on its port
    closed.server.server_close()
    secret_url = closed.url + "/services/T0/B0/very-secret-token"
    with alerting_server(engine, db_url, slack_webhook_url=secret_url, notify_max_attempts=1) as (
        client,
        _slack,
        _hook,
    ):
        slipped_history(client)
        check(client)
        (alert,) = alerts(client, status="open")
        slack = next(
            n for n in settled(client, alert["id"])["notifications"] if n["channel"] == "slack"
        )
        assert slack["status"] == "failed" and slack["last_error"].startswith("ConnectError")
        listed = client.get("/api/alerts").text + client.get("/readyz").text
        assert "very-secret-token" not in listed + caplog.text


def test_ingestion_does_not_wait_for_a_notifier(engine, db_url):
    with alerting_server(engine, db_url) as (client, slack, _hook):
        slack.hold.clear()  # Slack takes the request and answers nothing until released
        history = slipped_history(client)
        assert slack.knocked.wait(20)
        started = time.monotonic()
        history.ship(NOW - timedelta(hours=1), 14)  # a merge and a deploy while Slack hangs
        assert slack.deliveries == []  # still held: the deploy was accepted meanwhile
        assert time.monotonic() - started < 10
        slack.hold.set()
        assert len(slack.wait_for(1)) == 1


def test_a_slow_step_is_named_in_the_lead_time_alert(engine, db_url):
    with alerting_server(engine, db_url) as (client, slack, _hook):
        for run in range(1, 9):  # four weeks of integration tests at 3 minutes
            steps = [("build", 60, "success"), ("integration-tests", 180, "success")]
            post_run(client, run, NOW - timedelta(days=10 + run), steps, branch="main")
        for run in range(9, 15):  # this week at 7 minutes
            steps = [("build", 60, "success"), ("integration-tests", 420, "success")]
            post_run(client, run, NOW - timedelta(days=run - 8), steps, branch="main")
        for run in range(15, 21):  # branch runs do not count
            steps = [("build", 900, "success")]
            post_run(client, run, NOW - timedelta(days=1), steps, branch="feature/x")
        slipped_history(client)  # the runs first: the alert fires while the history arrives
        check(client)
        by_metric = {(a["metric"], a["subject"]): a for a in alerts(client, status="open")}
        assert set(by_metric) == {("lead_time", ""), ("step", "integration-tests")}
        step = by_metric[("step", "integration-tests")]
        assert step["message"] == f"{REPO}: step `integration-tests` p50 3m00s -> 7m00s (+133%)"
        lead = by_metric[("lead_time", "")]
        assert lead["message"] == (
            f"{REPO}: lead time (merge -> production) p50 10m00s -> 14m00s (+40%); "
            "`integration-tests` 3m00s -> 7m00s"
        )
        assert [s["name"] for s in lead["detail"]["top_steps"]] == ["integration-tests", "build"]
        settled(client, lead["id"])
        texts = [d.json()["blocks"][1]["text"]["text"] for d in slack.wait_for(2)]
        assert any(
            "Slowest steps (p50): `integration-tests` 7m00s, `build` 1m00s" in t for t in texts
        )


def test_a_stuck_mergeset_alerts_once_and_resolves_quietly_once_shipped(engine, db_url):
    with alerting_server(engine, db_url) as (client, slack, _hook):
        history = History(client)
        now = datetime.now(UTC)  # not the module's NOW: the wait is measured to the minute
        history.ship(now - timedelta(days=1), 10)
        stuck_sha = history.merge(now - timedelta(minutes=30), title="Add <b>refunds</b>")
        history.merge(now - timedelta(minutes=5))  # within the budget: not stuck
        learned_five_minutes_ago(engine)
        check(client)
        check(client)
        (alert,) = alerts(client, status="open")
        assert (alert["metric"], alert["subject"]) == ("stuck_mergeset", stuck_sha)
        assert alert["message"].startswith(
            f"{REPO}: mergeset {stuck_sha[:10]} (Add <b>refunds</b>) has waited 30m"
        )
        assert alert["message"].endswith("with no deploy (budget 15m00s)")
        settled(client, alert["id"])
        (message,) = slack.deliveries
        assert "Add &lt;b&gt;refunds&lt;/b&gt;" in message.json()["blocks"][1]["text"]["text"]

        history.deploy(history.parent, datetime.now(UTC))  # ships both waiting mergesets
        check(client)
        (resolved,) = alerts(client, status="resolved")
        assert resolved["id"] == alert["id"]
        assert {n["event"] for n in resolved["notifications"]} == {"fired"}
        assert len(slack.deliveries) == 1


def learned_five_minutes_ago(engine) -> None:
    """As if the merges had been reported five minutes ago (past the stuck rule's grace)."""
    with engine.begin() as connection:
        connection.execute(
            Mergeset.__table__.update().values(created_at=NOW - timedelta(minutes=5))
        )


def test_a_team_target_is_the_baseline(engine, db_url):
    with alerting_server(engine, db_url) as (client, _slack, _hook):
        History(client).ship_daily(5, 6, 10)  # no history before this week
        assert check(client)["firing"] == []
        bad = client.post("/api/targets", json={"repository": "acme/shop", "target_seconds": -5})
        assert bad.status_code == 422
        response = client.post(
            "/api/targets", json={"repository": "acme/shop", "target_seconds": 300}
        )
        assert response.json() == {"repository": REPO, "target_seconds": 300}
        (alert,) = check(client)["firing"]
        assert (alert["current_seconds"], alert["baseline_seconds"]) == (600, 300)
        assert alert["detail"]["target"] is True
        assert alert["message"].endswith("5m00s -> 10m00s (+100%) (target)")


def test_alert_rules_per_repository(engine, db_url):
    with alerting_server(engine, db_url) as (client, _slack, _hook):
        history = History(client)
        history.ship(NOW - timedelta(days=40), 10)  # the repository, known before its rule
        url = "https://hooks.slack.com/services/T1/B1/own-secret"
        changed = client.post(
            "/api/alert-rules",
            json={"repository": "acme/shop", "fire_ratio": 1.5, "slack_webhook_url": url},
        )
        assert changed.status_code == 200, changed.text
        rule = changed.json()
        assert (rule["fire_ratio"], rule["resolve_ratio"], rule["min_mergesets"]) == (1.5, 1.1, 5)
        assert rule["channels"] == ["log", "slack", "webhook"]
        assert "own-secret" not in changed.text
        slipped_history(client, history)
        assert check(client)["firing"] == []  # +40% is under the repository's +50%

        flapping = client.post(
            "/api/alert-rules", json={"repository": "acme/shop", "resolve_ratio": 1.6}
        )
        assert flapping.status_code == 400
        assert "resolve_ratio must not exceed fire_ratio" in flapping.json()["error"]["message"]
        not_a_url = client.post(
            "/api/alert-rules", json={"repository": "acme/shop", "webhook_url": "ftp://x"}
        )
        assert not_a_url.status_code == 422
        unknown = client.post("/api/alert-rules", json={"repository": "acme/nothing"})
        assert unknown.status_code == 422
        assert unknown.json()["error"]["message"] == "no repository 'acme/nothing' is known yet"

        back = client.post("/api/alert-rules", json={"repository": "acme/shop", "fire_ratio": None})
        assert back.json()["fire_ratio"] == 1.25
        assert len(check(client)["firing"]) == 1
        listed = client.get("/api/alert-rules", params={"repo": "acme/shop"}).json()
        assert [r["fire_ratio"] for r in listed] == [1.25]


def test_evaluations_at_the_same_moment_open_one_alert(engine, db_url):
    with alerting_server(engine, db_url) as (client, _slack, _hook):
        slipped_history(client)
        sessions = db.session_factory(engine)
        settings = settings_for(db_url, slack_webhook_url="http://127.0.0.1:9/x")
        barrier = threading.Barrier(4)
        changes: list = []

        worker = AlertWorker(sessions, settings)

        def evaluate() -> None:
            barrier.wait()
            try:
                changes.extend(worker.evaluate_now())
            except Exception as error:  # a writer that lost a race may be told to retry
                changes.append(error)

        threads = [threading.Thread(target=evaluate) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        (alert,) = alerts(client, status="open")
        assert [n["channel"] for n in alert["notifications"]] == ["log", "slack", "webhook"]
        fired = [c for c in changes if isinstance(c, regression.Change)]
        assert len(fired) <= 1


def test_terminal_alerts_check_and_target(engine, db_url, monkeypatch):
    from click.testing import CliRunner

    from leadtime.tracer.cli import cli

    with alerting_server(engine, db_url) as (client, _slack, _hook):
        monkeypatch.setenv("LEADTIME_URL", str(client.base_url))
        History(client).ship_daily(5, 6, 10)
        quiet = CliRunner().invoke(cli, ["check"])
        assert quiet.exit_code == 0, quiet.output
        assert "no alerts" in quiet.output

        assert CliRunner().invoke(cli, ["target", "set", "acme/shop", "5m"]).exit_code == 0
        assert "5m00s" in CliRunner().invoke(cli, ["target", "list"]).output
        firing = CliRunner().invoke(cli, ["check"])
        assert firing.exit_code == 1
        assert "fired 1, resolved 0" in firing.output and "+100%" in firing.output

        listed = CliRunner().invoke(cli, ["alerts", "--status", "open"])
        assert (
            listed.exit_code == 0
            and "lead time (merge -> production) p50 5m00s -> 10m00s" in listed.output
        )
        rule = CliRunner().invoke(cli, ["alerts", "rule", "acme/shop", "--floor", "10m"])
        assert rule.exit_code == 0, rule.output
        assert "+10m00s" in rule.output and "target 5m00s" in rule.output
        bad = CliRunner().invoke(cli, ["target", "set", "acme/shop", "soon"])
        assert bad.exit_code == 2 and "not a duration" in bad.output


def test_alerts_go_by_mail_to_a_repositorys_email_to(engine, db_url):
    with (
        mail_server() as (inbox, port),
        alerting_server(engine, db_url, smtp_host="127.0.0.1", smtp_port=port) as (client, _, _h),
    ):
        history = History(client)
        history.ship(NOW - timedelta(days=40), 10)
        rule = {"repository": "acme/shop", "email_to": "shop-team@example.com"}
        changed = client.post("/api/alert-rules", json=rule)
        assert changed.status_code == 200, changed.text
        assert "email" in changed.json()["channels"]
        bad = client.post("/api/alert-rules", json={**rule, "email_to": "not an address"})
        assert bad.status_code == 422
        slipped_history(client, history)
        (fired,) = check(client)["firing"]
        settled(client, fired["id"])
        (mail,) = inbox.to("shop-team@example.com")
        assert "acme/shop: lead time (merge -> production) p50 10m00s -> 14m00s" in mail["Subject"]
        assert "https://leadtime.example.com/" in mail.get_content()
