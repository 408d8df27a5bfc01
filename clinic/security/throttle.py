"""Login throttling: moved to ``clinic.accounts.login``; the old names, re-exported."""

# shim: removed at merge
from ..accounts.login import (  # noqa: F401
    USERNAME_MAX,
    LoginOutcome,
    ThrottlePolicy,
    authenticate,
    locked_until,
    prune_login_attempts,
)
