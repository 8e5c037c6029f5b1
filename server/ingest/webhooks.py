"""Every webhook source, one row each: the API gives each its route `/webhooks/<name>`. A new
source is a module declaring its WebhookSource (ingest/source.py), its row here, its test and
its docs (docs/webhooks.md)."""

from __future__ import annotations

from leadtime.server.ingest import alertmanager, github, gitlab, opsgenie, pagerduty
from leadtime.server.ingest.source import WebhookSource

SOURCES: tuple[WebhookSource, ...] = (
    github.SOURCE,
    gitlab.SOURCE,
    pagerduty.SOURCE,
    opsgenie.SOURCE,
    alertmanager.SOURCE,
)
