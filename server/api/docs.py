"""`/docs`: Swagger UI for the OpenAPI schema at `/openapi.json`, served from the
`swagger-ui-py` package's copy of Swagger UI 5 (under `/docs/assets`), so it works on a
network without internet and under the same Content-Security-Policy as every other page: no
CDN, no inline script (the start-up script is /static/docs.js)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse


def _assets() -> Path:
    # Found, not imported: the package's own code (handlers for a dozen frameworks) is not used.
    spec = importlib.util.find_spec("swagger_ui")
    assert spec is not None and spec.origin is not None, "swagger-ui-py is not installed"
    return Path(spec.origin).parent / "static"


ASSETS = _assets()
router = APIRouter(include_in_schema=False)

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>leadtime API</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/static/docs.js"></script>
</body>
</html>
"""


@router.get("/docs", response_class=HTMLResponse)
async def docs() -> HTMLResponse:
    return HTMLResponse(PAGE)
