"""Server-side login sessions: a row per login, so logout and timeouts end it for real.

The signed Flask cookie carries only the row's random id (plus Flask-Login's user id). Every
request looks the row up: an ended, idle or too old session counts as logged out on every
process at once, and a cookie copied before logout is worthless afterwards. Plain Python:
``clinic.security.web`` wires these into each request.
"""

from __future__ import annotations

import datetime as dt
import enum
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..audit import Actor, record_event
from ..models import LoginSession, User

# Writing last_seen_at on every request would turn every page view into a write; a minute's
# precision is plenty for a 30-minute idle limit.
TOUCH_INTERVAL = dt.timedelta(minutes=1)


class SessionState(enum.Enum):
    ACTIVE = "active"
    MISSING = "missing"  # no such row (or a cookie of another user's row)
    ENDED = "ended"  # logged out, or ended by an admin / password change
    IDLE = "idle"
    EXPIRED = "expired"  # older than the absolute limit


# What the user is told when a request finds their session over (shown on the login page).
END_MESSAGES = {
    SessionState.MISSING: "Your session has ended. Please log in again.",
    SessionState.ENDED: "Your session has ended. Please log in again.",
    SessionState.IDLE: "You were logged out after {idle} minutes without activity. "
    "Please log in again.",
    SessionState.EXPIRED: "You were logged out because you had been logged in for {absolute} "
    "hours. Please log in again.",
}


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    idle: dt.timedelta = dt.timedelta(minutes=30)
    absolute: dt.timedelta = dt.timedelta(hours=12)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SessionPolicy:
        return cls(
            idle=dt.timedelta(minutes=float(config.get("SESSION_IDLE_MINUTES", 30))),
            absolute=dt.timedelta(hours=float(config.get("SESSION_ABSOLUTE_HOURS", 12))),
        )

    def end_message(self, state: SessionState) -> str:
        return END_MESSAGES[state].format(
            idle=round(self.idle.total_seconds() / 60),
            absolute=round(self.absolute.total_seconds() / 3600),
        )


def new_session_id() -> str:
    # 256 bits from the OS generator, URL-safe: unguessable and fits String(64).
    return secrets.token_urlsafe(32)


def start_login_session(
    session: Session, *, user_id: int, source_address: str | None, now: dt.datetime
) -> LoginSession:
    """Add a fresh session row (the caller commits)."""
    row = LoginSession(
        id=new_session_id(),
        user_id=user_id,
        created_at=now,
        last_seen_at=now,
        source_address=(source_address or "")[:64] or None,
    )
    session.add(row)
    return row


def session_state(
    row: LoginSession | None, *, user_id: int | str | None, now: dt.datetime, policy: SessionPolicy
) -> SessionState:
    if row is None or user_id is None or str(row.user_id) != str(user_id):
        return SessionState.MISSING
    if row.ended_at is not None:
        return SessionState.ENDED
    if now - row.created_at >= policy.absolute:
        return SessionState.EXPIRED
    if now - row.last_seen_at >= policy.idle:
        return SessionState.IDLE
    return SessionState.ACTIVE


def needs_touch(row: LoginSession, now: dt.datetime) -> bool:
    return now - row.last_seen_at >= TOUCH_INTERVAL


def end_login_session(
    session: Session, *, session_id: str, now: dt.datetime
) -> LoginSession | None:
    """Mark one session ended (the caller commits). Ending it twice keeps the first time."""
    row = session.get(LoginSession, session_id)
    if row is not None and row.ended_at is None:
        row.ended_at = now
    return row


def end_user_sessions(session: Session, *, user_id: int, now: dt.datetime) -> int:
    """End every live session of a user, e.g. after a password change or deactivation.

    The caller commits. Returns how many were ended.
    """
    result = session.execute(
        sa.update(LoginSession)
        .where(LoginSession.user_id == user_id, LoginSession.ended_at.is_(None))
        .values(ended_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def prune_login_sessions(session: Session, *, now: dt.datetime, keep: dt.timedelta) -> int:
    """Delete session rows that ended (or started) longer than ``keep`` ago; caller commits."""
    cutoff = now - keep
    result = session.execute(
        sa.delete(LoginSession)
        .where(
            sa.or_(LoginSession.ended_at < cutoff, LoginSession.created_at < cutoff),
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def log_out(session: Session, *, session_id: str | None, actor: Actor, now: dt.datetime) -> None:
    """End the session server-side and audit the logout; commits."""
    if session_id:
        end_login_session(session, session_id=session_id, now=now)
    record_event(session, actor, action="auth.logout", entity_type="user", entity_id=actor.user_id)
    session.commit()


def time_out(
    session: Session,
    *,
    row: LoginSession,
    state: SessionState,
    source_address: str | None,
    now: dt.datetime,
) -> None:
    """End a session found idle or too old, with an audit row naming why; commits."""
    row.ended_at = now
    user = session.get(User, row.user_id)
    actor = Actor(
        user_id=row.user_id,
        username=user.username if user else "",
        source_address=(source_address or "")[:64] or None,
    )
    record_event(
        session,
        actor,
        action="auth.session_timeout",
        entity_type="user",
        entity_id=row.user_id,
        summary=f"{state.value} timeout",
    )
    session.commit()
