"""Login and role checks for views, and who the current actor is (for the audit trail)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import abort, request
from flask_login import current_user, login_required

from ..audit import Actor
from ..permissions import Permission, can

F = TypeVar("F", bound=Callable[..., Any])


def require(permission: Permission) -> Callable[[F], F]:
    """Log in first, then refuse with 403 unless the user's role grants ``permission``.

    The view is marked with ``required_permission`` so that a test can walk every route and
    check that each one is protected (tests/security/test_route_access.py).
    """

    def decorator(view: F) -> F:
        @functools.wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not can(current_user.role, permission):
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_permission = permission  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorator


def current_actor() -> Actor:
    return Actor(
        user_id=current_user.id if current_user.is_authenticated else None,
        username=current_user.username if current_user.is_authenticated else "anonymous",
        source_address=request.remote_addr,
    )


def user_can(permission: Permission) -> bool:
    return bool(current_user.is_authenticated and can(current_user.role, permission))
