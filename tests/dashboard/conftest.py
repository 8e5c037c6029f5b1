"""The dashboard tests reuse the server's fixtures (database, live server, client)."""

import pytest

from tests.server.conftest import client, data_dir, db_url, engine, live_server, session  # noqa: F401


@pytest.fixture
def page(browser, tmp_path):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on(
        "dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss())
    )
    # nothing a page loads may leave this machine: every asset is the server's own
    page.on(
        "request",
        lambda request: (
            request.url.startswith(("http://127.0.0.1:", "data:"))
            or problems.append(f"request left 127.0.0.1: {request.url}")
        ),
    )
    page.shots = tmp_path  # screenshots of every page visited land here
    page.problems = problems
    yield page
    context.close()
    assert problems == []
