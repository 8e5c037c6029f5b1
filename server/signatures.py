"""Webhook signatures, once: the HMAC-SHA256 of a body (hex, as GitHub and PagerDuty send it) and
the Standard Webhooks scheme (GitLab's signing token, and our own outgoing JSON webhook).

Standard Webhooks (standardwebhooks.com): `webhook-id`, `webhook-timestamp` (Unix seconds) and
`webhook-signature`, space-separated `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`; a
`whsec_` secret is a base64 key, any other string is the key as it is. Every comparison is in
constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Iterable, Mapping

from leadtime.server.errors import Unauthorized

SIGNATURE_TOLERANCE_SECONDS = 300  # Standard Webhooks: refuse signatures older or newer


def hmac_hex(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def matches_any(expected: str, given: Iterable[str]) -> bool:
    return any(hmac.compare_digest(expected, candidate) for candidate in given)


def _signing_key(secret: str) -> bytes:
    if secret.startswith("whsec_"):
        return base64.b64decode(secret.removeprefix("whsec_"))
    return secret.encode()


def standard_signature(secret: str, message_id: str, timestamp: int | str, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_signing_key(secret), signed, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def standard_headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers that sign an outgoing delivery."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": "v1," + standard_signature(secret, message_id, timestamp, body),
    }


def verify_standard_webhook(
    body: bytes, headers: Mapping[str, str], secret: str, now: float | None = None
) -> None:
    """Any of the `v1,` signatures may match; the timestamp must be within 5 minutes of `now`."""
    message_id, stamp = headers.get("webhook-id", ""), headers.get("webhook-timestamp", "")
    now = time.time() if now is None else now
    if not stamp.isdigit() or abs(now - int(stamp)) > SIGNATURE_TOLERANCE_SECONDS:
        raise Unauthorized("webhook-timestamp is missing or more than 5 minutes away")
    expected = standard_signature(secret, message_id, stamp, body)
    given = [part.removeprefix("v1,") for part in headers.get("webhook-signature", "").split()]
    if not matches_any(expected, given):
        raise Unauthorized("webhook-signature does not match the body")
