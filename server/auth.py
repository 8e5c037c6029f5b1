"""API tokens: shown once, stored as a SHA-256 hash. Writes need one unless LEADTIME_AUTH
turns it off (the default only on a loopback address); reads need one when LEADTIME_READ_AUTH=on.

Each token has scopes (SCOPES): `ingest` writes what CI and forges report (spans, merges,
deploys, backfills, pages, webhooks), `read` reads the API and the dashboard, `admin` changes
how the server judges and whom it tells (alert rules and notifier targets, lead-time targets,
budgets, service mappings, alert checks). No scope implies another.

A token is 32 random bytes, so a fast hash is enough: nothing can be guessed from it, and the
lookup by hash never compares secrets byte by byte.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy.orm import Session

from leadtime.server import store
from leadtime.server.errors import BadPayload, Forbidden, NotFound, Unauthorized
from leadtime.server.models import ApiToken, utcnow

TOKEN_PREFIX = "lt_"
INGEST, READ, ADMIN = "ingest", "read", "admin"
SCOPES = (INGEST, READ, ADMIN)
DEFAULT_SCOPES = (INGEST,)  # what a CI job needs, and nothing more


def parse_scopes(values: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Scope names from `--scope` values (repeated, or comma-separated), in SCOPES order."""
    names = {name.strip().lower() for value in values for name in value.split(",") if name.strip()}
    unknown = sorted(names - set(SCOPES))
    if unknown:
        raise BadPayload(f"unknown scope {', '.join(unknown)}: use {', '.join(SCOPES)}")
    return tuple(scope for scope in SCOPES if scope in names) or DEFAULT_SCOPES


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    session: Session, name: str, scopes: tuple[str, ...] = DEFAULT_SCOPES
) -> tuple[ApiToken, str]:
    """A new token row and the token itself, which is never stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return store.insert_token(session, name, hash_token(token), ",".join(scopes)), token


def revoke_token(session: Session, token_id: int) -> ApiToken:
    row = store.token_by_id(session, token_id)
    if row is None:
        raise NotFound(f"no token with id {token_id}; `leadtime token list` shows them")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return row


def check_bearer(session: Session, authorization: str | None, scope: str) -> ApiToken:
    """The live token named by an `Authorization: Bearer ...` header, or Unauthorized; one
    without `scope` is Forbidden."""
    row = live_token(session, authorization)
    _check_scope(row, scope)
    return row


def live_token(session: Session, authorization: str | None) -> ApiToken:
    """The live token named by an `Authorization: Bearer ...` header, or Unauthorized."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            "missing token: send `Authorization: Bearer <token>` (create one with "
            "`leadtime token create NAME`)"
        )
    row = store.token_by_hash(session, hash_token(token.strip()))
    if row is None:
        raise Unauthorized("unknown token: check LEADTIME_TOKEN against `leadtime token list`")
    if row.revoked_at is not None:
        raise Unauthorized(f"token {row.name!r} was revoked; create a new one")
    return row


@dataclass(frozen=True)
class TokenSeen:
    """A live token as a request's early check found it (api/early_auth.py)."""

    name: str
    scope_names: tuple[str, ...]


def _check_scope(row: ApiToken | TokenSeen, scope: str) -> None:
    if scope not in row.scope_names:
        raise Forbidden(
            f"token {row.name!r} has scope {', '.join(row.scope_names) or 'none'}; this needs "
            f"{scope} (`leadtime token create NAME --scope {scope}`)"
        )


def check_seen(seen: TokenSeen, scope: str) -> None:
    """The scope check of a token the request's early check found live."""
    _check_scope(seen, scope)


SESSION_COOKIE = "leadtime_session"
SESSION_SECONDS = 12 * 3600
MAX_ID = 2**31 - 1


def _session_mac(row: ApiToken, expires: int) -> str:
    message = f"{row.id}.{expires}".encode()
    return hmac.new(row.token_hash.encode(), message, hashlib.sha256).hexdigest()


def session_value(row: ApiToken, now: float) -> str:
    """The session cookie's value for a signed-in token."""
    expires = int(now) + SESSION_SECONDS
    return f"{row.id}.{expires}.{_session_mac(row, expires)}"


def check_session(session: Session, value: str, scope: str, now: float) -> ApiToken:
    """The live token behind a session cookie, or Unauthorized; without `scope`, Forbidden."""
    token_id, _, rest = value.partition(".")
    expires, _, mac = rest.partition(".")
    row = None
    if token_id.isdigit() and expires.isdigit() and int(token_id) <= MAX_ID:
        row = store.token_by_id(session, int(token_id))
    valid = row is not None and hmac.compare_digest(_session_mac(row, int(expires)), mac)
    if row is None or not valid or int(expires) < now or row.revoked_at is not None:
        raise Unauthorized("signed out, or the session expired: sign in again")
    _check_scope(row, scope)
    return row


def check_credentials(
    session: Session, authorization: str | None, cookie: str | None, scope: str, now: float
) -> ApiToken:
    """A bearer token if the request sends one, else the browser's session cookie."""
    if authorization or not cookie:
        return check_bearer(session, authorization, scope)
    return check_session(session, cookie, scope, now)
