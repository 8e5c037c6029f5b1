"""Pages from PagerDuty, Opsgenie, Alertmanager and the API, each verified and idempotent, and
linked to their suspect deploy on built histories with known answers. Payloads have the shapes
of the sources' documented examples; signatures are computed here with the secret."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from leadtime.server.domain.suspects import suspect_and_candidates
from tests.server.conftest import LiveServer, count_rows, settings_for, wipe

REPO = "https://github.com/acme/shop"
SECRET = "pd-test-secret"
T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)

# PagerDuty's V3 envelope, as its developer documentation shows it (cut to what matters).
PAGERDUTY_TRIGGERED = {
    "event": {
        "id": "5ac64822-4adc-4fda-ade0-410becf0de4f",
        "event_type": "incident.triggered",
        "resource_type": "incident",
        "occurred_at": "2026-11-20T10:52:07.169Z",
        "agent": None,
        "client": {"name": "Alertmanager"},
        "data": {
            "id": "PGR0VU2",
            "type": "incident",
            "self": "https://api.pagerduty.com/incidents/PGR0VU2",
            "number": 2,
            "html_url": "https://acme.pagerduty.com/incidents/PGR0VU2",
            "status": "triggered",
            "title": "High 5xx rate on checkout",
            "created_at": "2026-11-20T10:52:07Z",
            "urgency": "high",
            "service": {
                "id": "PF9KMXH",
                "summary": "checkout-api",
                "html_url": "https://acme.pagerduty.com/services/PF9KMXH",
                "type": "service_reference",
            },
            "incident_key": "d3640fbd41094207a1c11e58e46b1662",
            "priority": {"summary": "P1"},
            "teams": [{"summary": "Payments", "type": "team_reference"}],
        },
    }
}


def pagerduty_event(event_type: str, occurred_at: str, event_id: str) -> dict:
    payload = copy.deepcopy(PAGERDUTY_TRIGGERED)
    payload["event"].update(event_type=event_type, occurred_at=occurred_at, id=event_id)
    return payload


OPSGENIE_CREATE = {
    "action": "Create",
    "alert": {
        "alertId": "052652ac-5d1c-464a-812a-7dd18bbfba8c",
        "tinyId": "23",
        "alias": "checkout-5xx",
        "message": "High 5xx rate on checkout",
        "tags": ["service:checkout-api", "env:production"],
        "teams": ["payments"],
        "entity": "checkout",
        "source": "prometheus",
        "createdAt": 1763635927104,
        "updatedAt": 1763635927166002000,
        "username": "System",
        "userId": "",
    },
    "source": {"name": "", "type": "API"},
    "integrationId": "37c8f316-17c6-49d7-899b-9c7e540c048d",
    "integrationName": "leadtime",
}

ALERTMANAGER_FIRING = {
    "version": "4",
    "groupKey": '{}/{severity="page"}:{alertname="HighErrorRate"}',
    "truncatedAlerts": 0,
    "status": "firing",
    "receiver": "leadtime",
    "groupLabels": {"alertname": "HighErrorRate"},
    "commonLabels": {"alertname": "HighErrorRate", "service": "checkout-api", "severity": "page"},
    "commonAnnotations": {"summary": "5xx > 2% for 5m"},
    "externalURL": "http://alertmanager:9093",
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "HighErrorRate", "service": "checkout-api", "severity": "page"},
            "annotations": {"summary": "5xx > 2% for 5m"},
            "startsAt": "2026-11-20T10:52:07.123Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph?g0.expr=rate",
            "fingerprint": "c4ab5bab8a5e4f1d",
        },
        {
            "status": "firing",
            "labels": {"alertname": "DiskFull", "job": "billing", "team": "core"},
            "annotations": {},
            "startsAt": "2026-11-20T11:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph?g0.expr=disk",
            "fingerprint": "0a1b2c3d4e5f6789",
        },
    ],
}


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


def deploy(
    client, service: str, sha: str, finished_at: datetime, status="succeeded", env="production"
):
    body = {
        "service": service,
        "repository": REPO if service == "shop" else f"https://github.com/acme/{service}",
        "environment": env,
        "sha": sha,
        "status": status,
        "finished_at": finished_at.isoformat(),
    }
    response = client.post("/api/deploys", json=body)
    assert response.status_code == 200, response.text
    return response.json()["id"]


def merge(client, sha: str, merged_at: datetime, author: str, parent: str | None = None):
    body = {"repository": REPO, "sha": sha, "merged_at": merged_at.isoformat(), "author": author}
    if parent:
        body["parent_sha"] = parent
    assert client.post("/api/merges", json=body).status_code == 200


def page(client, service: str, triggered_at: datetime, external_id: str, **extra) -> dict:
    body = {
        "id": external_id,
        "service": service,
        "title": f"{service} is down",
        "triggered_at": triggered_at.isoformat(),
        **extra,
    }
    response = client.post("/api/pages", json=body)
    assert response.status_code == 200, response.text
    return response.json()


# The rule on plain values --------------------------------------------------------------------


def test_the_suspect_is_the_latest_deploy_before_the_page_within_the_lookback():
    day = timedelta(hours=24)
    finished = [
        (1, T0 - timedelta(hours=30)),
        (2, T0 - timedelta(hours=5)),
        (3, T0 - timedelta(minutes=6)),
    ]
    assert suspect_and_candidates(T0, finished, day) == (3, [2])
    assert suspect_and_candidates(T0, [(4, T0 + timedelta(minutes=1))], day) == (None, [])
    assert suspect_and_candidates(T0, [(1, T0 - timedelta(hours=30))], day) == (None, [])
    assert suspect_and_candidates(T0, [], day) == (None, [])


# PagerDuty -------------------------------------------------------------------------------------


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


# Opsgenie and Alertmanager -----------------------------------------------------------------------


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


# Linking ------------------------------------------------------------------------------------------


def test_suspect_and_candidates_on_a_built_history(client):
    merge(client, "a" * 40, T0 - timedelta(hours=3), "ada")
    old = deploy(client, "shop", "a" * 40, T0 - timedelta(hours=2))
    merge(client, "b" * 40, T0 - timedelta(minutes=30), "grace", parent="a" * 40)
    suspect = deploy(client, "shop", "b" * 40, T0 - timedelta(minutes=6))
    deploy(client, "shop", "b" * 40, T0 - timedelta(minutes=3), env="staging")  # not production
    deploy(client, "billing", "c" * 40, T0 - timedelta(minutes=1))  # another service
    stored = page(client, "shop", T0, "p-1")
    assert stored["suspect"]["id"] == suspect
    assert stored["seconds_after_deploy"] == pytest.approx(6 * 60)
    assert [m["author"] for m in stored["suspect"]["mergesets"]] == ["grace"]
    assert [c["id"] for c in stored["candidates"]] == [old]
    assert stored["repository"] == REPO and stored["link"] == "auto"

    # both ways: the deploy lists the page that followed it
    deploys = {d["id"]: d for d in client.get("/api/deploys").json()}
    assert [p["id"] for p in deploys[suspect]["pages"]] == [stored["id"]]
    assert deploys[old]["pages"] == []


def test_no_deploy_in_the_window_and_a_page_before_any_deploy(client):
    deploy(client, "shop", "a" * 40, T0 - timedelta(hours=25))
    assert page(client, "shop", T0, "p-1")["suspect"] is None  # 25 h is past the lookback
    early = page(client, "shop", T0 - timedelta(days=3), "p-2")
    assert early["suspect"] is None and early["candidates"] == []


def test_a_late_deploy_report_becomes_the_suspect(client):
    deploy(client, "shop", "a" * 40, T0 - timedelta(hours=2))
    first = page(client, "shop", T0, "p-1")
    late = deploy(client, "shop", "b" * 40, T0 - timedelta(minutes=4))  # reported after the page
    again = client.get(f"/api/pages/{first['id']}").json()
    assert again["suspect"]["id"] == late


def test_unmatched_pages_are_kept_and_match_once_mapped(client):
    shop_deploy = deploy(client, "shop", "a" * 40, T0 - timedelta(minutes=10))
    unmatched = page(client, "checkout-api", T0, "p-1")
    assert unmatched["service"] is None and unmatched["suspect"] is None
    listed = client.get("/api/pages", params={"unmatched": "true"}).json()
    assert [p["id"] for p in listed] == [unmatched["id"]]

    mapping = {"pager_service": "checkout-api", "service": "shop"}
    assert client.post("/api/service-mappings", json=mapping).status_code == 200
    matched = client.get(f"/api/pages/{unmatched['id']}").json()
    assert matched["service"] == "shop" and matched["suspect"]["id"] == shop_deploy
    assert client.get("/api/pages", params={"unmatched": "true"}).json() == []
    assert client.get("/api/service-mappings").json() == [{**mapping, "source": "api"}]

    assert client.delete("/api/service-mappings/checkout-api").status_code == 204
    assert client.get(f"/api/pages/{unmatched['id']}").json()["service"] is None
    assert client.delete("/api/service-mappings/checkout-api").status_code == 404


def test_a_person_confirms_reassigns_or_clears_the_link(client):
    older = deploy(client, "shop", "a" * 40, T0 - timedelta(hours=3))
    newer = deploy(client, "shop", "b" * 40, T0 - timedelta(minutes=5))
    stored = page(client, "shop", T0, "p-1")
    link = f"/api/pages/{stored['id']}/link"

    reassigned = client.post(link, json={"action": "reassign", "deploy_id": older}).json()
    assert reassigned["link"] == "confirmed" and reassigned["suspect"]["id"] == older
    assert [c["id"] for c in reassigned["candidates"]] == [newer]
    # a deploy arriving later does not override a person's word
    deploy(client, "shop", "c" * 40, T0 - timedelta(minutes=1))
    assert client.get(f"/api/pages/{stored['id']}").json()["suspect"]["id"] == older

    cleared = client.post(link, json={"action": "clear"}).json()
    assert cleared["link"] == "cleared" and cleared["suspect"] is None
    assert len(cleared["candidates"]) == 3
    automatic = client.post(link, json={"action": "auto"}).json()
    assert automatic["link"] == "auto" and automatic["suspect"]["id"] != older

    missing = client.post(link, json={"action": "reassign"})
    assert missing.status_code == 400 and "needs deploy_id" in missing.json()["error"]["message"]
    unknown = client.post(link, json={"action": "confirm", "deploy_id": 999999})
    assert unknown.status_code == 404
    assert client.post(link, json={"action": "blame"}).status_code == 422
    assert client.post("/api/pages/999999/link", json={"action": "clear"}).status_code == 404


def test_api_pages_resolve_and_update_by_id(client):
    stored = page(client, "shop", T0, "incident-7", urgency="high")
    again = page(client, "shop", T0, "incident-7", title="shop is slow")
    assert again["id"] == stored["id"] and again["title"] == "shop is slow"
    resolved = client.post(
        f"/api/pages/{stored['id']}/resolve",
        json={"resolved_at": (T0 + timedelta(minutes=42)).isoformat()},
    ).json()
    assert resolved["status"] == "resolved"
    assert resolved["resolved_at"].startswith("2026-11-20T10:42")
    bad = client.post("/api/pages", json={"service": "shop"})
    assert bad.status_code == 422 and "title" in bad.json()["error"]["message"]
