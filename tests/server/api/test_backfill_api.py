"""`POST /api/backfill`: a bad entry refuses the whole import with a clear 4xx and stores
nothing; a duplicate sha within one import is one mergeset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.server.conftest import count_rows

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
REPO = "https://github.com/acme/shop"


def mergeset(index: int) -> dict:
    return {
        "sha": f"{index:040x}",
        "merged_at": (T0 + timedelta(minutes=index)).isoformat(),
        "parent_sha": f"{index - 1:040x}" if index > 1 else None,
        "pr_number": index,
        "pr_title": f"change {index}",
    }


def test_a_bad_entry_is_a_clear_4xx_and_nothing_is_stored(client, engine):
    before = count_rows(engine)
    body = {"repository": REPO, "mergesets": [mergeset(1), {**mergeset(2), "sha": "zz"}]}
    answer = client.post("/api/backfill", json=body)
    assert answer.status_code in (400, 422)
    assert "sha" in answer.text
    too_many = {"repository": REPO, "mergesets": [mergeset(i) for i in range(1, 5002)]}
    assert client.post("/api/backfill", json=too_many).status_code in (400, 413, 422)
    deploy = {"sha": "a" * 40, "service": "shop", "environment": "production"}
    deploys = [
        deploy | {"finished_at": (T0 + timedelta(seconds=i)).isoformat()} for i in range(501)
    ]
    answer = client.post("/api/backfill", json={"repository": REPO, "deploys": deploys})
    assert answer.status_code in (400, 422) and "500" in answer.text
    assert count_rows(engine) == before


def test_an_import_stores_each_sha_once_with_its_pull_request_and_says_what_was_new(client):
    body = {
        "repository": REPO,
        "mergesets": [mergeset(1), mergeset(2), {**mergeset(2), "pr_title": "renamed"}],
        "deploys": [
            {
                "sha": mergeset(2)["sha"],
                "service": "shop",
                "environment": "production",
                "finished_at": (T0 + timedelta(hours=1)).isoformat(),
                "id": "tag:production:v1",
            }
        ],
    }
    answer = client.post("/api/backfill", json=body)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert (result["mergesets_new"], result["deploys_new"]) == (2, 1)
    assert result["measured_since_before"] is None
    assert result["measured_since"].startswith("2026-11-20T10:01")
    rows = {m["sha"]: m for m in client.get("/api/mergesets").json()}
    assert rows[mergeset(2)["sha"]]["pr_title"] == "renamed"  # the later report wins
    assert rows[mergeset(2)["sha"]]["lead_time_seconds"] == 3600 - 120
    again = client.post("/api/backfill", json=body).json()
    assert (again["mergesets_new"], again["deploys_new"]) == (0, 0)
