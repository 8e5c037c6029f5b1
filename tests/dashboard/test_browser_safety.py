"""What a span or a pager says can never run in a reader's browser: a `javascript:` link from a
CI job's `--attr cicd.pipeline.run.url.full=...` or a page's source URL is shown as no link at
all (clicking anything runs no script, in real Chromium), and every dashboard page carries a
Content-Security-Policy, X-Frame-Options DENY, nosniff and a Referrer-Policy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from leadtime.server.headers import http_link
from tests.conftest import CHROMIUM
from tests.server.otlp_payloads import REPO, post_run

EVIL = "javascript:document.title='pwned'"


def seed(client) -> tuple[str, int, str]:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    sha = "c" * 40
    extra = {"build": {"cicd.pipeline.run.url.full": EVIL}}
    trace = post_run(
        client, 7, start, [("build", 30, "success")], branch="main", sha=sha, extra=extra
    )
    page = client.post(
        "/api/pages",
        json={"id": "evil-1", "service": "shop", "title": "checkout down", "url": EVIL},
    )
    assert page.status_code == 200, page.text
    return trace, page.json()["id"], sha


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
def test_javascript_links_are_never_links_and_nothing_runs(client, live_server, browser):
    trace, page_id, _ = seed(client)
    context = browser.new_context()
    tab = context.new_page()
    for path in (f"/pipelines/{trace}", f"/pages/{page_id}"):
        tab.goto(live_server.url + path)
        assert tab.locator("a[href^='javascript']").count() == 0
        for link in tab.locator("main a").all():
            assert (link.get_attribute("href") or "").startswith(("/", "http://", "https://"))
        assert tab.title() != "pwned"
    context.close()


def test_every_dashboard_page_forbids_inline_scripts_and_framing(client, live_server):
    trace, page_id, sha = seed(client)
    paths = [
        "/",
        f"/slowest?repo={REPO}&window=7d",
        f"/mergesets/{sha}",
        f"/pipelines/{trace}",
        "/pages",
        f"/pages/{page_id}",
        "/oncall",
        "/api/mergesets",
    ]
    for path in paths:
        answer = httpx.get(live_server.url + path)
        assert answer.status_code == 200, (path, answer.text[:200])
        csp = answer.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp, path
        assert "frame-ancestors 'none'" in csp
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "same-origin"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://ci.example.com/run/1", "https://ci.example.com/run/1"),
        ("http://ci.example.com/run/1", "http://ci.example.com/run/1"),
        ("javascript:alert(1)", None),
        ("JavaScript:alert(1)", None),
        ("  javascript:alert(1)", None),
        ("data:text/html,<script>alert(1)</script>", None),
        ("//evil.example.com", None),
        ("http:evil", None),
        ("", None),
        (None, None),
    ],
)
def test_only_http_and_https_become_links(url, shown):
    assert http_link(url) == shown
