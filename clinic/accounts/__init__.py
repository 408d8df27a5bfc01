"""Accounts: who may log in and how. Plain Python (session and clock as arguments), so the
CLI, the admin pages, the login view and the API call the same functions.

- ``users``: create a user (CLI and admin page alike), change role and password.
- ``passwords``: the password policy.
- ``login``: password login with throttling that holds across processes.
- ``two_factor``: the second step of a login (one-time codes, recovery codes, enrolment,
  reset).
- ``sessions``: server-side login sessions (logout, idle and absolute timeouts).
- ``tokens``: per-user API tokens (without loading the API blueprint).
- ``queries``: reading users and tokens.
- ``errors``: their refusals (``UserError``, ``UserNotFound``, ``TokenError``).
"""

from .errors import TokenError, UserError, UserNotFound
from .passwords import password_problem
from .queries import active_usernames, all_users, get_user, list_tokens
from .tokens import NewToken, create_token, revoke_token
from .users import change_password, create_user, update_user

__all__ = [
    "NewToken",
    "TokenError",
    "UserError",
    "UserNotFound",
    "active_usernames",
    "all_users",
    "change_password",
    "create_token",
    "create_user",
    "get_user",
    "list_tokens",
    "password_problem",
    "revoke_token",
    "update_user",
]
