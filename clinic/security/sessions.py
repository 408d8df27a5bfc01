"""Login sessions: moved to ``clinic.accounts.sessions``; the old names, re-exported."""

# shim: removed at merge
from ..accounts.sessions import (  # noqa: F401
    END_MESSAGES,
    TOUCH_INTERVAL,
    SessionPolicy,
    SessionState,
    end_login_session,
    end_user_sessions,
    log_out,
    needs_touch,
    new_session_id,
    prune_login_sessions,
    session_state,
    start_login_session,
    time_out,
)
