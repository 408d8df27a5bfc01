"""API tokens: moved to ``clinic.accounts.tokens``; the old names, re-exported."""

# shim: removed at merge
from ..accounts.queries import active_usernames, list_tokens  # noqa: F401
from ..accounts.tokens import (  # noqa: F401
    LAST_USED_RESOLUTION,
    MAX_NAME_LENGTH,
    PREFIX_LENGTH,
    TOKEN_MARK,
    NewToken,
    TokenError,
    authenticate,
    create_token,
    hash_token,
    revoke_token,
)
