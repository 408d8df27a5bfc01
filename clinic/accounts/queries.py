"""Reading accounts: users for the admin pages, API tokens for the CLI and the admin page."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from ..models import ApiToken, User
from .errors import UserNotFound


def get_user(session: Session, *, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise UserNotFound(f"There is no user with id {user_id}.")
    return user


def all_users(session: Session) -> list[User]:
    """Every user with their staff link, active ones first."""
    return list(
        session.scalars(
            sa.select(User)
            .options(joinedload(User.staff))
            .order_by(User.active.desc(), User.username)
        )
    )


def user_by_name(session: Session, username: str) -> User | None:
    """The user with this name, ignoring case (names are unique regardless of case)."""
    return session.scalar(
        sa.select(User).where(sa.func.lower(User.username) == username.strip().lower()).limit(1)
    )


def active_usernames(session: Session) -> list[tuple[str, str]]:
    """(username, role) of the users a token may be created for."""
    rows = session.execute(
        sa.select(User.username, User.role).where(User.active).order_by(User.username)
    ).all()
    return [(username, str(role)) for username, role in rows]


def list_tokens(session: Session, *, include_revoked: bool = True) -> list[ApiToken]:
    """Every token with its user, newest first (one query)."""
    query = (
        sa.select(ApiToken)
        .options(joinedload(ApiToken.user))
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    )
    if not include_revoked:
        query = query.where(ApiToken.revoked_at.is_(None))
    return list(session.scalars(query).all())
