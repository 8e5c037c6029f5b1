"""What a notifier is given and what it answers: one Message in, one Delivery out. Each notifier
is a module with `configured(alerting, settings)` and `send(message)`, listed in registry.py.

Webhook URLs are secrets: no Delivery's error ever contains one. Nor does it hold what the
target answered: a target pointed at an internal service would otherwise echo that service's
answer to anyone reading /readyz or the alerts; the answer goes to the server's log only.
It is kept apart, in `answer`, which only admins read (GET /api/notifiers). Redirects are never
followed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import httpx
from pydantic import SecretStr

from leadtime.server.models import Alert, FeedbackMessage, Team
from leadtime.server.notify import outbound
from leadtime.server.settings import Settings

log = logging.getLogger("leadtime.server.notify")
RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Message:
    alert: Alert
    repository: str  # as people name it
    event: str  # "fired" or "resolved"
    link: str  # the dashboard page that shows what the alert is about
    at: datetime
    alerting: dict[str, Any]  # the repository's own notifier settings (it may have none)
    settings: Settings

    def setting(self, own: str, server: SecretStr | None) -> str | None:
        """The repository's own value of a notifier setting, else the server's."""
        value = self.alerting.get(own)
        if value:
            return str(value)
        return server.get_secret_value() if server is not None else None


@dataclass(frozen=True)
class Delivery:
    error: str | None = None  # None: delivered
    retry: bool = False
    retry_after: float | None = None
    answer: str | None = None  # what the target said, for admins only


class Notifier(Protocol):
    def configured(self, alerting: dict[str, Any], settings: Settings) -> bool: ...

    def send(self, message: Message) -> Delivery: ...


class FeedbackNotifier(Protocol):
    def send_feedback(
        self, row: FeedbackMessage, team: Team | None, settings: Settings
    ) -> Delivery: ...


def post_json(
    url: str, body: bytes, headers: dict[str, str], settings: Settings, keep_answer: bool = False
) -> Delivery:
    """POST a JSON body where outbound.py allows; retryable when the failure may pass (no answer,
    429, 5xx), honouring Retry-After; given up on other 4xx (410: the hook is gone). With
    `keep_answer`, a 2xx answer's body is kept too (an API that says no inside a 200)."""
    refused = outbound.refusal(url, settings)
    if refused:
        return Delivery(f"not sent: {refused}")
    try:
        response = httpx.post(
            url,
            content=body,
            headers={"content-type": "application/json", **headers},
            timeout=settings.notify_timeout_seconds,
            follow_redirects=False,
        )
    except httpx.HTTPError as error:
        # The exception's text may carry the URL, which is the secret: name the kind only.
        return Delivery(f"{type(error).__name__} (no answer)", retry=True)
    if 200 <= response.status_code < 300:
        return Delivery(answer=response.text[:2000] if keep_answer else None)
    retry_after = response.headers.get("retry-after", "")
    answer = response.text[:200]
    log.warning("notifier answered HTTP %s: %s", response.status_code, answer)
    return Delivery(
        f"HTTP {response.status_code}",
        retry=response.status_code in RETRYABLE,
        retry_after=float(retry_after) if retry_after.isdigit() else None,
        answer=answer,
    )
