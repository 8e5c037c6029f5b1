"""`GET /metrics`: leadtime's figures in the Prometheus text format (domain/metrics.py)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST

from leadtime.server.api.deps import Reader, SessionDep, SettingsDep, now
from leadtime.server.domain import metrics

router = APIRouter(tags=["metrics"])


@router.get(
    "/metrics",
    dependencies=[Reader],
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text"}},
)
def get_metrics(session: SessionDep, settings: SettingsDep) -> Response:
    """Pipeline run durations, lead times, deploys and failed deploys, mergesets waiting and step
    durations, over the whole history, for Prometheus to scrape (names in the README)."""
    return Response(metrics.render(session, settings, now()), media_type=CONTENT_TYPE_LATEST)
