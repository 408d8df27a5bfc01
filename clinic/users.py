"""Users: moved to ``clinic.accounts`` (this module keeps the old names for callers not yet
moved)."""

# shim: removed at merge
from __future__ import annotations

from sqlalchemy.orm import Session

from .accounts.passwords import password_problem
from .accounts.users import UserError, change_password
from .accounts.users import create_user as _create_user
from .audit import SYSTEM
from .models import User

__all__ = ["UserError", "change_password", "create_user", "password_problem"]


def create_user(
    session: Session, *, username: str, role: str, password: str, staff_id: int | None = None
) -> User:
    """The old signature: acts as the system (use ``clinic.accounts.create_user``)."""
    return _create_user(
        session,
        username=username,
        role=role,
        password=password,
        staff_id=staff_id,
        actor=SYSTEM,
    )
