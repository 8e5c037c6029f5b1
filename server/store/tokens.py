"""API tokens, stored only as their hash."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadtime.server.models import ApiToken


def insert_token(session: Session, name: str, token_hash: str, scopes: str) -> ApiToken:
    row = ApiToken(name=name, token_hash=token_hash, scopes=scopes)
    session.add(row)
    session.flush()
    return row


def tokens(session: Session) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).order_by(ApiToken.id)))


def token_by_id(session: Session, token_id: int) -> ApiToken | None:
    return session.get(ApiToken, token_id)


def token_by_hash(session: Session, token_hash: str) -> ApiToken | None:
    return session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash))
