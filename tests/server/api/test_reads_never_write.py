"""Every GET route, the API's and the dashboard's, on a database with something in every table:
none sends an INSERT, UPDATE or DELETE, and every table holds the same rows afterwards."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import event, text

from leadtime.server import db, store
from leadtime.server.dashboard import page_views, views
from leadtime.server.models import Base
from tests.server.otlp_payloads import REPO, post_run

SHA = "a" * 40
WRITES = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER)\b", re.IGNORECASE)


def _fill(client, engine) -> dict[str, str]:
    """A main-branch run that deploys, a merge, a page after the deploy, an alert: the values
    the routes' path parameters take."""
    start = datetime.now(UTC) - timedelta(hours=2)
    trace = post_run(
        client,
        7,
        start,
        [("build", 60, "success"), ("deploy", 30, "success")],
        branch="main",
        sha=SHA,
        extra={"deploy": {"deployment.environment.name": "production"}},
    )
    merged = (start - timedelta(minutes=5)).isoformat()
    merge = {"repository": REPO, "sha": "b" * 40, "merged_at": merged, "title": "Add cart"}
    assert client.post("/api/merges", json=merge).status_code == 200
    page = client.post("/api/pages", json={"service": "shop", "title": "5xx"}).json()
    with db.unit_of_work(db.session_factory(engine)) as session:
        repository = store.find_repository(session, REPO)
        values = {"metric": "lead_time", "subject": "", "fired_at": datetime.now(UTC)}
        alert = store.open_alert(session, {"repository_id": repository.id, **values})
        assert alert is not None
        alert_id = alert.id
    return {
        "sha": SHA,
        "trace_id": trace,
        "page_id": str(page["id"]),
        "alert_id": str(alert_id),
        "pager_service": "shop",
    }


def _get_paths(client) -> list[str]:
    api = [
        path for path, item in client.get("/openapi.json").json()["paths"].items() if "get" in item
    ]
    dashboard = [
        route.path
        for module in (views, page_views)
        for route in module.router.routes
        if "GET" in getattr(route, "methods", ())
    ]
    return sorted(set(api + dashboard))


def _snapshot(engine) -> dict[str, list]:
    with engine.connect() as connection:
        return {
            table.name: sorted(map(repr, connection.execute(text(f"SELECT * FROM {table.name}"))))
            for table in Base.metadata.sorted_tables
        }


def test_no_get_route_writes(client, live_server, engine):
    values = _fill(client, engine)
    paths = _get_paths(client)
    assert len(paths) >= 25 and "/api/reports/slowest-steps" in paths
    before = _snapshot(engine)
    assert all(before[name] for name in ("steps", "mergesets", "deploys", "pages", "alerts"))
    writes: list[str] = []

    def note(_conn, _cursor, statement, *_args) -> None:
        if WRITES.match(statement):
            writes.append(statement.split("\n")[0][:80])

    server_engine = live_server.app.state.engine
    event.listen(server_engine, "before_cursor_execute", note)
    try:
        answered = {}
        for path in paths:
            url = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)
            response = client.get(url, params={"repo": REPO}, headers={"accept": "text/html"})
            answered[path] = response.status_code
    finally:
        event.remove(server_engine, "before_cursor_execute", note)
    assert writes == [], writes
    assert _snapshot(engine) == before
    failing = {path: status for path, status in answered.items() if status >= 500}
    assert failing == {}
    assert answered["/api/reports/slowest-steps"] == 200
    assert sum(status == 200 for status in answered.values()) >= len(paths) - 3, answered


def test_a_write_on_the_servers_engine_would_be_caught(live_server):
    """The listener above sees the server's statements: a write sent on the server's engine
    is noted."""
    seen: list[str] = []
    server_engine = live_server.app.state.engine

    def note(_conn, _cursor, statement, *_args) -> None:
        if WRITES.match(statement):
            seen.append(statement)

    event.listen(server_engine, "before_cursor_execute", note)
    try:
        with db.unit_of_work(live_server.app.state.sessions) as session:
            store.delivery_is_new(session, "test", "d-1")
    finally:
        event.remove(server_engine, "before_cursor_execute", note)
    assert seen and seen[0].lstrip().upper().startswith("INSERT")
