"""Named errors, each with its HTTP status; app.py turns every one into the same JSON shape:
`{"error": {"code": ..., "message": ...}}`. Messages say what to do."""

from __future__ import annotations

from typing import ClassVar


class LeadtimeError(Exception):
    status = 400
    code = "bad_request"
    headers: ClassVar[dict[str, str]] = {}

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadPayload(LeadtimeError):
    status, code = 400, "bad_payload"


class Unauthorized(LeadtimeError):
    status, code = 401, "unauthorized"
    headers: ClassVar[dict[str, str]] = {"WWW-Authenticate": "Bearer"}


class Forbidden(LeadtimeError):
    status, code = 403, "forbidden"


class NotFound(LeadtimeError):
    status, code = 404, "not_found"


class Conflict(LeadtimeError):
    status, code = 409, "conflict"


class PayloadTooLarge(LeadtimeError):
    status, code = 413, "payload_too_large"


class UnsupportedMediaType(LeadtimeError):
    status, code = 415, "unsupported_media_type"


class UnknownService(LeadtimeError):
    status, code = 422, "unknown_service"


class Unavailable(LeadtimeError):
    """Retryable: the database is down or busy. OTLP clients and forges retry a 503."""

    status, code = 503, "unavailable"
    headers: ClassVar[dict[str, str]] = {"Retry-After": "5"}
