"""Password policy: moved to ``clinic.accounts.passwords``; the old names, re-exported."""

# shim: removed at merge
from ..accounts.passwords import (  # noqa: F401
    COMMON_PASSWORDS_FILE,
    MIN_DISTINCT_CHARACTERS,
    PADDING,
    common_passwords,
    is_common,
    password_problem,
)
