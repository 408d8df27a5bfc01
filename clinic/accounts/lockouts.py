"""Current login lockouts, for the administrators' page, and lifting one.

A lockout is not a row of its own: it is what the recent failed attempts in
``login_attempt`` add up to (``clinic.accounts.login``), so every process agrees on it.
Lifting one deletes those failed attempts (the audit trail keeps every one of them) and
records who lifted it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..audit import Actor, record_event
from ..models import LoginAttempt
from .errors import UserError
from .login import USERNAME_MAX, Throttle, ThrottlePolicy, address_locked_until, locked_until


@dataclass(frozen=True, slots=True)
class Lockout:
    throttle: Throttle  # ACCOUNT, ADDRESS or SLOWED
    key: str  # the username or the source address
    failures: int  # failed attempts within the window
    until: dt.datetime


def current_lockouts(
    session: Session, *, now: dt.datetime, policy: ThrottlePolicy
) -> list[Lockout]:
    """Every account and address that cannot try to log in right now, soonest free first."""
    since = now - policy.window
    failed = sa.and_(sa.not_(LoginAttempt.succeeded), LoginAttempt.at > since)
    lockouts = []
    usernames = session.execute(
        sa.select(LoginAttempt.username, sa.func.count())
        .where(failed)
        .group_by(LoginAttempt.username)
        .having(sa.func.count() >= policy.max_failures)
    ).all()
    for username, failures in usernames:
        until = locked_until(session, username=username, now=now, policy=policy)
        if until is not None:
            lockouts.append(Lockout(Throttle.ACCOUNT, username, int(failures), until))
    addresses = session.execute(
        sa.select(LoginAttempt.source_address, sa.func.count())
        .where(failed, LoginAttempt.source_address.is_not(None))
        .group_by(LoginAttempt.source_address)
        .having(sa.func.count() >= policy.address_slow_after)
    ).all()
    for address, failures in addresses:
        found = address_locked_until(session, source_address=address, now=now, policy=policy)
        if found is not None:
            lockouts.append(Lockout(found[1], str(address), int(failures), found[0]))
    return sorted(lockouts, key=lambda lockout: (lockout.until, lockout.key))


def lift_lockout(
    session: Session,
    *,
    throttle: str,
    key: str,
    actor: Actor,
    now: dt.datetime,
    policy: ThrottlePolicy,
) -> int:
    """Clear the recent failed attempts of one username or address; audited; commits once.

    Returns how many attempts were cleared. Refuses (UserError) an unknown kind or a key
    that is not locked now, so a stale page changes nothing.
    """
    if throttle == Throttle.ACCOUNT.value:
        key = key[:USERNAME_MAX]
        same_key = LoginAttempt.username == key
    elif throttle in (Throttle.ADDRESS.value, Throttle.SLOWED.value):
        key = key[:64]
        same_key = LoginAttempt.source_address == key
    else:
        raise UserError("Choose a lockout from the list.")
    current = {
        (lockout.throttle.value, lockout.key)
        for lockout in current_lockouts(session, now=now, policy=policy)
    }
    if (throttle, key) not in current:
        raise UserError("That lockout has already ended or been lifted.")
    result = session.execute(
        sa.delete(LoginAttempt)
        .where(
            same_key,
            sa.not_(LoginAttempt.succeeded),
            LoginAttempt.at > now - policy.window,
        )
        .execution_options(synchronize_session=False)
    )
    cleared = int(result.rowcount or 0)  # type: ignore[attr-defined]
    # The address or username is the subject of the row; like every login audit row, the
    # summary names no password and no patient.
    record_event(
        session,
        actor,
        action="auth.lockout_lift",
        entity_type="login_lockout",
        entity_id=None,
        summary=f"{'account' if throttle == 'account' else 'address'} {key}: "
        f"{cleared} failed attempts cleared",
    )
    session.commit()
    return cleared
