"""Creating users and checking passwords (used by the CLI and the admin pages)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .audit import Actor, record_event
from .errors import Invalid
from .models import Role, User
from .security.passwords import password_problem
from .security.sessions import end_user_sessions

__all__ = ["UserError", "change_password", "create_user", "password_problem"]


class UserError(Invalid):
    """A user cannot be created or changed as asked; the message says why."""


def create_user(
    session: Session, *, username: str, role: str, password: str, staff_id: int | None = None
) -> User:
    username = username.strip()
    if not username or len(username) > 80:
        raise UserError("The username must be 1 to 80 characters.")
    try:
        role_value = Role(role)
    except ValueError as error:
        raise UserError(f"Unknown role {role!r}: use admin, receptionist or nurse.") from error
    if problem := password_problem(username, password):
        raise UserError(problem)
    if session.scalar(sa.select(User.id).where(User.username == username)) is not None:
        raise UserError(f"A user named {username} already exists.")
    user = User(username=username, role=role_value, staff_id=staff_id)
    user.set_password(password)
    session.add(user)
    session.commit()
    return user


def change_password(
    session: Session, *, user_id: int, password: str, actor: Actor, now: dt.datetime
) -> User:
    """Set a new password and end the user's live sessions (a stolen one stops working).

    Commits once, with an audit row that names no password.
    """
    user = session.get(User, user_id)
    if user is None:
        raise UserError(f"There is no user with id {user_id}.")
    if problem := password_problem(user.username, password):
        raise UserError(problem)
    user.set_password(password)
    ended = end_user_sessions(session, user_id=user.id, now=now)
    record_event(
        session,
        actor,
        action="user.password_change",
        entity_type="user",
        entity_id=user.id,
        summary=f"{ended} session(s) ended",
    )
    session.commit()
    return user
