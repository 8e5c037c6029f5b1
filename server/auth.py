"""API tokens: shown once, stored as a SHA-256 hash. Writes need one unless LEADTIME_AUTH
turns it off (the default only on a loopback address); reads need one when LEADTIME_READ_AUTH=on.

A token is 32 random bytes, so a fast hash is enough: nothing can be guessed from it, and the
lookup by hash never compares secrets byte by byte.
"""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy.orm import Session

from leadtime.server import store
from leadtime.server.errors import NotFound, Unauthorized
from leadtime.server.models import ApiToken, utcnow

TOKEN_PREFIX = "lt_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, name: str) -> tuple[ApiToken, str]:
    """A new token row and the token itself, which is never stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return store.insert_token(session, name, hash_token(token)), token


def revoke_token(session: Session, token_id: int) -> ApiToken:
    row = store.token_by_id(session, token_id)
    if row is None:
        raise NotFound(f"no token with id {token_id}; `leadtime token list` shows them")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return row


def check_bearer(session: Session, authorization: str | None) -> ApiToken:
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
