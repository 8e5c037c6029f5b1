"""The dashboard in a real headless Chromium (Debian's, driven by Playwright): each page shows
the key numbers and flags, links lead from the overview to a mergeset to its pipeline run, no
page logs a console error, and nothing a span says is ever run as markup."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from playwright.sync_api import Error as PlaywrightError

from leadtime.tracer.cli import cli
from tests.conftest import CHROMIUM
from tests.factories import make_deploy, make_mergeset, make_page
from tests.server.dora_history import seed_dora_history
from tests.server.otlp_payloads import (
    REPO,
    SHAS,
    post_queued_run,
    post_run,
    post_tested_run,
)

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
XSS = "<script>alert(1)</script>"


def seed(client) -> str:
    merged = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    sha = "a" * 40
    client.post(
        "/api/merges",
        json={
            "repository": REPO,
            "sha": "9" * 40,
            "merged_at": (merged - timedelta(hours=1)).isoformat(),
        },
    )
    client.post(
        "/api/merges",
        json={
            "repository": REPO,
            "sha": sha,
            "merged_at": merged.isoformat(),
            "pr_title": "Faster checkout",
        },
    )
    deploy = {
        "deploy production": {
            "deployment.environment.name": "production",
            "deployment.status": "succeeded",
            "deployment.id": "d-1",
        }
    }
    post_run(
        client,
        1,
        merged + timedelta(minutes=3),
        [
            ("build", 240, "success"),
            ("e2e", 960, "success"),
            (XSS, 5, "success"),
            ("deploy production", 120, "success"),
        ],
        branch="main",
        sha=sha,
        extra=deploy,
    )
    return sha


def test_empty_server_shows_how_to_send_the_first_span(client, live_server, page):
    page.goto(live_server.url + "/")
    assert page.locator("h1").inner_text() == "No data yet"
    assert "leadtime step build -- make" in page.locator("main").inner_text()
    page.screenshot(path=page.shots / "empty.png")


def test_overview_to_mergeset_to_pipeline_run(client, live_server, page):
    sha = seed(client)
    page.goto(live_server.url + "/")
    assert page.locator("h1").inner_text() == "acme/shop"  # owner/name, the URL in its title
    assert page.locator("h1").get_attribute("title") == REPO
    assert page.locator("#over-budget").inner_text() == "100%"  # both deployed mergesets
    assert page.locator("#batched").inner_text() == "100%"  # one deploy, two mergesets
    assert page.locator("#lead-time-p50").inner_text() == "55m05s"  # of 25m05s and 1h25m05s
    assert page.locator("circle.dot.over").count() == 2
    # hovering a dot tells its mergeset (the SVG title a browser shows), and a dot is a link
    hover = page.locator(f"a[href^='/mergesets/{sha}'] circle.dot title").text_content() or ""
    assert hover.startswith(f"{sha[:10]} Faster checkout merged ") and hover.endswith(": 25m05s")
    assert page.locator("table.mergesets").get_by_text("Faster checkout").count() == 1
    # The deploy span carried no history and the merges no parents: what it shipped is not
    # established, and the page says so.
    (row,) = page.locator("#deploys tbody tr").all()
    assert "history incomplete" in row.inner_text() and "batched" in row.inner_text()
    page.screenshot(path=page.shots / "overview.png", full_page=True)

    with page.expect_navigation():
        page.locator(f"a.sha[href^='/mergesets/{sha}']").click()
    assert f"/mergesets/{sha}" in page.url
    assert page.locator("#lead-time").inner_text() == "25m05s"
    names = page.locator(".waterfall .name").all_inner_texts()
    assert names == ["waiting for the pipeline", "build", "e2e", XSS, "deploy production"]
    assert page.locator("table.parts .name").first.inner_text() == "e2e"
    page.screenshot(path=page.shots / "mergeset.png", full_page=True)

    with page.expect_navigation():
        page.locator("#main-run").click()
    assert "/pipelines/" in page.url
    rows = page.locator(".waterfall .name").all_inner_texts()
    assert rows == ["build", "e2e", XSS, "deploy production"]
    assert page.locator("script").count() == 0  # the span name stayed text
    page.screenshot(path=page.shots / "pipeline.png", full_page=True)


def test_overview_marks_a_rollback_and_the_deploy_it_rolled_back(client, live_server, page):
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    first, second = "1" * 40, "2" * 40
    make_mergeset(client, first, start)
    make_mergeset(client, second, start + timedelta(minutes=10), parent=first)
    make_deploy(client, "shop", first, start + timedelta(minutes=5))
    bad = make_deploy(client, "shop", second, start + timedelta(minutes=15))
    rollback = make_deploy(client, "shop", first, start + timedelta(minutes=30))
    make_deploy(client, "shop", first, start + timedelta(minutes=40))
    page.goto(live_server.url + "/")
    rows = page.locator("#deploys tbody tr")
    assert rows.count() == 4
    assert "rollback" in page.locator(f"#deploy-{rollback}").inner_text()
    rolled_back = page.locator(f"#deploy-{bad} .flag", has_text="rolled back")
    assert rolled_back.get_attribute("title").startswith(f"undone by deploy {rollback}")
    assert "redeploy" in rows.first.inner_text()
    assert "history incomplete" not in page.locator("#deploys").inner_text()
    page.screenshot(path=page.shots / "deploys.png", full_page=True)


def test_a_revert_links_to_the_mergeset_it_reverts(client, live_server, page):
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    broken, revert = "3" * 40, "4" * 40
    body = {"repository": REPO, "sha": broken, "merged_at": start.isoformat()}
    assert client.post("/api/merges", json={**body, "title": "Cache prices"}).status_code == 200
    later = (start + timedelta(minutes=5)).isoformat()
    reverting = {**body, "sha": revert, "merged_at": later, "title": 'Revert "Cache prices"'}
    assert client.post("/api/merges", json=reverting).status_code == 200
    page.goto(live_server.url + "/")
    assert "revert of 3333333333" in page.locator("table.mergesets").inner_text()
    page.goto(f"{live_server.url}/mergesets/{revert}")
    with page.expect_navigation():
        page.locator("#reverts a").click()
    assert f"/mergesets/{broken}" in page.url
    assert "Cache prices" in page.locator("main").inner_text()


def test_slowest_steps_page_shows_bars_and_flags(client, live_server, page):
    seed(client)
    page.goto(live_server.url + "/slowest?repo=acme/shop&window=7d")
    first = page.locator("tr.step").first
    assert first.locator(".name").inner_text() == "e2e"
    assert "budget breaker" in first.inner_text() and "slow" in first.inner_text()
    assert first.locator(".bar .fill.over").count() == 1
    assert page.locator("tr.step.slow").count() == 2  # e2e and build (4 min is over 20%)
    page.screenshot(path=page.shots / "slowest.png", full_page=True)


def test_time_queued_for_a_runner_shows_on_slowest_steps_and_the_mergeset(
    client, live_server, page
):
    now = datetime.now(UTC)
    for run in range(1, 4):
        sha = f"{run:040x}"
        post_queued_run(client, run, now - timedelta(hours=run), sha, deploy=run == 1)
    page.goto(live_server.url + "/slowest?repo=acme/shop&window=7d")
    queued = page.locator("tr.step.queued")
    assert queued.count() == 1 and queued.locator(".name").inner_text() == "queued: build"
    assert "queued" in queued.locator(".flag").inner_text()
    assert "3m" in page.locator(".queued-summary").inner_text()
    assert "20%" in page.locator(".queued-summary").inner_text()
    buckets = page.locator("#queued-trend tr.queue-bucket .p50").all_inner_texts()
    assert len(buckets) == 7 and buckets[-1] == "3m00s"  # by day, today's three runs
    assert set(buckets[:-1]) == {"-"} and page.locator("svg.queue-chart rect").count() == 1
    page.screenshot(path=page.shots / "queued-trend.png", full_page=True)
    page.goto(f"{live_server.url}/mergesets/{1:040x}")
    assert "queued for a runner" in page.locator("table.parts").inner_text()
    page.screenshot(path=page.shots / "queued.png", full_page=True)


def test_slowest_steps_shows_caches_flaky_steps_slowest_and_flaky_tests(client, live_server, page):
    start = datetime.now(UTC) - timedelta(hours=12)
    for number, (sha, attempt) in enumerate((sha, a) for sha in SHAS for a in (1, 2)):
        post_tested_run(client, number, sha, attempt, start + timedelta(hours=number))
    page.goto(live_server.url + "/slowest?repo=acme/shop&window=7d")
    cache = page.locator("tr.cache")
    assert cache.locator(".name").inner_text() == "install"
    assert cache.locator(".cost").inner_text() == "4m00s"  # two misses, 2 min over a hit each
    flaky = page.locator("tr.flaky-step")
    assert flaky.count() == 1 and flaky.locator(".name").inner_text() == "e2e"
    assert "3/3" in flaky.inner_text() and "flaky" in flaky.locator(".flag").inner_text()
    assert flaky.locator(".lost-on-main").inner_text() == "1m00s"
    tests = page.locator("table.tests tr.test .name").all_inner_texts()
    assert tests[0] == "cart.test_checkout" and len(tests) == 4
    assert page.locator("tr.flaky-test .name").all_inner_texts() == ["cart.test_flaky"]
    page.goto(live_server.url + "/slowest?repo=acme/shop&window=7d#flaky-tests")
    assert page.locator("#flaky-tests").is_visible()
    page.screenshot(path=page.shots / "tests-and-caches.png", full_page=True)
    page.goto(f"{live_server.url}/mergesets/{SHAS[0]}#retries")
    assert page.locator("#retries").is_visible()
    step, test = page.locator("tr.retried-step"), page.locator("tr.retried-test")
    assert step.locator(".name").all_inner_texts() == ["e2e"]
    assert step.locator(".lost-on-main").inner_text() == "20s"  # its first attempt failed
    assert test.locator(".name").all_inner_texts() == ["cart.test_flaky"]  # never test_broken
    assert page.locator("tr.cache-hit .time").all_inner_texts() == ["30s"]
    page.goto(f"{live_server.url}/mergesets/{SHAS[1]}#caches")
    assert page.locator("tr.cache-miss .time").all_inner_texts() == ["2m30s"]


def test_overview_shows_a_firing_alert_and_links_to_it(client, live_server, page):
    merged = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    parent = None
    for n in range(1, 6):  # five mergesets at 20 minutes each, against a 5-minute target
        sha = f"{n:040x}"
        body = {"repository": REPO, "sha": sha, "merged_at": merged.isoformat()}
        assert client.post("/api/merges", json={**body, "parent_sha": parent}).status_code == 200
        deploy = {
            "service": "shop",
            "repository": REPO,
            "environment": "production",
            "sha": sha,
            "status": "succeeded",
            "finished_at": (merged + timedelta(minutes=20)).isoformat(),
        }
        assert client.post("/api/deploys", json=deploy).status_code == 200
        merged, parent = merged + timedelta(hours=2), sha
    client.post("/api/targets", json={"repository": REPO, "target_seconds": 300})
    assert len(client.post("/api/alerts/check").json()["firing"]) == 1

    page.goto(live_server.url + "/")
    alert = page.locator(".alert.open")
    assert alert.count() == 1
    assert (
        "lead time (merge -> production) p50 5m00s -> 20m00s (+300%) (target)" in alert.inner_text()
    )
    assert alert.locator(".flag").inner_text() == "firing"
    page.screenshot(path=page.shots / "alert.png", full_page=True)
    with page.expect_navigation():
        alert.locator("a").click()
    assert page.locator("h1").inner_text() == "acme/shop"  # owner/name, the URL in its title
    assert page.locator("h1").get_attribute("title") == REPO


def test_a_missing_page_says_what_is_missing(client, live_server, page):
    response = page.goto(live_server.url + "/mergesets/abcdef1")
    assert response.status == 404
    assert "no mergeset 'abcdef1'" in page.locator(".error").inner_text()
    # the browser logs the 404 of the page itself; that one is the point of this test
    page.problems.remove(
        "console: Failed to load resource: the server responded with a status of 404 (Not Found)"
    )
    page.screenshot(path=page.shots / "missing.png")


def test_a_page_names_its_suspect_and_a_person_can_change_the_link(client, live_server, page):
    sha = seed(client)  # deploys "a"*40 (and "9"*40) to production, 3 hours ago plus the run
    earlier = (datetime.now(UTC) - timedelta(hours=8)).isoformat()
    other = client.post(
        "/api/deploys",
        json={
            "service": "shop",
            "repository": REPO,
            "environment": "production",
            "sha": "8" * 40,
            "status": "succeeded",
            "finished_at": earlier,
        },
    ).json()["id"]
    stored = client.post(
        "/api/pages",
        json={"service": "shop", "title": XSS, "urgency": "high", "team": "payments"},
    ).json()
    client.post("/api/pages", json={"service": "billing-api", "title": "disk full"})

    page.goto(live_server.url + "/pages")
    rows = page.locator("tr.page")
    assert rows.count() == 2
    assert "unmatched" in rows.filter(has_text="disk full").inner_text()
    assert page.locator("script").count() == 0  # the title stayed text
    page.screenshot(path=page.shots / "pages.png", full_page=True)

    with page.expect_navigation():
        page.locator(f"a[href='/pages/{stored['id']}']").click()
    suspect = page.locator(".deploy.suspect")
    assert suspect.locator(".sha").first.inner_text() == sha[:10]
    shipped = suspect.locator(".mergesets .sha").all_inner_texts()
    assert shipped == ["9" * 10, sha[:10]]  # the suspect's mergesets, each linked
    assert page.locator(f".deploy.candidate[data-deploy='{other}']").count() == 1
    page.screenshot(path=page.shots / "page.png", full_page=True)

    with page.expect_navigation():
        page.locator(f".deploy.candidate[data-deploy='{other}'] button.reassign").click()
    assert page.locator("#link-state").inner_text() == "Confirmed by a person."
    assert page.locator(".deploy.suspect").get_attribute("data-deploy") == str(other)
    with page.expect_navigation():
        page.locator("#clear").click()
    assert page.locator("#link-state").inner_text() == "A person said no deploy caused it."
    assert page.locator(".deploy.suspect").count() == 0
    with page.expect_navigation():
        page.locator("#auto").click()
    assert page.locator(".deploy.suspect").locator(".sha").first.inner_text() == sha[:10]

    # both ways: the mergeset the suspect deploy shipped shows the page
    page.goto(live_server.url + f"/mergesets/{sha}")
    assert f"#{stored['id']}" in page.locator("#pages-after").inner_text()

    page.goto(live_server.url + "/oncall")
    assert page.locator("table.failures td.rate").first.inner_text() == "50%"
    assert page.locator("tr.week").count() == 2  # shop/payments and billing-api
    page.screenshot(path=page.shots / "oncall.png", full_page=True)


def test_overview_shows_the_five_dora_keys_with_tiers_and_a_window_picker(
    client, live_server, page
):
    seed_dora_history(client)  # answers worked out in tests/server/domain/test_dora.py
    page.goto(live_server.url + "/?repo=acme/shop")
    rows = {
        key: page.locator(f"#dora-{key}").inner_text()
        for key in (
            "deployment_frequency",
            "change_lead_time",
            "change_failure_rate",
            "failed_deployment_recovery_time",
            "rework_rate",
        )
    }
    assert "1.6/week" in rows["deployment_frequency"] and "high" in rows["deployment_frequency"]
    assert "30m00s" in rows["change_lead_time"] and "elite" in rows["change_lead_time"]
    assert "29%" in rows["change_failure_rate"] and "low" in rows["change_failure_rate"]
    assert "50m00s" in rows["failed_deployment_recovery_time"]
    assert "43%" in rows["rework_rate"] and "no tiers" in rows["rework_rate"]
    assert page.locator("#dora .tier").count() == 4  # the rework rate has none
    # weekly trends: the seed's day falls in the last of 12 weeks; the table says the same
    weeks = page.locator("#trend-table tbody tr").all_inner_texts()
    assert len(weeks) == 12 and all("\t0\t" in week for week in weeks[:11])
    last = weeks[-1].split("\t")
    assert last[1:] == ["30m00s", "2h00m", "7", "29%", "43%"]  # p90 of 10m..2h, 2h, 2h: 2h
    assert page.locator("#trend-lead-time circle.p50").count() == 1
    assert page.locator("#trend-deploys rect").count() == 12
    page.screenshot(path=page.shots / "dora.png", full_page=True)

    # the window picker: in a week the same seven deploys are one a day, so elite
    assert page.locator(".windows b").inner_text() == "30d"
    with page.expect_navigation():
        page.locator(".windows a", has_text="7d").click()
    assert "window=7d" in page.url
    assert (
        "7 production deploys in 7 days" in page.locator("#dora-deployment_frequency").inner_text()
    )
    assert "1.0/day" in page.locator("#dora-deployment_frequency").inner_text()
    assert "elite" in page.locator("#dora-deployment_frequency").inner_text()

    for width in (1440, 375):
        page.set_viewport_size({"width": width, "height": 800})
        assert page.evaluate("document.documentElement.scrollWidth") <= width  # tables scroll
    box = page.locator("#dora").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375
    page.screenshot(path=page.shots / "dora-375.png", full_page=True)


def test_every_repository_on_one_page_worst_first_each_linking_to_its_own(
    client, live_server, page
):
    seed_dora_history(client)  # acme/shop: one key in the low tier
    now = datetime.now(UTC).replace(microsecond=0)
    for repository, sha in (("https://github.com/acme/search", "c" * 40), ("billing", "d" * 40)):
        merged = now - timedelta(days=3, hours=1)
        body = {"repository": repository, "sha": sha, "merged_at": merged.isoformat()}
        assert client.post("/api/merges", json=body).status_code == 200
        deploy = {
            "service": f"{sha[0]}-svc",
            "repository": repository,
            "environment": "production",
            "sha": sha,
            "status": "succeeded",
            "finished_at": (now - timedelta(days=3)).isoformat(),
        }
        assert client.post("/api/deploys", json=deploy).status_code == 200
    page.goto(live_server.url + "/")
    assert page.locator("h1").inner_text() == "Repositories"
    rows = page.locator("#repositories tbody tr")
    assert [rows.nth(i).get_attribute("data-repository") for i in range(3)] == [
        "acme/shop",
        "acme/search",
        "billing",
    ]
    shop = rows.first
    assert "low" in shop.locator("[data-key=change_failure_rate]").inner_text()
    assert "29%" in shop.locator("[data-key=change_failure_rate]").inner_text()
    assert "30m00s" in shop.locator("[data-key=lead_time]").inner_text()
    trend = shop.locator("svg.sparkline")
    assert trend.locator("circle").count() == 1  # one week shipped: a dot, no line
    assert trend.locator("polyline").count() == 0
    assert trend.get_attribute("aria-label").endswith("-, 30m00s")
    page.screenshot(path=page.shots / "repositories.png", full_page=True)
    for name in ("billing", "acme/search"):  # a name-only repository's link works too
        with page.expect_navigation():
            page.locator("#repositories a", has_text=name).click()
        assert page.locator("h1").inner_text() == name
        assert "1 production deploys in 30 days" in page.locator("#dora").inner_text()
        page.go_back()


def test_a_page_asked_for_without_its_repository_offers_a_picker_never_json(
    client, live_server, page
):
    now = datetime.now(UTC).replace(microsecond=0)
    make_deploy(client, "shop", "a" * 40, now - timedelta(hours=1))
    make_deploy(client, "search", "b" * 40, now - timedelta(hours=1))
    response = page.goto(live_server.url + "/slowest")
    assert response.status == 200 and page.locator("h1").inner_text() == "Pick a repository"
    assert page.locator("#pick a").all_inner_texts() == ["acme/search", "acme/shop"]
    with page.expect_navigation():
        page.locator("#pick a", has_text="acme/shop").click()
    assert "/slowest?repo=https%3A//github.com/acme/shop" in page.url
    assert page.locator("h1").inner_text() == "Slowest steps"
    # a malformed filter is an HTML page that says what is wrong, not the API's JSON
    response = page.goto(live_server.url + "/pages?unmatched=perhaps")
    assert response.status == 422 and response.headers["content-type"].startswith("text/html")
    assert "unmatched" in page.locator("p.error").inner_text()
    page.problems.remove(  # the browser logs the page's own 422: the point of this test
        "console: Failed to load resource: the server responded with a status of 422 "
        "(Unprocessable Entity)"
    )


def test_the_deploys_page_lists_every_deploy_with_flags_pages_and_duration(
    client, live_server, page
):
    seed_dora_history(client)  # seven deploys of shop: a rollback, a redeploy, two pages
    finished = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    timed = {
        "service": "search",
        "repository": "https://github.com/acme/search",
        "environment": "staging",
        "sha": "e" * 40,
        "status": "failed",
        "started_at": (finished - timedelta(minutes=7, seconds=30)).isoformat(),
        "finished_at": finished.isoformat(),
    }
    assert client.post("/api/deploys", json=timed).status_code == 200
    page.goto(live_server.url + "/deploys")
    rows = page.locator("#all-deploys tbody tr")
    assert rows.count() == 8
    newest = rows.first.inner_text()
    assert "search" in newest and "staging" in newest and "failed" in newest
    assert rows.first.locator(".took").inner_text() == "7m30s"
    texts = rows.all_inner_texts()
    assert sum("rollback" in text for text in texts) == 1
    assert sum("rolled back" in text for text in texts) == 1
    assert sum("redeploy" in text for text in texts) == 1
    assert sum("shop is down" in text for text in texts) == 2  # each page under its suspect
    page.screenshot(path=page.shots / "deploys-page.png", full_page=True)
    with page.expect_navigation():
        rows.first.locator("a", has_text="search").click()
    assert page.locator("#all-deploys tbody tr").count() == 1
    with page.expect_navigation():
        page.locator(".windows a", has_text="7d").click()
    assert "service=search" in page.url and "window=7d" in page.url


def test_the_mergeset_breakdown_marks_the_steps_that_failed(client, live_server, page):
    merged = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    sha = "b" * 40
    body = {"repository": REPO, "sha": sha, "merged_at": merged.isoformat()}
    assert client.post("/api/merges", json=body).status_code == 200
    deploy = {"deploy": {"deployment.environment.name": "production"}}
    steps = [("build", 120, "success"), ("lint", 30, "failure"), ("deploy", 60, "success")]
    post_run(client, 7, merged + timedelta(minutes=1), steps, branch="main", sha=sha, extra=deploy)
    breakdown = client.get(f"/api/mergesets/{sha}/breakdown").json()
    assert breakdown["failed_steps"] == ["lint"]
    assert [s["name"] for s in breakdown["segments"] if s["failed"]] == ["lint"]
    page.goto(f"{live_server.url}/mergesets/{sha}")
    failed_rows = page.locator(".waterfall .row.failed")
    assert failed_rows.count() == 1 and "lint" in failed_rows.inner_text()
    assert "failed" in failed_rows.locator(".flag").inner_text()
    assert page.locator("#failed-steps").inner_text() == "Failed in its runs: lint"
    page.screenshot(path=page.shots / "failed-step.png", full_page=True)


def test_the_change_failure_rate_is_one_number_in_the_browser_the_api_and_the_terminal(
    client, live_server, page, monkeypatch
):
    # a failed deploy 29 days ago and a clean one 2 days ago: 1 of 2 over 30 days, 0 of 1 over
    # the on-call review's 28 days; every view says 1 of 2
    now = datetime.now(UTC).replace(microsecond=0)
    make_deploy(client, "shop", "a" * 40, now - timedelta(days=29))
    make_page(client, "shop", now - timedelta(days=29) + timedelta(minutes=10), "old")
    make_deploy(client, "shop", "b" * 40, now - timedelta(days=2))
    page.goto(live_server.url + "/oncall")  # its review's window: 28d
    assert page.locator("table.failures .rate").inner_text() == "50%"
    dora = client.get("/api/dora", params={"repo": "acme/shop"}).json()
    (rate,) = [key["value"] for key in dora["keys"] if key["key"] == "change_failure_rate"]
    assert rate == 0.5
    monkeypatch.setenv("LEADTIME_URL", live_server.url)
    printed = CliRunner().invoke(cli, ["report", "change-failure"])
    assert printed.exit_code == 0 and "50%" in printed.output


def test_a_window_with_no_deploy_says_when_the_last_was_and_all_shows_since_adoption(
    client, live_server, page
):
    long_ago = datetime.now(UTC).replace(microsecond=0) - timedelta(days=45)
    make_mergeset(client, "c" * 40, long_ago - timedelta(minutes=30))
    make_deploy(client, "shop", "c" * 40, long_ago)
    page.goto(live_server.url + "/?repo=acme/shop")  # 30 days: nothing in it
    hint = page.locator("#window-hint")
    assert f"latest deploy finished {long_ago:%Y-%m-%d %H:%M}" in hint.inner_text()
    with page.expect_navigation():
        hint.locator("a").click()
    assert "window=all" in page.url and page.locator(".windows b").inner_text() == "all"
    assert page.locator("#window-hint").count() == 0
    assert "Since adoption" in page.locator("main p.muted").first.inner_text()
    frequency = page.locator("#dora-deployment_frequency").inner_text()
    assert "1 production deploys in" in frequency  # the adoption point: the mergeset's merge


def test_slowest_steps_show_a_weekly_trend_and_the_window_picker_changes_the_numbers(
    client, live_server, page
):
    # build took 100 s three weeks ago, 200 s two weeks ago, 300 s yesterday: 7d sees one run,
    # 30d three, and the sparkline has a dot for each week build ran, oldest first
    now = datetime.now(UTC).replace(microsecond=0)
    for run, (days, seconds) in enumerate(((20, 100), (13, 200), (1, 300)), start=1):
        post_run(client, run, now - timedelta(days=days), [("build", seconds, "success")])
    page.goto(live_server.url + "/slowest?repo=acme/shop&window=7d")
    assert page.locator("main p.muted").first.inner_text().startswith("acme/shop · Last 7d")
    build = page.locator("tr.step", has_text="build")
    assert build.locator("td").nth(1).inner_text() == "1"  # runs in 7 days
    weekly = build.locator("td.weekly svg.sparkline")
    assert weekly.locator("circle").count() == 3
    label = weekly.get_attribute("aria-label")
    assert label is not None and label.endswith("1m40s, 3m20s, 5m00s")
    with page.expect_navigation():
        page.locator(".windows a", has_text="30d").click()
    assert "repo=acme%2Fshop" in page.url and page.url.endswith("window=30d")
    assert page.locator(".windows b").inner_text() == "30d"
    assert page.locator("tr.step", has_text="build").locator("td").nth(1).inner_text() == "3"
    page.screenshot(path=page.shots / "slowest-trend.png", full_page=True)


def test_the_oncall_window_picker_changes_the_weeks_shown(client, live_server, page):
    now = datetime.now(UTC).replace(microsecond=0)
    make_page(client, "shop", now - timedelta(days=2), "recent")
    make_page(client, "shop", now - timedelta(days=60), "older")
    page.goto(live_server.url + "/oncall")
    assert page.locator(".windows b").inner_text() == "28d"
    assert page.locator("tr.week").count() == 1
    with page.expect_navigation():
        page.locator(".windows a", has_text="90d").click()
    assert page.url.endswith("/oncall?window=90d")
    assert page.locator("tr.week").count() == 2
    assert "Last 90d" in page.locator("main p.muted").first.inner_text()


def test_the_browser_reaches_nothing_but_loopback(browser, live_server):
    page = browser.new_page()
    try:
        assert page.goto(live_server.url + "/").status == 200
        with pytest.raises(PlaywrightError, match="ERR_PROXY_CONNECTION_FAILED"):
            page.goto("http://192.0.2.1/")  # TEST-NET-1: never routed, never reached
    finally:
        page.close()
