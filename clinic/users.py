"""Creating users and checking passwords (used by the CLI and the admin pages)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .models import MIN_PASSWORD_LENGTH, Role, User


class UserError(ValueError):
    """A user cannot be created or changed as asked; the message says why."""


def password_problem(username: str, password: str) -> str | None:
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"The password must be at least {MIN_PASSWORD_LENGTH} characters long."
    if password.strip().lower() == username.strip().lower():
        return "The password must not be the username."
    return None


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
