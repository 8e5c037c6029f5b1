"""The people and weekly-review pages in Chromium: who is unmapped and where, everyone with
their identities and teams, and a team's weekly review with the numbers of its digest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import CHROMIUM
from tests.factories import make_deploy, make_mergeset

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")


def seed_people(client) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    make_mergeset(client, "a" * 40, now - timedelta(hours=3), author="ada@home.example")
    make_mergeset(client, "b" * 40, now - timedelta(hours=2), "grace@elsewhere.example", "a" * 40)
    make_deploy(client, "shop", "b" * 40, now - timedelta(hours=1))
    people = {"people": [{"name": "Ada", "emails": ["ada@work.example", "ada@home.example"]}]}
    assert client.put("/api/people", json=people).status_code == 200
    team = {
        "name": "payments",
        "members": ["Ada"],
        "repositories": ["acme/shop"],
        "services": ["shop"],
    }
    assert client.put("/api/teams", json={"teams": [team]}).status_code == 200


def test_the_people_page_shows_who_is_unmapped_and_where(client, live_server, page):
    seed_people(client)
    page.goto(live_server.url + "/people")
    unmapped = page.locator("tr.unmapped-author")
    assert unmapped.count() == 1
    assert unmapped.locator(".author").inner_text() == "grace@elsewhere.example"
    assert "acme/shop" in unmapped.inner_text()
    ada = page.locator("tr.person", has_text="Ada")
    assert "payments" in ada.inner_text() and "email: ada@home.example" in ada.inner_text()
    page.screenshot(path=page.shots / "people.png", full_page=True)


def test_the_weekly_review_page_shows_the_digests_numbers(client, live_server, page):
    seed_people(client)
    page.goto(live_server.url + "/weekly")
    with page.expect_navigation():
        page.locator(".windows a", has_text="payments").click()
    row = page.locator("tr.weekly-repository")
    # merged 3h and 2h before a deploy 1h ago: 2h and 1h, p50 1h30m
    assert (
        row.locator(".p50").inner_text() == "1h30m" and row.locator(".deploys").inner_text() == "1"
    )
    digest = page.locator("pre.digest").inner_text()
    assert "acme/shop: lead time p50 1h30m" in digest
    assert "Authors not mapped to anyone: grace@elsewhere.example" in digest
    page.screenshot(path=page.shots / "weekly.png", full_page=True)
    missing = page.goto(live_server.url + "/weekly?team=nobody")
    assert missing is not None and missing.status == 404
    assert "no team named 'nobody'" in page.locator("main").inner_text()
    # the browser logs the 404 as a failed load: expected, and the only problem
    assert [p for p in page.problems if "404" not in p] == []
    page.problems.clear()


def test_every_repository_names_the_team_that_owns_it(client, live_server, page):
    seed_people(client)
    make_deploy(client, "search", "c" * 40, datetime.now(UTC) - timedelta(hours=1))
    page.goto(live_server.url + "/")
    shop = page.locator("tr[data-repository='acme/shop'] td.teams")
    assert shop.inner_text() == "payments"
    assert shop.locator("a").get_attribute("href") == "/weekly?team=payments"
    assert page.locator("tr[data-repository='acme/search'] td.teams").inner_text() == "no team"


def test_a_team_row_counts_all_its_repositories_at_once(client, live_server, page):
    now = datetime.now(UTC).replace(microsecond=0)
    for repo, sha, merged, deployed in (("shop", "a" * 40, 3, 1), ("search", "b" * 40, 2, 1.5)):
        url = f"https://github.com/acme/{repo}"
        merge = {
            "repository": url,
            "sha": sha,
            "merged_at": (now - timedelta(hours=merged)).isoformat(),
        }
        assert client.post("/api/merges", json=merge).status_code == 200
        make_deploy(client, repo, sha, now - timedelta(hours=deployed))
    people = {"people": [{"name": "Ada", "emails": ["ada@example.com"]}]}
    assert client.put("/api/people", json=people).status_code == 200
    team = {"name": "core", "members": ["Ada"], "repositories": ["acme/shop", "acme/search"]}
    assert client.put("/api/teams", json={"teams": [team]}).status_code == 200
    page.goto(live_server.url + "/")
    row = page.locator("#teams tr[data-team='core']")
    assert set(row.locator(".owned").inner_text().split(", ")) == {"acme/shop", "acme/search"}
    # shop waited 2h, search 30m: the team's median is 1h15m, neither repository's own
    assert row.locator("[data-key='lead_time']").inner_text() == "1h15m"
    shop = page.locator("#repositories tr[data-repository='acme/shop'] [data-key='lead_time']")
    assert shop.inner_text() == "2h00m"
    assert row.locator("[data-key='batched']").inner_text() == "0%"  # one mergeset a deploy
    page.screenshot(path=page.shots / "teams.png", full_page=True)
