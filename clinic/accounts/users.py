"""User accounts: creating one (the CLI and the admin page call the same function), changing
its role, activity and staff link, and setting its password.

Each function validates all its input first (a refusal changes nothing), writes an audit row
in the same transaction and commits once. Refusals raise :class:`UserError` with one message
per field, so a form shows each next to its input and the CLI prints them all.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..audit import Actor, record_event
from ..models import Role, Staff, User
from ..text import text_problem
from .errors import UserError
from .passwords import password_problem
from .queries import get_user, user_by_name
from .sessions import end_user_sessions

MAX_USERNAME_LENGTH = 80
ROLE_CHOICES = ", ".join(role.value for role in Role)


def _username_problem(session: Session, username: str) -> str | None:
    if problem := text_problem(username):
        return problem
    if not username or len(username) > MAX_USERNAME_LENGTH or any(ch.isspace() for ch in username):
        return f"Enter a username of 1 to {MAX_USERNAME_LENGTH} characters without spaces."
    existing = user_by_name(session, username)
    if existing is not None:
        return f"This username is taken. A user named {existing.username} already exists."
    return None


def _role(errors: dict[str, str], role: str) -> Role | None:
    try:
        return Role(role)
    except ValueError:
        errors["role"] = f"Unknown role {role!r}: choose {ROLE_CHOICES}."
        return None


def _check_staff_link(session: Session, errors: dict[str, str], staff_id: int | None) -> None:
    if staff_id is not None and session.get(Staff, staff_id) is None:
        errors["staff_id"] = "Choose a staff member from the list."


def create_user(
    session: Session,
    *,
    username: str,
    role: str,
    password: str,
    staff_id: int | None = None,
    actor: Actor,
) -> User:
    """A new user who can log in. Usernames are unique ignoring case ("Rita" is "rita")."""
    errors: dict[str, str] = {}
    username = (username or "").strip()
    if problem := _username_problem(session, username):
        errors["username"] = problem
    role_value = _role(errors, role)
    if problem := password_problem(username, password or ""):
        errors["password"] = problem
    _check_staff_link(session, errors, staff_id)
    if errors or role_value is None:
        raise UserError(fields=errors)
    user = User(username=username, role=role_value, staff_id=staff_id)
    user.set_password(password)
    session.add(user)
    session.flush()
    record_event(
        session,
        actor,
        action="user.create",
        entity_type="user",
        entity_id=user.id,
        summary=f"user {user.id} created as {role_value}",
    )
    try:
        session.commit()
    except sa.exc.IntegrityError as error:
        # The same name saved by someone else between the check and the commit.
        session.rollback()
        raise UserError(fields={"username": "This username is taken."}) from error
    return user


def _active_admins(session: Session) -> int:
    return int(
        session.scalar(
            sa.select(sa.func.count(User.id)).where(User.role == Role.ADMIN, User.active)
        )
        or 0
    )


def update_user(
    session: Session,
    *,
    user_id: int,
    role: str,
    active: bool,
    staff_id: int | None,
    actor: Actor,
    now: dt.datetime,
) -> User:
    """Change role, activity and staff link. A changed role or a deactivation ends the
    user's sessions at once; the clinic always keeps one active administrator."""
    user = get_user(session, user_id=user_id)
    errors: dict[str, str] = {}
    role_value = _role(errors, role)
    _check_staff_link(session, errors, staff_id)
    if errors or role_value is None:
        raise UserError(fields=errors)
    losing_admin = (
        user.role == Role.ADMIN and user.active and (role_value != Role.ADMIN or not active)
    )
    if losing_admin and user.id == actor.user_id:
        raise UserError(
            "You cannot remove your own admin access; ask another administrator to do it."
        )
    if losing_admin and _active_admins(session) <= 1:
        raise UserError("This is the last active administrator; add another one first.")
    values = {"role": role_value, "active": bool(active), "staff_id": staff_id}
    changed = [name for name, value in values.items() if getattr(user, name) != value]
    if not changed:
        return user
    for name in changed:
        setattr(user, name, values[name])
    if "role" in changed or "active" in changed:
        # A changed role or a deactivation takes effect now, not at the next login.
        end_user_sessions(session, user_id=user.id, now=now)
    record_event(
        session,
        actor,
        action="user.update",
        entity_type="user",
        entity_id=user.id,
        summary="changed: " + ", ".join(changed),
    )
    session.commit()
    return user


def change_password(
    session: Session, *, user_id: int, password: str, actor: Actor, now: dt.datetime
) -> User:
    """Set a new password and end the user's live sessions (a stolen one stops working).

    Used for a user's own change and an administrator's reset alike; the audit row names
    no password.
    """
    user = get_user(session, user_id=user_id)
    if problem := password_problem(user.username, password or ""):
        raise UserError(fields={"password": problem})
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
