"""With LEADTIME_READ_AUTH=on the dashboard is usable in a browser: a page without a session
sends it to the sign-in page, a token with the read scope is exchanged for an HttpOnly,
SameSite=Strict session cookie, the forms work with it, and signing out ends it (real
Chromium, real server)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from leadtime.server import auth, db
from tests.conftest import CHROMIUM
from tests.server.conftest import LiveServer, settings_for, wipe

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)


@pytest.fixture
def locked(engine, db_url):
    """A server whose reads and writes need a token; a read+ingest token and a page with a
    suspect deploy on it."""
    with LiveServer(settings_for(db_url, auth="on", read_auth="on")) as server:
        with db.unit_of_work(db.session_factory(engine)) as session:
            _, token = auth.create_token(session, "people", (auth.INGEST, auth.READ))
            _, ingest_only = auth.create_token(session, "ci", (auth.INGEST,))
        bearer = {"authorization": f"Bearer {token}"}
        with httpx.Client(base_url=server.url, headers=bearer) as api:
            deploy = {
                "service": "shop",
                "repository": "https://github.com/acme/shop",
                "environment": "production",
                "sha": "d" * 40,
                "status": "succeeded",
                "finished_at": T0.isoformat(),
            }
            assert api.post("/api/deploys", json=deploy).status_code == 200
            page = api.post(
                "/api/pages",
                json={
                    "id": "p-1",
                    "service": "shop",
                    "title": "checkout down",
                    "triggered_at": (T0 + timedelta(minutes=20)).isoformat(),
                },
            ).json()
            assert page["suspect"] is not None
            yield server, token, ingest_only, page, api
    wipe(engine)


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
def test_sign_in_use_the_forms_and_sign_out(locked, browser):
    server, token, ingest_only, page, api = locked
    context = browser.new_context()
    tab = context.new_page()
    tab.goto(f"{server.url}/pages/{page['id']}")
    assert tab.url == f"{server.url}/sign-in?next=/pages/{page['id']}"

    tab.fill("#token", ingest_only)  # a real token, without the read scope
    tab.click("#sign-in")
    assert "this needs read" in tab.inner_text("#sign-in-error")
    tab.fill("#token", "lt_not-a-token")
    tab.click("#sign-in")
    assert "unknown token" in tab.inner_text("#sign-in-error")

    tab.fill("#token", token)
    tab.click("#sign-in")
    assert tab.url == f"{server.url}/pages/{page['id']}"
    (session_cookie,) = [c for c in context.cookies() if c["name"] == auth.SESSION_COOKIE]
    assert session_cookie["httpOnly"] and session_cookie["sameSite"] == "Strict"
    assert token not in session_cookie["value"]

    tab.click("#clear")  # a form, with the session and its CSRF token
    tab.wait_for_url(f"{server.url}/pages/{page['id']}")
    assert api.get(f"/api/pages/{page['id']}").json()["suspect"] is None

    tab.click("#sign-out")
    tab.wait_for_url(f"{server.url}/sign-in")
    tab.goto(f"{server.url}/")
    assert tab.url.startswith(f"{server.url}/sign-in")
    context.close()


def test_a_session_ends_with_its_token_and_never_sends_the_browser_elsewhere(locked, engine):
    server, token, _, _, _ = locked
    with httpx.Client(base_url=server.url) as browser_like:
        form = browser_like.get("/sign-in")
        csrf = browser_like.cookies["leadtime_csrf"]
        assert f'value="{csrf}"' in form.text
        signed_in = browser_like.post(
            "/sign-in",
            data={"token": token, "csrf": csrf, "next": "//evil.example/x"},
            headers={"origin": server.url},
        )
        assert signed_in.status_code == 303 and signed_in.headers["location"] == "/"
        assert browser_like.get("/api/mergesets").status_code == 200  # the session reads
        with db.unit_of_work(db.session_factory(engine)) as session:
            (row,) = [r for r in auth.store.tokens(session) if r.name == "people"]
            auth.revoke_token(session, row.id)
        ended = browser_like.get("/api/mergesets")
        assert ended.status_code == 401 and "sign in again" in ended.json()["error"]["message"]
        browser_like.cookies.set(auth.SESSION_COOKIE, "1.99999999999.forged")
        assert browser_like.get("/api/mergesets").status_code == 401
