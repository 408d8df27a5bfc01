"""Password login with throttling that holds across processes and machines.

Attempts are rows in ``login_attempt``, so five wrong passwords sent to five gunicorn workers
on three machines lock the account just as surely as five sent to one. Plain Python: the
login view calls :func:`authenticate` with the clock and the session.

Two limits (ASVS 2.2.1):

- **per account**: ``max_failures`` wrong passwords lock that username for ``lockout``;
- **per source address**, against password spraying (one guess each at many usernames):
  a clinic's whole front desk often shares one address, so the limit is higher and comes in
  two steps. After ``address_slow_after`` failures from an address within ``window``, each
  further attempt from it must wait a delay that doubles with every failure (1 s, 2 s,
  4 s ... up to ``address_max_delay``): a desk that mistypes now and then never notices,
  a script is slowed to a crawl. At ``address_max_failures`` the address is locked for
  ``lockout``. A success does not reset the address count (a sprayer's own valid login
  must not clear the way), but the count only looks back ``window``.

Administrators see the current lockouts and can lift one (``clinic.accounts.lockouts``).

A user with a second factor (``clinic.accounts.two_factor``) is not logged in by the
password: :func:`authenticate` answers which step comes next and records no successful
attempt, so wrong one-time codes count against the same limits until the whole login
succeeds (:func:`complete_login`).
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from ..audit import Actor, record_event
from ..models import LoginAttempt, LoginSession, Role, TwoFactor, User
from .sessions import start_login_session

USERNAME_MAX = 80
# Roles that must always pass a second factor, whatever the configuration adds.
ALWAYS_TWO_FACTOR = frozenset({Role.ADMIN})


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    """``max_failures`` wrong passwords within ``window`` lock the account for ``lockout``
    (counted from the latest of them). A success resets the count."""

    max_failures: int = 5
    window: dt.timedelta = dt.timedelta(minutes=15)
    lockout: dt.timedelta = dt.timedelta(minutes=15)
    address_slow_after: int = 10
    # Reachable within the window only by someone who waits out every delay (about ten
    # minutes of steady guessing); a desk's typos never get near it.
    address_max_failures: int = 25
    address_max_delay: dt.timedelta = dt.timedelta(seconds=60)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ThrottlePolicy:
        return cls(
            max_failures=int(config.get("LOGIN_MAX_FAILURES", 5)),
            window=dt.timedelta(minutes=float(config.get("LOGIN_WINDOW_MINUTES", 15))),
            lockout=dt.timedelta(minutes=float(config.get("LOGIN_LOCKOUT_MINUTES", 15))),
            address_slow_after=int(config.get("LOGIN_ADDRESS_SLOW_AFTER", 10)),
            address_max_failures=int(config.get("LOGIN_ADDRESS_MAX_FAILURES", 25)),
            address_max_delay=dt.timedelta(
                seconds=float(config.get("LOGIN_ADDRESS_MAX_DELAY_SECONDS", 60))
            ),
        )

    def address_delay(self, failures: int) -> dt.timedelta:
        """How long an address with ``failures`` recent failures waits after the latest."""
        if failures < self.address_slow_after:
            return dt.timedelta(0)
        doublings = min(failures - self.address_slow_after, 30)
        return min(dt.timedelta(seconds=2**doublings), self.address_max_delay)


class Throttle(enum.Enum):
    ACCOUNT = "account"  # this username is locked
    ADDRESS = "address"  # this source address is locked
    SLOWED = "slowed"  # this source address must wait a little before its next attempt


class SecondFactor(enum.Enum):
    """What a right password leads to when it is not enough on its own."""

    CODE = "code"  # enrolled: enter a one-time code (or a recovery code)
    ENROL = "enrol"  # the role requires a second factor and the user has none yet


@dataclass(frozen=True, slots=True)
class LoginOutcome:
    user: User | None = None
    login_session: LoginSession | None = None
    # Set when the attempt was refused unchecked because the account or address is throttled.
    locked_until: dt.datetime | None = None
    throttle: Throttle | None = None
    # Set when the password was right and this step must pass before the login opens.
    second_factor: SecondFactor | None = None
    # Why a one-time code was refused (shown to the user), e.g. "already used".
    problem: str = ""
    # A confirmed enrolment's recovery codes, to be shown once.
    recovery_codes: tuple[str, ...] = ()
    # After a recovery code was used: how many are left.
    recovery_codes_left: int | None = None

    @property
    def succeeded(self) -> bool:
        return self.login_session is not None


def locked_until(
    session: Session, *, username: str, now: dt.datetime, policy: ThrottlePolicy
) -> dt.datetime | None:
    """When the account may try again, or None if it may try now."""
    username = username[:USERNAME_MAX]
    since = now - policy.window
    last_success = session.scalar(
        sa.select(sa.func.max(LoginAttempt.at)).where(
            LoginAttempt.username == username, LoginAttempt.succeeded, LoginAttempt.at > since
        )
    )
    counted_from = max(since, last_success) if last_success is not None else since
    failures = session.scalars(
        sa.select(LoginAttempt.at)
        .where(
            LoginAttempt.username == username,
            sa.not_(LoginAttempt.succeeded),
            LoginAttempt.at > counted_from,
        )
        .order_by(LoginAttempt.at.desc())
        .limit(policy.max_failures)
    ).all()
    if len(failures) < policy.max_failures:
        return None
    until = failures[0] + policy.lockout
    return until if until > now else None


def address_locked_until(
    session: Session, *, source_address: str | None, now: dt.datetime, policy: ThrottlePolicy
) -> tuple[dt.datetime, Throttle] | None:
    """When the address may try again (and why), or None if it may try now."""
    if not source_address:
        return None
    failures = session.scalars(
        sa.select(LoginAttempt.at)
        .where(
            LoginAttempt.source_address == source_address[:64],
            sa.not_(LoginAttempt.succeeded),
            LoginAttempt.at > now - policy.window,
        )
        .order_by(LoginAttempt.at.desc())
        .limit(policy.address_max_failures)
    ).all()
    if not failures:
        return None
    if len(failures) >= policy.address_max_failures:
        until = failures[0] + policy.lockout
        return (until, Throttle.ADDRESS) if until > now else None
    until = failures[0] + policy.address_delay(len(failures))
    return (until, Throttle.SLOWED) if until > now else None


def throttled_until(
    session: Session,
    *,
    username: str,
    source_address: str | None,
    now: dt.datetime,
    policy: ThrottlePolicy,
) -> tuple[dt.datetime, Throttle] | None:
    """The later of the account's and the address's limits, or None if neither applies."""
    found = []
    if (until := locked_until(session, username=username, now=now, policy=policy)) is not None:
        found.append((until, Throttle.ACCOUNT))
    address = address_locked_until(session, source_address=source_address, now=now, policy=policy)
    if address is not None:
        found.append(address)
    return max(found, key=lambda item: item[0]) if found else None


def second_factor_due(
    session: Session, *, user: User, required_roles: Collection[Role]
) -> SecondFactor | None:
    """Which second step this user's login needs: a code once enrolled (whatever the role),
    enrolment when the role requires one, else none."""
    row = session.get(TwoFactor, user.id)
    if row is not None and row.confirmed_at is not None:
        return SecondFactor.CODE
    if user.role in ALWAYS_TWO_FACTOR or user.role in required_roles:
        return SecondFactor.ENROL
    return None


def record_failed_attempt(
    session: Session, *, username: str, source_address: str | None, now: dt.datetime
) -> None:
    """One more failure towards the account's and the address's limits (caller commits)."""
    session.add(
        LoginAttempt(username=username, at=now, succeeded=False, source_address=source_address)
    )


def complete_login(
    session: Session, *, user: User, actor: Actor, now: dt.datetime, summary: str = ""
) -> LoginSession:
    """Every factor passed: record the success, open the session, audit it (caller commits)."""
    session.add(
        LoginAttempt(
            username=user.username, at=now, succeeded=True, source_address=actor.source_address
        )
    )
    user.last_login_at = now
    login_session = start_login_session(
        session, user_id=user.id, source_address=actor.source_address, now=now
    )
    record_event(
        session, actor, action="auth.login", entity_type="user", entity_id=user.id, summary=summary
    )
    return login_session


@functools.cache
def _decoy_hash() -> str:
    return generate_password_hash("decoy password for unknown users", method="scrypt")


def authenticate(
    session: Session,
    *,
    username: str,
    password: str,
    source_address: str | None,
    now: dt.datetime,
    policy: ThrottlePolicy,
    required_roles: Collection[Role] = ALWAYS_TWO_FACTOR,
) -> LoginOutcome:
    """Check a login, record the attempt and its audit row, and open a session on success.

    Commits once. When a second factor is due (``required_roles`` need one, and so does
    anyone enrolled) no session opens: the outcome names the next step, which
    ``clinic.accounts.two_factor`` completes. A throttled account is refused without
    checking the password, and the refusal does not extend the lockout (so a user can get
    back in once it runs out even while someone keeps guessing). Unknown users cost the
    same scrypt check as known ones, so timing does not tell which usernames exist.
    """
    username = username[:USERNAME_MAX]
    source_address = (source_address or "")[:64] or None
    user = session.scalar(sa.select(User).where(User.username == username))
    actor = Actor(
        user_id=user.id if user else None, username=username, source_address=source_address
    )

    throttled = throttled_until(
        session, username=username, source_address=source_address, now=now, policy=policy
    )
    if throttled is not None:
        until, throttle = throttled
        record_event(
            session,
            actor,
            action="auth.login_throttled",
            entity_type="user",
            entity_id=user.id if user else None,
            summary=f"refused unchecked: too many failed attempts ({throttle.value})",
        )
        session.commit()
        return LoginOutcome(locked_until=until, throttle=throttle)

    if user is None:
        check_password_hash(_decoy_hash(), password)
        reason = "unknown username"
    elif not user.check_password(password):
        reason = "wrong password"
    elif not user.active:
        reason = "account deactivated"
    else:
        reason = ""

    if reason:
        record_failed_attempt(session, username=username, source_address=source_address, now=now)
        record_event(
            session,
            actor,
            action="auth.login_failed",
            entity_type="user",
            entity_id=user.id if user else None,
            summary=reason,
        )
        session.commit()
        return LoginOutcome()

    assert user is not None
    step = second_factor_due(session, user=user, required_roles=required_roles)
    if step is not None:
        # No successful attempt yet: it would reset the account's failure count, and wrong
        # codes after a right password must add up like wrong passwords.
        record_event(
            session,
            actor,
            action="auth.password_ok",
            entity_type="user",
            entity_id=user.id,
            summary=f"second factor due: {step.value}",
        )
        session.commit()
        return LoginOutcome(user=user, second_factor=step)
    login_session = complete_login(session, user=user, actor=actor, now=now)
    session.commit()
    return LoginOutcome(user=user, login_session=login_session)


def prune_login_attempts(session: Session, *, now: dt.datetime, keep: dt.timedelta) -> int:
    """Delete attempts older than ``keep`` (the caller commits); the audit trail keeps them."""
    result = session.execute(
        sa.delete(LoginAttempt)
        .where(LoginAttempt.at < now - keep)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
