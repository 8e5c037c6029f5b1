"""Another site's page cannot make a visitor's browser write to leadtime (CSRF), even to a server
open to local clients: in real Chromium, a `no-cors` text/plain post creates no page and a plain
form posted from elsewhere clears no suspect; the API refuses bodies that are not JSON."""

from __future__ import annotations

import json
import re
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from tests.conftest import CHROMIUM
from tests.factories import make_deploy, make_page
from tests.server.otlp_payloads import REPO

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)


def _attack_page(leadtime: str, page_id: int) -> str:
    created = json.dumps(
        {"id": "forged-1", "service": "shop", "title": "forged", "triggered_at": T0.isoformat()}
    )
    return f"""<!doctype html><title>cats</title>
<iframe name="sink"></iframe>
<form id="clear" method="post" target="sink" action="{leadtime}/pages/{page_id}/link">
  <input type="hidden" name="action" value="clear">
</form>
<script>
fetch("{leadtime}/api/pages", {{method: "POST", mode: "no-cors",
  headers: {{"Content-Type": "text/plain"}}, body: '{created}'}})
  .catch(() => null)
  .finally(() => document.getElementById("clear").submit());
</script>"""


@pytest.fixture
def attacker():
    """Another origin (another port of 127.0.0.1) serving the page set on `.html`."""

    class Page(BaseHTTPRequestHandler):
        html = ""

        def do_GET(self) -> None:
            body = Page.html.encode()
            self.send_response(200)
            self.send_header("content-type", "text/html")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield Page, f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


def _page_with_suspect(client) -> dict:
    make_deploy(client, "shop", "d" * 40, T0)
    page = make_page(client, "shop", T0 + timedelta(minutes=20), "real-1")
    assert page["suspect"] is not None
    return page


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
def test_a_page_of_another_site_can_neither_create_nor_clear(
    client, live_server, browser, attacker
):
    page = _page_with_suspect(client)
    handler, attack_url = attacker
    handler.html = _attack_page(live_server.url, page["id"])
    context = browser.new_context()
    tab = context.new_page()
    with (
        tab.expect_response(lambda answer: answer.url.endswith("/api/pages")) as fetched,
        tab.expect_response(lambda answer: answer.url.endswith("/link")) as posted,
    ):
        tab.goto(attack_url)
    assert fetched.value.status == 403 and posted.value.status == 403  # both reached leadtime
    context.close()
    pages = client.get("/api/pages").json()
    assert [p["external_id"] for p in pages] == ["real-1"]
    assert client.get(f"/api/pages/{page['id']}").json()["suspect"] == page["suspect"]


def test_the_dashboard_s_own_form_works_with_its_csrf_token_only(client, live_server):
    page = _page_with_suspect(client)
    with httpx.Client(base_url=live_server.url) as browser_like:
        shown = browser_like.get(f"/pages/{page['id']}")
        token = re.search(r'name="csrf" value="([^"]+)"', shown.text).group(1)
        assert browser_like.cookies["leadtime_csrf"] == token
        link = f"/pages/{page['id']}/link"
        origin = {"origin": live_server.url}
        forged = browser_like.post(link, data={"action": "clear", "csrf": "x"}, headers=origin)
        assert forged.status_code == 403 and "reload the page" in forged.text
        missing = browser_like.post(link, data={"action": "clear"}, headers=origin)
        assert missing.status_code == 403
        assert client.get(f"/api/pages/{page['id']}").json()["suspect"] == page["suspect"]
        own = browser_like.post(link, data={"action": "clear", "csrf": token}, headers=origin)
    assert own.status_code == 303
    assert client.get(f"/api/pages/{page['id']}").json()["suspect"] is None


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "http://evil.example"},
        {"origin": "null"},
        {"sec-fetch-site": "cross-site"},
    ],
)
def test_a_cross_origin_write_is_403(client, headers):
    body = {"repository": REPO, "sha": "e" * 40, "merged_at": T0.isoformat()}
    refused = client.post("/api/merges", json=body, headers=headers)
    assert refused.status_code == 403
    assert "cross-origin request refused" in refused.json()["error"]["message"]
    assert client.get("/api/mergesets").json() == []


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", ""]
)
@pytest.mark.parametrize("path", ["/api/merges", "/api/pages", "/webhooks/alertmanager"])
def test_a_body_that_is_not_json_is_415(client, path, content_type):
    body = b'{"repository": "acme/shop", "sha": "' + b"e" * 40 + b'"}'
    headers = {"content-type": content_type} if content_type else {}
    refused = client.post(path, content=body, headers=headers)
    assert refused.status_code == 415, refused.text
    assert "send application/json" in refused.json()["error"]["message"]
    assert client.get("/api/mergesets").json() == [] and client.get("/api/pages").json() == []


def test_the_csrf_cookie_comes_with_the_first_page_and_stays_the_browser_s(client, live_server):
    """An API answer sets no CSRF cookie; the first HTML page sets one its forms carry; a later
    page carries the same value and sets none."""
    page = _page_with_suspect(client)
    with httpx.Client(base_url=live_server.url) as browser_like:
        api = browser_like.get("/api/pages")
        assert api.status_code == 200 and "set-cookie" not in api.headers
        first = browser_like.get(f"/pages/{page['id']}")
        cookie = browser_like.cookies["leadtime_csrf"]
        assert f'name="csrf" value="{cookie}"' in first.text
        again = browser_like.get(f"/pages/{page['id']}")
        assert "leadtime_csrf" not in again.headers.get("set-cookie", "")
        assert f'name="csrf" value="{cookie}"' in again.text
