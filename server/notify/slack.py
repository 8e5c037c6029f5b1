"""Slack, through an incoming webhook (the repository's `slack_webhook_url`, else
LEADTIME_SLACK_WEBHOOK_URL): plain `text` for the notification, and blocks (header, what slipped,
the slowest steps, a link to the dashboard) for the channel."""

from __future__ import annotations

import json
from typing import Any

from leadtime.server.domain.regression import LEAD_TIME, STEP, headline
from leadtime.server.models import Alert
from leadtime.server.notify.message import Delivery, Message, post_json
from leadtime.server.settings import Settings
from leadtime.server.timeparse import format_duration

TITLES = {
    (LEAD_TIME, "fired"): "Lead time regression",
    (LEAD_TIME, "resolved"): "Lead time recovered",
    (STEP, "fired"): "Step slowed down",
    (STEP, "resolved"): "Step recovered",
}


def escape(text: str) -> str:
    """Slack's mrkdwn treats &, < and > as markup; titles and step names are not markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def text_and_blocks(alert: Alert, repository: str, event: str, link: str) -> dict:
    title = TITLES.get((alert.metric, event), "Mergeset stuck")
    line = headline(alert, repository)
    text = f"{title}: {line}" if event == "fired" else f"{title}: {line} (resolved)"
    body = [f"*{escape(line)}*"]
    top = (alert.detail or {}).get("top_steps") or []
    if top:
        steps = ", ".join(
            f"`{escape(step['name'])}` {format_duration(step['current'])}" for step in top
        )
        body.append(f"Slowest steps (p50): {steps}")
    body.append(f"<{link}|Open in leadtime>")
    context = f"alert #{alert.id} · {alert.metric}"
    if (alert.detail or {}).get("mergesets") is not None:
        context += f" · {alert.detail['mergesets']} mergesets in the window"
    return {
        "text": text,
        "blocks": [
            {
                "type": "header",
                "text": {"type": "plain_text", "text": f"{title}: {repository}"[:150]},
            },
            {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(body)[:3000]}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": context}]},
        ],
    }


def configured(alerting: dict[str, Any], settings: Settings) -> bool:
    return bool(alerting.get("slack_webhook_url") or settings.slack_webhook_url)


def send(message: Message) -> Delivery:
    url = message.setting("slack_webhook_url", message.settings.slack_webhook_url)
    if not url:
        return Delivery("no Slack webhook configured")
    body = json.dumps(
        text_and_blocks(message.alert, message.repository, message.event, message.link)
    )
    return post_json(url, body.encode(), {}, message.settings)
