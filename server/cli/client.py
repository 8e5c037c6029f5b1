"""The terminal commands' side of the API: requests to the server named by LEADTIME_URL (with
LEADTIME_TOKEN as bearer token), and errors as one clear line."""

from __future__ import annotations

import os
from typing import Any

import click

DEFAULT_URL = "http://127.0.0.1:8000"


def server_url() -> str:
    return os.environ.get("LEADTIME_URL", DEFAULT_URL).rstrip("/")


def request(method: str, path: str, params: dict | None = None, body: dict | None = None):
    """The server's answer to one request; a ClickException saying why when it failed."""
    import httpx

    url = server_url()
    headers = {}
    if os.environ.get("LEADTIME_TOKEN"):
        headers["authorization"] = f"Bearer {os.environ['LEADTIME_TOKEN']}"
    try:
        response = httpx.request(
            method,
            url + path,
            params={k: v for k, v in (params or {}).items() if v is not None},
            json=body,
            headers=headers,
            timeout=30,
        )
    except httpx.HTTPError as error:
        raise click.ClickException(
            f"cannot reach the leadtime server at {url} ({error}); set LEADTIME_URL"
        ) from error
    if response.status_code >= 400:
        try:
            message = response.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = response.text[:200]
        raise click.ClickException(f"{url}{path}: {response.status_code} {message}")
    return response


def call(method: str, path: str, params: dict | None = None, body: dict | None = None) -> Any:
    """A request to the server named by LEADTIME_URL (LEADTIME_TOKEN as bearer token); its JSON."""
    return request(method, path, params, body).json()


def get(path: str, params: dict) -> Any:
    return call("GET", path, params=params)
