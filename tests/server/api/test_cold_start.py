"""The first request after a start is served like the others: the routes FastAPI prepares for
each included router on the first request that reaches it are prepared as the server starts."""

from __future__ import annotations

import httpx
import pytest
from fastapi import routing

from tests.server.conftest import LiveServer, settings_for

PREPARES = "_EffectiveRouteContext"  # what FastAPI makes of a route when it prepares it


@pytest.fixture
def preparations(monkeypatch) -> list[str]:
    """The routes FastAPI prepares from now on, by path."""
    if not hasattr(routing, PREPARES):
        pytest.skip("this FastAPI prepares its routes as they are included")
    made: list[str] = []
    context = getattr(routing, PREPARES)
    original = context.from_api_route.__func__

    def noted(cls, *args, **kwargs):
        prepared = original(cls, *args, **kwargs)
        made.append(kwargs.get("original_route", args[0] if args else None).path)
        return prepared

    monkeypatch.setattr(context, "from_api_route", classmethod(noted))
    return made


def test_the_first_requests_after_a_start_prepare_no_route(preparations, db_url, engine):
    with LiveServer(settings_for(db_url, auth="off")) as server:
        at_start = len(preparations)
        with httpx.Client(base_url=server.url, timeout=30) as client:
            for path in ("/api/mergesets", "/api/deploys", "/healthz", "/metrics"):
                assert client.get(path).status_code == 200, path
    assert at_start > 50  # every API route, once
    assert preparations[at_start:] == []
