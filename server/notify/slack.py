"""Slack, through an incoming webhook (the repository's `slack_webhook_url`, else
LEADTIME_SLACK_WEBHOOK_URL): plain `text` for the notification, and blocks (header, what slipped,
the slowest steps, a link to the dashboard) for the channel."""

from __future__ import annotations

import json
from typing import Any

from leadtime.server.domain.regression import LEAD_TIME, STEP, headline
from leadtime.server.models import Alert, FeedbackMessage, Team
from leadtime.server.notify.message import Delivery, Message, post_json
from leadtime.server.settings import Settings
from leadtime.server.timeparse import format_duration

TITLES = {
    (LEAD_TIME, "fired"): "Lead time regression",
    (LEAD_TIME, "resolved"): "Lead time recovered",
    (STEP, "fired"): "Step slowed down",
    (STEP, "resolved"): "Step recovered",
}


CHAT_RETRYABLE = frozenset({"ratelimited", "internal_error", "service_unavailable", "fatal_error"})


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


def send_feedback(row: FeedbackMessage, team: Team | None, settings: Settings) -> Delivery:
    """A person's direct message or a team's channel post through the chat API (`address`: a
    user or channel id, with the bot token), else the team's or the server's webhook. Mentions
    `<@U...>` stay markup; the rest is text."""
    text = _feedback_text(row)
    if row.address and settings.slack_bot_token:
        url = settings.slack_api_url.rstrip("/") + "/chat.postMessage"
        token = settings.slack_bot_token.get_secret_value()
        body = json.dumps({"channel": row.address, "text": text, "unfurl_links": False})
        headers = {"authorization": f"Bearer {token}"}
        return _chat_answer(post_json(url, body.encode(), headers, settings, keep_answer=True))
    hook = team.slack_webhook_url if team else None
    if hook is None and settings.slack_webhook_url is not None:
        hook = settings.slack_webhook_url.get_secret_value()
    if not hook:
        return Delivery("no Slack webhook for this team")
    return post_json(hook, json.dumps({"text": text}).encode(), {}, settings)


def _feedback_text(row: FeedbackMessage) -> str:
    mentions = [m for m in row.body.get("mentions", []) if m.startswith("<@")]
    text = escape(row.body["text"])
    for mention in mentions:
        text = text.replace(escape(mention), mention)
    return text


def _chat_answer(delivered: Delivery) -> Delivery:
    """Slack's chat API answers 200 with `ok: false` and an error name when it refuses."""
    if delivered.error or delivered.answer is None:
        return delivered
    try:
        answer = json.loads(delivered.answer)
    except ValueError:
        return Delivery("Slack's chat API answered no JSON", retry=True)
    if isinstance(answer, dict) and answer.get("ok") is True:
        return Delivery()
    error = str(answer.get("error", "unknown") if isinstance(answer, dict) else "unknown")[:100]
    return Delivery(f"Slack said {error}", retry=error in CHAT_RETRYABLE)
