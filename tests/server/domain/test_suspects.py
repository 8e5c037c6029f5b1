"""The suspect deploy of a page, on plain values and on a real server: the latest successful
production deploy of its service before it within the lookback, candidates, late deploys,
unmatched services and a person's word on the link."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from leadtime.server.domain.suspects import suspect_and_candidates
from tests.factories import make_deploy, make_mergeset, make_page

REPO = "https://github.com/acme/shop"


T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


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


def test_suspect_and_candidates_on_a_built_history(client):
    make_mergeset(client, "a" * 40, T0 - timedelta(hours=3), "ada")
    old = make_deploy(client, "shop", "a" * 40, T0 - timedelta(hours=2))
    make_mergeset(client, "b" * 40, T0 - timedelta(minutes=30), "grace", parent="a" * 40)
    suspect = make_deploy(client, "shop", "b" * 40, T0 - timedelta(minutes=6))
    # not production
    make_deploy(client, "shop", "b" * 40, T0 - timedelta(minutes=3), environment="staging")
    make_deploy(client, "billing", "c" * 40, T0 - timedelta(minutes=1))  # another service
    stored = make_page(client, "shop", T0, "p-1")
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
    make_deploy(client, "shop", "a" * 40, T0 - timedelta(hours=25))
    assert make_page(client, "shop", T0, "p-1")["suspect"] is None  # 25 h is past the lookback
    early = make_page(client, "shop", T0 - timedelta(days=3), "p-2")
    assert early["suspect"] is None and early["candidates"] == []


def test_a_late_deploy_report_becomes_the_suspect(client):
    make_deploy(client, "shop", "a" * 40, T0 - timedelta(hours=2))
    first = make_page(client, "shop", T0, "p-1")
    late = make_deploy(
        client, "shop", "b" * 40, T0 - timedelta(minutes=4)
    )  # reported after the page
    again = client.get(f"/api/pages/{first['id']}").json()
    assert again["suspect"]["id"] == late


def test_unmatched_pages_are_kept_and_match_once_mapped(client):
    shop_deploy = make_deploy(client, "shop", "a" * 40, T0 - timedelta(minutes=10))
    unmatched = make_page(client, "checkout-api", T0, "p-1")
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
    older = make_deploy(client, "shop", "a" * 40, T0 - timedelta(hours=3))
    newer = make_deploy(client, "shop", "b" * 40, T0 - timedelta(minutes=5))
    stored = make_page(client, "shop", T0, "p-1")
    link = f"/api/pages/{stored['id']}/link"

    reassigned = client.post(link, json={"action": "reassign", "deploy_id": older}).json()
    assert reassigned["link"] == "confirmed" and reassigned["suspect"]["id"] == older
    assert [c["id"] for c in reassigned["candidates"]] == [newer]
    # a deploy arriving later does not override a person's word
    make_deploy(client, "shop", "c" * 40, T0 - timedelta(minutes=1))
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
    stored = make_page(client, "shop", T0, "incident-7", urgency="high")
    again = make_page(client, "shop", T0, "incident-7", title="shop is slow")
    assert again["id"] == stored["id"] and again["title"] == "shop is slow"
    resolved = client.post(
        f"/api/pages/{stored['id']}/resolve",
        json={"resolved_at": (T0 + timedelta(minutes=42)).isoformat()},
    ).json()
    assert resolved["status"] == "resolved"
    assert resolved["resolved_at"].startswith("2026-11-20T10:42")
    bad = client.post("/api/pages", json={"service": "shop"})
    assert bad.status_code == 422 and "title" in bad.json()["error"]["message"]
