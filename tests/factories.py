"""Real rows with sensible defaults, made the way users make them (through the API of a running
server), and the recorded payloads of tests/data/, named `source_event.json`."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from functools import cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
REPO = "https://github.com/acme/shop"


@cache
def _recorded(name: str) -> dict:
    return json.loads((DATA / f"{name}.json").read_text())


def load_payload(name: str) -> dict:
    """A recorded delivery, e.g. `github_push`; a copy each call, so a test may change it."""
    return copy.deepcopy(_recorded(name))


def make_deploy(
    client,
    service: str,
    sha: str,
    finished_at: datetime,
    status: str = "succeeded",
    environment: str = "production",
) -> int:
    """A finished deploy of `service` from its own repository (acme/<service>); its id."""
    body = {
        "service": service,
        "repository": REPO if service == "shop" else f"https://github.com/acme/{service}",
        "environment": environment,
        "sha": sha,
        "status": status,
        "finished_at": finished_at.isoformat(),
    }
    response = client.post("/api/deploys", json=body)
    assert response.status_code == 200, response.text
    return response.json()["id"]


def make_mergeset(
    client, sha: str, merged_at: datetime, author: str = "ada", parent: str | None = None
) -> None:
    """A merge to acme/shop's main branch, reported with the API."""
    body = {"repository": REPO, "sha": sha, "merged_at": merged_at.isoformat(), "author": author}
    if parent:
        body["parent_sha"] = parent
    response = client.post("/api/merges", json=body)
    assert response.status_code == 200, response.text


def make_page(client, service: str, triggered_at: datetime, external_id: str, **extra) -> dict:
    """A page from the API; the answer, with its suspect deploy."""
    body = {
        "id": external_id,
        "service": service,
        "title": f"{service} is down",
        "triggered_at": triggered_at.isoformat(),
        **extra,
    }
    response = client.post("/api/pages", json=body)
    assert response.status_code == 200, response.text
    return response.json()
