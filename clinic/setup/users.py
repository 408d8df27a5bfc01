"""User accounts: moved to ``clinic.accounts.users``. These wrappers keep the admin pages'
old calls working, with the set-up error types those pages catch.
"""

# shim: removed at merge (the admin views call clinic.accounts directly and let its
# UserError / UserNotFound reach the one error path).

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.orm import Session

from .. import accounts
from ..audit import Actor
from ..models import User
from .common import SetupError, SetupNotFound

T = TypeVar("T")


def _as_setup_error(call: Callable[[], T]) -> T:
    try:
        return call()
    except accounts.UserNotFound as error:
        raise SetupNotFound(error.message) from error
    except accounts.UserError as error:
        raise SetupError(error.fields or error.message) from error


def create_user_account(
    session: Session,
    *,
    username: str,
    role: str,
    password: str,
    staff_id: int | None,
    actor: Actor,
) -> User:
    return _as_setup_error(
        lambda: accounts.create_user(
            session,
            username=username,
            role=role,
            password=password,
            staff_id=staff_id,
            actor=actor,
        )
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
    return _as_setup_error(
        lambda: accounts.update_user(
            session,
            user_id=user_id,
            role=role,
            active=active,
            staff_id=staff_id,
            actor=actor,
            now=now,
        )
    )


def reset_password(
    session: Session, *, user_id: int, password: str, actor: Actor, now: dt.datetime
) -> User:
    return _as_setup_error(
        lambda: accounts.change_password(
            session, user_id=user_id, password=password, actor=actor, now=now
        )
    )
