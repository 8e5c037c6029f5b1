"""POST /api/merges and /api/deploys for systems that send no spans; the read endpoints."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.server.conftest import count_rows

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
REPO = "https://github.com/acme/shop"


def sha(n: int) -> str:
    return f"{n:040x}"


def merge(client, n: int, minutes: int, **extra):
    body = {
        "repository": REPO,
        "sha": sha(n),
        "merged_at": (T0 + timedelta(minutes=minutes)).isoformat(),
        **extra,
    }
    response = client.post("/api/merges", json=body)
    assert response.status_code == 200, response.text


def deploy(client, n: int, minutes: int | None, status="succeeded", **extra):
    body = {
        "service": "shop",
        "repository": REPO,
        "environment": "production",
        "sha": sha(n),
        "status": status,
        **extra,
    }
    if minutes is not None:
        body["finished_at"] = (T0 + timedelta(minutes=minutes)).isoformat()
    response = client.post("/api/deploys", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def by_sha(client, **params) -> dict:
    return {m["sha"]: m for m in client.get("/api/mergesets", params=params).json()}


def test_lead_time_to_the_second_with_pr_fields(client):
    merge(
        client,
        1,
        0,
        pr_number=12,
        pr_title="Faster checkout",
        pr_author="ada",
        pr_url=f"{REPO}/pull/12",
    )
    deploy(client, 1, 14)
    found = by_sha(client)[sha(1)]
    assert found["lead_time_seconds"] == 14 * 60
    assert found["deployed_at"] == "2026-11-20T10:14:00Z"
    assert (found["pr_number"], found["pr_title"], found["pr_author"]) == (
        12,
        "Faster checkout",
        "ada",
    )
    assert found["merged_at_source"] == "merge"
    assert found["over_budget"] is False and found["batched"] is False


def test_a_deploy_containing_three_mergesets_is_batched(client):
    for n in (1, 2, 3):
        merge(client, n, n)
    deploy(client, 3, 30)
    found = by_sha(client)
    assert all(found[sha(n)]["batched"] for n in (1, 2, 3))
    assert [found[sha(n)]["lead_time_seconds"] for n in (1, 2, 3)] == [29 * 60, 28 * 60, 27 * 60]
    assert [found[sha(n)]["over_budget"] for n in (1, 2, 3)] == [True, True, True]
    deploys = client.get("/api/deploys").json()
    assert deploys[0]["batched"] is True
    assert [m["sha"] for m in deploys[0]["mergesets"]] == [sha(1), sha(2), sha(3)]


def test_failed_deploy_ships_nothing_and_the_next_success_does(client):
    merge(client, 1, 0)
    deploy(client, 1, 5, status="failed")
    assert by_sha(client)[sha(1)]["deployed_at"] is None
    deploy(client, 1, 9)
    assert by_sha(client)[sha(1)]["lead_time_seconds"] == 9 * 60


def test_redeploy_of_the_same_sha_keeps_the_first_lead_time(client):
    merge(client, 1, 0)
    deploy(client, 1, 7)
    deploy(client, 1, 20)
    assert by_sha(client)[sha(1)]["lead_time_seconds"] == 7 * 60
    second = client.get("/api/deploys").json()[0]
    assert second["mergesets"] == []


def test_a_late_report_of_an_older_deploy_is_placed_in_order(client):
    merge(client, 1, 0)
    merge(client, 2, 10)
    deploy(client, 2, 30)  # arrives first, though it happened last
    deploy(client, 1, 12)
    found = by_sha(client)
    assert found[sha(1)]["lead_time_seconds"] == 12 * 60
    assert found[sha(2)]["lead_time_seconds"] == 20 * 60
    assert not found[sha(1)]["batched"] and not found[sha(2)]["batched"]


def test_a_deploy_may_list_exactly_what_it_ships(client):
    for n in (1, 2, 3):
        merge(client, n, n)
    deploy(client, 3, 10, contains=[sha(2)])
    found = by_sha(client)
    assert found[sha(1)]["deployed_at"] is None
    assert found[sha(2)]["lead_time_seconds"] == 8 * 60


def test_in_progress_deploy_is_updated_when_it_finishes(client, live_server):
    merge(client, 1, 0)
    first = deploy(client, 1, None, status="in_progress", id="rel-7", started_at=T0.isoformat())
    assert by_sha(client)[sha(1)]["deployed_at"] is None
    second = deploy(client, 1, 11, status="succeeded", id="rel-7")
    assert first["id"] == second["id"]
    assert count_rows(live_server.app.state.engine)["deploys"] == 1
    assert by_sha(client)[sha(1)]["lead_time_seconds"] == 11 * 60


def test_in_progress_deploy_without_an_id_is_completed_by_the_finished_report(client, live_server):
    merge(client, 1, 0)
    deploy(client, 1, None, status="in_progress")
    deploy(client, 1, 6)
    assert count_rows(live_server.app.state.engine)["deploys"] == 1
    assert by_sha(client)[sha(1)]["lead_time_seconds"] == 6 * 60


def test_duplicate_reports_are_stored_once(client, live_server):
    merge(client, 1, 0)
    deploy(client, 1, 6)
    once = count_rows(live_server.app.state.engine)
    merge(client, 1, 0)
    deploy(client, 1, 6)
    assert count_rows(live_server.app.state.engine) == once


def test_later_deploys_of_a_service_find_its_repository(client):
    merge(client, 1, 0)
    deploy(client, 1, 3)
    response = client.post(
        "/api/deploys",
        json={
            "service": "shop",
            "environment": "staging",
            "sha": sha(1),
            "status": "success",
            "finished_at": T0.isoformat(),
        },
    )
    assert response.status_code == 200, response.text
    staging = client.get("/api/deploys", params={"environment": "staging"}).json()
    assert staging[0]["repository"] == REPO and staging[0]["status"] == "succeeded"


@pytest.mark.parametrize(
    ("path", "body", "status", "message"),
    [
        (
            "/api/deploys",
            {
                "service": "never-seen",
                "environment": "production",
                "sha": sha(1),
                "status": "succeeded",
            },
            422,
            "service 'never-seen' is unknown",
        ),
        (
            "/api/deploys",
            {
                "service": "s",
                "repository": REPO,
                "environment": "production",
                "sha": sha(1),
                "status": "great",
            },
            422,
            "status 'great'",
        ),
        (
            "/api/deploys",
            {
                "service": "s",
                "repository": REPO,
                "environment": "production",
                "sha": "not-a-sha",
                "status": "succeeded",
            },
            422,
            "sha",
        ),
        (
            "/api/merges",
            {"repository": REPO, "sha": sha(1), "merged_at": "2026-11-20T10:00:00"},
            422,
            "merged_at",
        ),
        ("/api/merges", {"repository": REPO, "sha": sha(1)}, 422, "merged_at: Field required"),
        (
            "/api/merges",
            {"repository": REPO, "sha": sha(1), "merged_at": T0.isoformat(), "colour": "red"},
            422,
            "colour",
        ),
        (
            "/api/merges",
            {"repository": "", "sha": sha(1), "merged_at": T0.isoformat()},
            422,
            "repository",
        ),
    ],
)
def test_bad_reports_get_a_clear_4xx_and_store_nothing(
    client, live_server, path, body, status, message
):
    before = count_rows(live_server.app.state.engine)
    response = client.post(path, json=body)
    assert response.status_code == status
    assert message in response.json()["error"]["message"]
    assert count_rows(live_server.app.state.engine) == before


def test_body_that_is_not_json_is_a_4xx(client):
    response = client.post(
        "/api/merges", content=b"{oops", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid"


@pytest.mark.parametrize(
    ("path", "params", "status", "message"),
    [
        ("/api/mergesets", {"since": "yesterday"}, 400, "since='yesterday' is not an ISO 8601"),
        ("/api/summary", {"window": "a while"}, 400, "is not a duration"),
        ("/api/summary", {"window": "-3d"}, 400, "must be at least 1s"),
        ("/api/mergesets", {"repo": "nowhere"}, 422, "no repository 'nowhere'"),
        ("/api/pipelines/0123", {}, 404, "no pipeline run"),
        ("/api/mergesets", {"limit": 0}, 422, "limit"),
    ],
)
def test_bad_queries_get_a_clear_4xx(client, path, params, status, message):
    response = client.get(path, params=params)
    assert response.status_code == status
    assert message in response.json()["error"]["message"]


def test_mergesets_filters_and_waiting(client):
    merge(client, 1, 0)
    merge(client, 2, 60)
    deploy(client, 1, 5)
    waiting = by_sha(client, since=(T0 + timedelta(minutes=30)).isoformat())
    assert list(waiting) == [sha(2)]
    assert waiting[sha(2)]["lead_time_seconds"] is None
    assert waiting[sha(2)]["waiting_seconds"] > 0
    assert list(by_sha(client, until=(T0 + timedelta(minutes=30)).isoformat())) == [sha(1)]
    assert list(by_sha(client, repo="acme/shop", limit=1)) == [sha(2)]


def test_summary_over_a_window(client):
    now = datetime.now(UTC)
    for n, minutes_ago in ((1, 200), (2, 100), (3, 90), (4, 5)):
        client.post(
            "/api/merges",
            json={
                "repository": REPO,
                "sha": sha(n),
                "merged_at": (now - timedelta(minutes=minutes_ago)).isoformat(),
            },
        )
    for n, minutes_ago in ((1, 190), (3, 70)):
        client.post(
            "/api/deploys",
            json={
                "service": "shop",
                "repository": REPO,
                "environment": "production",
                "sha": sha(n),
                "status": "succeeded",
                "finished_at": (now - timedelta(minutes=minutes_ago)).isoformat(),
            },
        )
    summary = client.get("/api/summary", params={"repo": REPO, "window": "1d"}).json()
    assert summary["deploys"] == 2
    assert summary["mergesets_deployed"] == 3
    # lead times: 10 min, 30 min, 20 min
    assert summary["lead_time_median_seconds"] == 20 * 60
    assert summary["lead_time_p90_seconds"] == pytest.approx(28 * 60)
    assert summary["share_over_budget"] == pytest.approx(2 / 3)
    assert summary["share_batched_deploys"] == 0.5
    assert summary["mergesets_waiting"] == 1
    assert summary["deploys_per_day"] == 2.0


def test_summary_holds_each_mergeset_to_its_own_repositorys_budget(client):
    now = datetime.now(UTC)
    other = "https://github.com/acme/billing"
    # (repository, mergeset, lead time in minutes): shop's budget is 40 min, billing's the default
    shipped = [(REPO, 1, 10), (REPO, 2, 30), (other, 3, 20), (other, 4, 30)]
    for repository, n, lead_minutes in shipped:
        merged = now - timedelta(hours=n)
        for path, body in (
            ("/api/merges", {"sha": sha(n), "merged_at": merged.isoformat()}),
            (
                "/api/deploys",
                {
                    "service": repository.rsplit("/", 1)[1],
                    "environment": "production",
                    "sha": sha(n),
                    "status": "succeeded",
                    "finished_at": (merged + timedelta(minutes=lead_minutes)).isoformat(),
                },
            ),
        ):
            response = client.post(path, json={"repository": repository, **body})
            assert response.status_code == 200, response.text
    budget = client.post("/api/budgets", json={"repository": REPO, "budget_seconds": 40 * 60})
    assert budget.status_code == 200, budget.text

    def over_budget(**params) -> float:
        summary = client.get("/api/summary", params={"window": "1d", **params}).json()
        return summary["share_over_budget"]

    assert over_budget(repo="acme/shop") == 0.0
    assert over_budget(repo="acme/billing") == 1.0
    assert over_budget() == 0.5  # billing's two of the four, each by its own repository's budget
