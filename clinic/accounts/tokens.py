"""Per-user API tokens: created once in plain text, stored as a SHA-256, listed, revoked.

A token is 32 random bytes, so a plain (unsalted) SHA-256 is enough to make a stolen table
useless, and lets a request's token be found with one indexed lookup. No Flask here (and
no API blueprint): the CLI, the admin page and the API's authentication all call these
functions. Listing tokens is in ``clinic.accounts.queries``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..audit import Actor, record_event
from ..models import ApiToken, User
from ..text import text_problem
from .errors import TokenError

# Recognisable in logs and secret scanners, like "ghp_" for GitHub.
TOKEN_MARK = "clinic_"
PREFIX_LENGTH = 12
MAX_NAME_LENGTH = 80
# Recording every use would turn every read into a write; a minute's precision is plenty.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class NewToken:
    token: ApiToken
    # The only time the plain token exists outside the client: show it once, never store it.
    plain: str


def hash_token(plain: str) -> str:
    return hashlib.sha256(plain.encode("utf-8", "surrogatepass")).hexdigest()


def create_token(
    session: Session, *, username: str, name: str = "", actor: Actor, now: dt.datetime
) -> NewToken:
    user = session.scalar(sa.select(User).where(User.username == username.strip()))
    if user is None:
        raise TokenError(f"There is no user named {username.strip()!r}.")
    if not user.active:
        raise TokenError(f"User {user.username} is deactivated; activate them first.")
    if problem := text_problem(name):
        raise TokenError(problem)
    name = name.strip()
    if len(name) > MAX_NAME_LENGTH:
        raise TokenError(f"The token name must be at most {MAX_NAME_LENGTH} characters.")
    plain = TOKEN_MARK + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=hash_token(plain),
        prefix=plain[:PREFIX_LENGTH],
        created_at=now,
    )
    session.add(token)
    session.flush()
    record_event(
        session,
        actor,
        action="api_token.create",
        entity_type="api_token",
        entity_id=token.id,
        summary=f"token {token.id} for user {user.id}",
    )
    session.commit()
    return NewToken(token=token, plain=plain)


def revoke_token(session: Session, *, token_id: int, actor: Actor, now: dt.datetime) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise TokenError(f"There is no API token with id {token_id}.")
    if token.revoked_at is not None:
        raise TokenError(f"API token {token_id} is already revoked.")
    token.revoked_at = now
    record_event(
        session,
        actor,
        action="api_token.revoke",
        entity_type="api_token",
        entity_id=token.id,
        summary=f"token {token.id} of user {token.user_id}",
    )
    session.commit()
    return token


def authenticate(session: Session, *, plain: str, now: dt.datetime) -> User | None:
    """The active user a live token belongs to, or None. Notes when the token was used."""
    if not plain.startswith(TOKEN_MARK) or len(plain) > 200:
        return None
    row = session.execute(
        sa.select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == hash_token(plain), ApiToken.revoked_at.is_(None))
    ).one_or_none()
    if row is None:
        return None
    token, user = row
    if not user.active:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        token.last_used_at = now
        session.commit()
    return user
