"""Old home of the security tests' helpers, kept so callers keep working.

# phase 2: callers move to tests.builders, this module goes
"""

from __future__ import annotations

from tests.builders import add_user, audit_actions, flask_session, login_sessions

__all__ = ["add_user", "audit_actions", "flask_session", "login_sessions"]
