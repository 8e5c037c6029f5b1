"""`/docs` works with no internet: Swagger UI's assets come from the server itself, in real
Chromium with every request to anywhere but the server blocked, under the same CSP as every
other page."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import CHROMIUM


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
def test_docs_render_every_operation_without_the_internet(live_server, browser):
    context = browser.new_context()
    elsewhere: list[str] = []

    def only_the_server(route) -> None:
        if route.request.url.startswith(live_server.url):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    context.route("**/*", only_the_server)
    errors: list[str] = []
    tab = context.new_page()
    tab.on("console", lambda line: errors.append(line.text) if line.type == "error" else None)
    tab.goto(f"{live_server.url}/docs")
    tab.wait_for_selector(".opblock", timeout=30_000)
    operations = tab.locator(".opblock").count()
    schema = httpx.get(f"{live_server.url}/openapi.json").json()
    documented = sum(len(methods) for methods in schema["paths"].values())
    context.close()
    assert elsewhere == []
    assert operations == documented > 20
    assert not [line for line in errors if "Content Security Policy" in line], errors


def test_docs_carry_the_content_security_policy(live_server):
    answer = httpx.get(f"{live_server.url}/docs")
    assert answer.status_code == 200
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    assert "cdn" not in answer.text.lower()
    assets = httpx.get(f"{live_server.url}/docs/assets/swagger-ui-bundle.js")
    assert assets.status_code == 200 and len(assets.content) > 100_000
    assert httpx.get(f"{live_server.url}/redoc").status_code == 404
