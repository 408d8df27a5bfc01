"""User accounts and roles.

Each function validates first, applies the change, audits it and commits once.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..audit import Actor
from ..models import (
    Role,
    Staff,
    User,
)
from .common import (
    SetupError,
    apply_changes,
    audit,
    commit_or_conflict,
    get_or_fail,
)


def _password_problem(username: str, password: str) -> str | None:
    from ..security.passwords import password_problem

    return password_problem(username, password)


def _check_staff_link(session: Session, errors: dict[str, str], staff_id: int | None) -> None:
    if staff_id is not None and session.get(Staff, staff_id) is None:
        errors["staff_id"] = "Choose a staff member from the list."


def create_user_account(
    session: Session,
    *,
    username: str,
    role: str,
    password: str,
    staff_id: int | None,
    actor: Actor,
) -> User:
    errors: dict[str, str] = {}
    username = (username or "").strip()
    if not username or len(username) > 80 or any(ch.isspace() for ch in username):
        errors["username"] = "Enter a username of 1 to 80 characters without spaces."
    elif session.scalar(sa.select(User.id).where(sa.func.lower(User.username) == username.lower())):
        errors["username"] = "This username is taken."
    try:
        role_value = Role(role)
    except ValueError:
        errors["role"] = "Choose admin, receptionist or nurse."
    if problem := _password_problem(username, password or ""):
        errors["password"] = problem
    _check_staff_link(session, errors, staff_id)
    if errors:
        raise SetupError(errors)
    user = User(username=username, role=role_value, staff_id=staff_id)
    user.set_password(password)
    session.add(user)
    session.flush()
    audit(session, actor, "user.create", "user", user.id, f"user {user.id} created as {role_value}")
    commit_or_conflict(session, {"username": "This username is taken."})
    return user


def _active_admins(session: Session) -> int:
    return int(
        session.scalar(
            sa.select(sa.func.count(User.id)).where(User.role == Role.ADMIN, User.active)
        )
        or 0
    )


def update_user_account(
    session: Session,
    *,
    user_id: int,
    role: str,
    active: bool,
    staff_id: int | None,
    actor: Actor,
    now: dt.datetime,
) -> User:
    user = get_or_fail(session, User, user_id, "user")
    errors: dict[str, str] = {}
    try:
        role_value = Role(role)
    except ValueError:
        errors["role"] = "Choose admin, receptionist or nurse."
    _check_staff_link(session, errors, staff_id)
    if errors:
        raise SetupError(errors)
    losing_admin = (
        user.role == Role.ADMIN and user.active and (role_value != Role.ADMIN or not active)
    )
    if losing_admin and user.id == actor.user_id:
        raise SetupError(
            "You cannot remove your own admin access; ask another administrator to do it."
        )
    if losing_admin and _active_admins(session) <= 1:
        raise SetupError("This is the last active administrator; add another one first.")
    changed = apply_changes(
        user, {"role": role_value, "active": bool(active), "staff_id": staff_id}
    )
    if not changed:
        return user
    if "role" in changed or "active" in changed:
        # A changed role or a deactivation takes effect now, not at the next login.
        from ..security.sessions import end_user_sessions

        end_user_sessions(session, user_id=user.id, now=now)
    audit(session, actor, "user.update", "user", user.id, "changed: " + ", ".join(changed))
    session.commit()
    return user


def reset_password(
    session: Session, *, user_id: int, password: str, actor: Actor, now: dt.datetime
) -> User:
    """Set a new password; the user's open sessions end (clinic.users.change_password)."""
    from ..users import UserError, change_password

    get_or_fail(session, User, user_id, "user")
    try:
        return change_password(
            session, user_id=user_id, password=password or "", actor=actor, now=now
        )
    except UserError as error:
        session.rollback()
        raise SetupError({"password": str(error)}) from error
