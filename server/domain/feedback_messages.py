"""The messages one piece of news makes (domain/feedback.py has the rules): one per channel
and recipient, each saying why it reached them, keyed so that it is stored once."""

from __future__ import annotations

from datetime import datetime

from leadtime.server.domain.feedback_events import Event, Told
from leadtime.server.models import Team
from leadtime.server.settings import Settings

EMAIL, SLACK, WEBHOOK = "email", "slack", "webhook"


def _text(event: Event, why: list[str]) -> str:
    action = event.extra.get("action", "Open in leadtime")
    return "\n".join([event.subject, *event.lines, *why, f"{action}: {event.link}"])


def _mention(told: Told) -> str:
    slack = told.person.slack_user_id
    return f"<@{slack}>" if slack else told.person.name


def _team_why(event: Event, team: Team, told: list[Told], loose: list[str]) -> list[str]:
    what = event.service if event.service in team.services else "the repository"
    why = [f"Why you: {_mention(person)}: {person.why}" for person in told]
    if loose:
        why.append("Authors not mapped to anyone yet: " + ", ".join(loose))
    if event.kind == "digest":
        why.append(f"Why this channel: the weekly review of team {team.name}")
    else:
        why.append(f"Why this channel: team {team.name} owns {what}")
    return why


def _row(event: Event, channel: str, target: str, due: datetime, **values) -> dict:
    return {
        "key": f"{event.key}:{channel}:{target}",
        "kind": event.kind,
        "channel": channel,
        "subject": event.subject[:300],
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": due,
        **values,
    }


def _for_authors(event: Event, told: list[Told], settings: Settings, due: datetime) -> list[dict]:
    rows = []
    for person in told:
        body = {"text": _text(event, [f"Why you: {person.why}"]), "link": event.link}
        if settings.smtp_host and person.person.email:
            target, address = f"person:{person.person.id}", person.person.email
            rows.append(
                _row(
                    event,
                    EMAIL,
                    target,
                    due,
                    person_id=person.person.id,
                    address=address,
                    body=body,
                )
            )
        if settings.slack_bot_token and person.person.slack_user_id:
            rows.append(
                _row(
                    event,
                    SLACK,
                    f"person:{person.person.id}",
                    due,
                    person_id=person.person.id,
                    address=person.person.slack_user_id,
                    body=body,
                )
            )
    return rows


def _for_team(
    event: Event, team: Team, told: list[Told], loose: list[str], settings: Settings, due
) -> list[dict]:
    text = _text(event, _team_why(event, team, told, loose))
    body = {"text": text, "link": event.link, "mentions": [_mention(t) for t in told]}
    rows = []
    chat = bool(settings.slack_bot_token and team.slack_channel)
    if chat or team.slack_webhook_url:
        address = team.slack_channel if chat else None
        rows.append(
            _row(event, SLACK, f"team:{team.name}", due, team=team.name, address=address, body=body)
        )
    if settings.smtp_host and team.email:
        rows.append(
            _row(
                event,
                EMAIL,
                f"team:{team.name}",
                due,
                team=team.name,
                address=team.email,
                body=body,
            )
        )
    return rows


def messages_for(
    event: Event,
    teams: list[Team],
    told: list[Told],
    loose: list[str],
    settings: Settings,
    due: datetime,
) -> list[dict]:
    """Every message the event makes: its authors', its teams' (or the server's Slack
    webhook where no team owns it), and one for the JSON webhook."""
    rows = _for_authors(event, told, settings, due)
    for team in teams:
        rows += _for_team(event, team, told, loose, settings, due)
    if not teams and settings.slack_webhook_url:
        why = [f"Why you: {_mention(t)}: {t.why}" for t in told]
        body = {"text": _text(event, why), "link": event.link}
        rows.append(_row(event, SLACK, "server", due, body=body))
    if settings.alert_webhook_url:
        data = {
            "text": _text(event, []),
            "link": event.link,
            "lines": list(event.lines),
            "recipients": [{"person": t.person.name, "why": t.why} for t in told],
            "teams": [team.name for team in teams],
            "unmapped": loose,
        }
        rows.append(_row(event, WEBHOOK, "server", due, body=data))
    return rows
