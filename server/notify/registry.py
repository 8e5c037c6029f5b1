"""Every notifier, one row each. A new notifier is a module with `configured` and `send` (see
message.py), its row here, its test and its docs (README, "Alerts"); the outbox, retries and
health come with it. Feedback to people (domain/feedback.py) goes through the notifiers that
can address a person: FEEDBACK's, each with `send_feedback(row, settings)`."""

from __future__ import annotations

from leadtime.server.models import Repository
from leadtime.server.notify import email, log, slack, webhook
from leadtime.server.notify.message import FeedbackNotifier, Notifier
from leadtime.server.settings import Settings

NOTIFIERS: dict[str, Notifier] = {
    "log": log,
    "slack": slack,
    "webhook": webhook,
    "email": email,
}


FEEDBACK: dict[str, FeedbackNotifier] = {
    "email": email,
    "slack": slack,
    "webhook": webhook,
}


def channels_for(repository: Repository, settings: Settings) -> list[str]:
    """Where this repository's alerts go: every notifier the repository or the server
    configures (the server log always)."""
    alerting = repository.alerting or {}
    return [name for name, notifier in NOTIFIERS.items() if notifier.configured(alerting, settings)]
