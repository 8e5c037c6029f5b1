"""Pages from pagers: PagerDuty (signed, redeliveries once), Opsgenie and Alertmanager webhooks,
each verified, parsed and stored as one page per incident."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
import pytest

from tests.factories import load_payload
from tests.server.conftest import LiveServer, count_rows, settings_for, wipe

REPO = "https://github.com/acme/shop"


SECRET = "pd-test-secret"


T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


# PagerDuty's V3 envelope, as its developer documentation shows it (cut to what matters).
PAGERDUTY_TRIGGERED = load_payload("pagerduty_incident_triggered")


def pagerduty_event(event_type: str, occurred_at: str, event_id: str) -> dict:
    payload = copy.deepcopy(PAGERDUTY_TRIGGERED)
    payload["event"].update(event_type=event_type, occurred_at=occurred_at, id=event_id)
    return payload


OPSGENIE_CREATE = load_payload("opsgenie_create")


ALERTMANAGER_FIRING = load_payload("alertmanager_firing")


@pytest.fixture
def pd(engine, db_url):
    """A live server that knows the PagerDuty secret."""
    with LiveServer(settings_for(db_url, auth="off", pagerduty_webhook_secret=SECRET)) as server:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            yield client
        wipe(engine)


def sign(body: bytes, secret: str = SECRET) -> str:
    return "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def send_pagerduty(client, payload: dict, delivery: str | None = None, signature=None):
    body = json.dumps(payload).encode()
    headers = {"content-type": "application/json", "x-pagerduty-signature": signature or sign(body)}
    if delivery:
        headers["x-webhook-id"] = delivery
    return client.post("/webhooks/pagerduty", content=body, headers=headers)


def test_pagerduty_incident_lifecycle_is_one_page(pd):
    assert send_pagerduty(pd, PAGERDUTY_TRIGGERED, "d-1").status_code == 202
    acknowledged = pagerduty_event("incident.acknowledged", "2026-11-20T10:55:00.000Z", "e-2")
    assert send_pagerduty(pd, acknowledged, "d-2").status_code == 202
    resolved = pagerduty_event("incident.resolved", "2026-11-20T11:20:00.000Z", "e-3")
    assert send_pagerduty(pd, resolved, "d-3").status_code == 202
    (stored,) = pd.get("/api/pages").json()
    assert (stored["source"], stored["external_id"], stored["pager_service"]) == (
        "pagerduty",
        "PGR0VU2",
        "checkout-api",
    )
    assert (stored["title"], stored["urgency"], stored["team"]) == (
        "High 5xx rate on checkout",
        "high",
        "Payments",
    )
    assert stored["status"] == "resolved"
    assert stored["triggered_at"].startswith("2026-11-20T10:52:07")
    assert stored["acknowledged_at"].startswith("2026-11-20T10:55:00")
    assert stored["resolved_at"].startswith("2026-11-20T11:20:00")
    assert stored["url"] == "https://acme.pagerduty.com/incidents/PGR0VU2"

    reopened = pagerduty_event("incident.reopened", "2026-11-20T11:30:00.000Z", "e-4")
    send_pagerduty(pd, reopened, "d-4")
    (stored,) = pd.get("/api/pages").json()
    assert (stored["status"], stored["resolved_at"]) == ("triggered", None)


def test_a_replayed_reopen_older_than_the_resolve_changes_nothing(pd):
    send_pagerduty(pd, PAGERDUTY_TRIGGERED, "r-1")
    reopened = pagerduty_event("incident.reopened", "2026-11-20T11:00:00.000Z", "r-e2")
    resolved = pagerduty_event("incident.resolved", "2026-11-20T11:20:00.000Z", "r-e3")
    send_pagerduty(pd, reopened, "r-2")
    send_pagerduty(pd, resolved, "r-3")
    answer = send_pagerduty(pd, reopened, "r-2-replayed")  # the old reopen, delivered again
    assert answer.status_code == 202
    (stored,) = pd.get("/api/pages").json()
    assert stored["status"] == "resolved" and stored["resolved_at"].startswith("2026-11-20T11:20")


def test_a_replayed_resolve_older_than_a_later_reopen_changes_nothing(pd):
    send_pagerduty(pd, PAGERDUTY_TRIGGERED, "q-1")
    resolved = pagerduty_event("incident.resolved", "2026-11-20T11:00:00.000Z", "q-e2")
    reopened = pagerduty_event("incident.reopened", "2026-11-20T11:20:00.000Z", "q-e3")
    acknowledged = pagerduty_event("incident.acknowledged", "2026-11-20T11:10:00.000Z", "q-e4")
    send_pagerduty(pd, resolved, "q-2")
    send_pagerduty(pd, reopened, "q-3")
    assert send_pagerduty(pd, resolved, "q-2-replayed").status_code == 202  # the old resolve
    assert send_pagerduty(pd, acknowledged, "q-4").status_code == 202  # late: before the reopen
    (stored,) = pd.get("/api/pages").json()
    assert stored["status"] == "triggered" and stored["resolved_at"] is None


def test_pagerduty_redelivery_is_stored_once(pd, engine):
    first = send_pagerduty(pd, PAGERDUTY_TRIGGERED, "same-delivery")
    again = send_pagerduty(pd, PAGERDUTY_TRIGGERED, "same-delivery")
    assert first.json()["duplicate"] is False and again.json()["duplicate"] is True
    assert again.status_code == 202
    assert count_rows(engine)["pages"] == 1
    # the same event under another delivery id changes nothing either
    send_pagerduty(pd, PAGERDUTY_TRIGGERED, "other-delivery")
    assert count_rows(engine)["pages"] == 1


def test_pagerduty_signatures(pd, engine):
    body = json.dumps(PAGERDUTY_TRIGGERED).encode()
    headers = {"content-type": "application/json"}
    missing = pd.post("/webhooks/pagerduty", content=body, headers=headers)
    assert missing.status_code == 401
    assert missing.json()["error"]["message"] == "X-PagerDuty-Signature is missing"
    wrong = pd.post(
        "/webhooks/pagerduty",
        content=body,
        headers={**headers, "x-pagerduty-signature": sign(body, "another-secret")},
    )
    assert wrong.status_code == 401
    assert "does not match" in wrong.json()["error"]["message"]
    tampered = pd.post(
        "/webhooks/pagerduty",
        content=body.replace(b"checkout-api", b"billing-api"),
        headers={**headers, "x-pagerduty-signature": sign(body)},
    )
    assert tampered.status_code == 401
    assert count_rows(engine)["pages"] == 0
    # while a secret rotates PagerDuty signs with both; one matching is enough
    rotating = f"{sign(body, 'old-secret')}, {sign(body)}"
    assert send_pagerduty(pd, PAGERDUTY_TRIGGERED, signature=rotating).status_code == 202


def test_the_documented_test_vector_verifies():
    from leadtime.server.ingest.pagerduty import verify_signature as verify_pagerduty

    body = b'{"event":{"id":"01TEST","event_type":"pagey.ping"}}'
    signature = "v1=1e4157f6effb576618a50c83c69f1509c7af877ce15c033a5289c4635002108a"
    verify_pagerduty(body, signature, "pd-test-secret")  # raises if it does not match


def test_without_a_secret_every_pagerduty_delivery_is_refused(client, engine):
    response = send_pagerduty(client, PAGERDUTY_TRIGGERED)
    assert response.status_code == 401
    assert "LEADTIME_PAGERDUTY_WEBHOOK_SECRET" in response.json()["error"]["message"]
    assert count_rows(engine)["pages"] == 0


def test_pings_and_notes_are_accepted_and_ignored(pd, engine):
    ping = {
        "event": {
            "id": "01TEST",
            "event_type": "pagey.ping",
            "resource_type": "pagey",
            "data": {"message": "Hello from your friend Pagey!", "type": "ping"},
        }
    }
    assert send_pagerduty(pd, ping).json() == {"accepted": 0, "pages": [], "duplicate": False}
    note = pagerduty_event("incident.annotated", "2026-11-20T10:53:00Z", "n-1")
    note["event"]["data"] = {"type": "incident_note", "incident": {"id": "PGR0VU2"}, "content": "x"}
    assert send_pagerduty(pd, note).status_code == 202
    assert count_rows(engine)["pages"] == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "body is not JSON"),
        (b"[]", "body must be a JSON object"),
        (b'{"event": 3}', "event must be an object"),
        (
            b'{"event": {"event_type": "incident.triggered", "data": {"type": "incident"}}}',
            "event.data.id",
        ),
    ],
)
def test_malformed_pagerduty_bodies_are_400_and_store_nothing(pd, engine, body, message):
    response = pd.post(
        "/webhooks/pagerduty",
        content=body,
        headers={"content-type": "application/json", "x-pagerduty-signature": sign(body)},
    )
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]
    assert count_rows(engine)["pages"] == 0


def test_opsgenie_create_acknowledge_close(client):
    assert client.post("/webhooks/opsgenie", json=OPSGENIE_CREATE).status_code == 202
    acknowledge = copy.deepcopy(OPSGENIE_CREATE)
    acknowledge["action"] = "Acknowledge"
    acknowledge["alert"]["updatedAt"] = 1763636227000000000  # epoch nanoseconds, 5 min later
    close = copy.deepcopy(acknowledge)
    close["action"] = "Close"
    close["alert"]["updatedAt"] = 1763637127000000000  # 20 min after the create
    for payload in (acknowledge, close, close):
        assert client.post("/webhooks/opsgenie", json=payload).status_code == 202
    (stored,) = client.get("/api/pages").json()
    assert (stored["source"], stored["external_id"]) == (
        "opsgenie",
        OPSGENIE_CREATE["alert"]["alertId"],
    )
    assert stored["pager_service"] == "checkout-api"  # the service: tag wins over the entity
    assert stored["team"] == "payments" and stored["status"] == "resolved"
    assert stored["triggered_at"].startswith("2025-11-20T10:52:07.104")  # createdAt in ms
    assert stored["acknowledged_at"].startswith("2025-11-20T10:57:07")
    assert stored["resolved_at"].startswith("2025-11-20T11:12:07")


def test_opsgenie_bad_times_are_refused(client, engine):
    bad = copy.deepcopy(OPSGENIE_CREATE)
    bad["alert"]["createdAt"] = "yesterday"
    response = client.post("/webhooks/opsgenie", json=bad)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "alert.createdAt must be a positive epoch number"
    assert count_rows(engine)["pages"] == 0


def test_alertmanager_each_firing_alert_is_a_page_and_resolved_closes_it(client, engine):
    assert client.post("/webhooks/alertmanager", json=ALERTMANAGER_FIRING).json()["accepted"] == 2
    assert client.post("/webhooks/alertmanager", json=ALERTMANAGER_FIRING).status_code == 202
    assert count_rows(engine)["pages"] == 2  # the group again (repeat_interval) is no new page
    resolved = copy.deepcopy(ALERTMANAGER_FIRING)
    resolved["status"] = "resolved"
    resolved["alerts"] = resolved["alerts"][:1]
    resolved["alerts"][0].update(status="resolved", endsAt="2026-11-20T11:07:07Z")
    client.post("/webhooks/alertmanager", json=resolved)
    pages = {p["pager_service"]: p for p in client.get("/api/pages").json()}
    assert set(pages) == {"checkout-api", "billing"}  # `service`, else `job`
    checkout = pages["checkout-api"]
    assert (checkout["title"], checkout["urgency"], checkout["status"]) == (
        "5xx > 2% for 5m",
        "page",
        "resolved",
    )
    assert checkout["resolved_at"].startswith("2026-11-20T11:07:07")
    assert checkout["external_id"] == "c4ab5bab8a5e4f1d@2026-11-20T10:52:07.123000+00:00"
    assert pages["billing"]["title"] == "DiskFull" and pages["billing"]["team"] == "core"


def test_alertmanager_other_versions_are_refused(client, engine):
    response = client.post("/webhooks/alertmanager", json={**ALERTMANAGER_FIRING, "version": "3"})
    assert response.status_code == 400
    assert "only Alertmanager's version 4" in response.json()["error"]["message"]
    assert count_rows(engine)["pages"] == 0


def test_pager_webhooks_without_signatures_need_a_token(engine, db_url):
    with LiveServer(settings_for(db_url, auth="on")) as server:
        for path, payload in (("opsgenie", OPSGENIE_CREATE), ("alertmanager", ALERTMANAGER_FIRING)):
            response = httpx.post(f"{server.url}/webhooks/{path}", json=payload)
            assert response.status_code == 401
    assert count_rows(engine)["pages"] == 0


def test_identical_alertmanager_deliveries_at_once_are_stored_once_without_a_503(
    live_server, engine
):
    """Alertmanager sends a group to every replica of a receiver, and again on its repeat
    interval; it carries no delivery id. Eight identical deliveries at the same moment: all
    2xx, the group's pages stored once."""
    barrier = threading.Barrier(8)

    def deliver(_: int) -> int:
        with httpx.Client(base_url=live_server.url, timeout=60) as client:
            barrier.wait()
            return client.post("/webhooks/alertmanager", json=ALERTMANAGER_FIRING).status_code

    for _round in range(3):
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(deliver, range(8)))
        assert statuses == [202] * 8
    assert count_rows(engine)["pages"] == 2
    wipe(engine)
