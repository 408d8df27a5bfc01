"""Two-factor logins (ASVS 2.7/2.8): RFC 6238 time-based one-time codes and single-use
recovery codes, the second step of a login that ``clinic.accounts.login`` started.

- Required for administrators always, and for the roles named in ``TWO_FACTOR_ROLES``;
  anyone enrolled is asked for a code whatever the role.
- Enrolment: :func:`begin_enrolment` makes a secret (shown as a QR code and as text);
  :func:`confirm_enrolment` takes the first code, issues ``RECOVERY_CODE_COUNT`` recovery
  codes (shown once; only keyed hashes are kept) and completes the login.
- :func:`verify_code` takes a one-time code (±1 time step of clock drift) or a recovery
  code. A code is good once: the last accepted time step is stored and only a later one is
  accepted, by a conditional UPDATE, so two processes cannot both accept the same code.
- Wrong codes are failed login attempts (``clinic.accounts.login``): the same per-account
  and per-address limits apply, and a throttled login is refused before its code is read.
- :func:`reset_two_factor` (an administrator, or the CLI) removes a user's enrolment and
  ends their sessions; a role that requires a second factor enrols again at next login.

Secrets are encrypted at rest with Fernet (AES-128-CBC + HMAC-SHA256) under a key derived
by HKDF from ``TWO_FACTOR_KEY``, or from ``SECRET_KEY`` when that is not set; recovery
codes are stored as HMAC-SHA256 under a second key derived the same way, so a copy of the
database alone yields neither. Changing that key makes every enrolment unreadable: the
users concerned must be reset and enrol again.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pyotp
import segno
import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.orm import Session

from ..audit import Actor, record_event
from ..errors import Invalid
from ..models import RecoveryCode, Role, TwoFactor, User
from .errors import UserError
from .login import (
    ALWAYS_TWO_FACTOR,
    LoginOutcome,
    ThrottlePolicy,
    complete_login,
    record_failed_attempt,
    throttled_until,
)
from .queries import get_user, user_by_name
from .sessions import end_user_sessions

STEP_SECONDS = 30
DIGITS = 6
# Codes from one step before or after now are accepted: phones and servers drift.
DRIFT_STEPS = 1
RECOVERY_CODE_COUNT = 10
# No 0/o, 1/l/i: a code copied from paper must read back unambiguously. 10 of these
# characters are about 49 bits, and the stored hash is keyed (see the module docstring).
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
RECOVERY_LENGTH = 10
# How long a right password waits for its second factor before the user must start again.
PENDING_LIFETIME = dt.timedelta(minutes=5)


class TwoFactorError(Invalid):
    """A two-factor step cannot go ahead as asked; the message says what to do."""


@dataclass(frozen=True, slots=True)
class TwoFactorPolicy:
    required_roles: frozenset[Role]
    key: str
    issuer: str = "Clinic"

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> TwoFactorPolicy:
        return cls(
            required_roles=required_roles(config.get("TWO_FACTOR_ROLES")),
            key=str(config.get("TWO_FACTOR_KEY") or config.get("SECRET_KEY") or ""),
            issuer=str(config.get("CLINIC_NAME") or "Clinic"),
        )

    def _derive(self, purpose: bytes) -> bytes:
        if not self.key:
            raise TwoFactorError("Two-factor logins need TWO_FACTOR_KEY or SECRET_KEY set.")
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose)
        return hkdf.derive(self.key.encode("utf-8"))

    def fernet(self) -> Fernet:
        return Fernet(base64.urlsafe_b64encode(self._derive(b"clinic two-factor secrets")))

    def recovery_hash(self, code: str) -> str:
        key = self._derive(b"clinic two-factor recovery codes")
        return hmac.new(key, normalise_recovery_code(code).encode(), hashlib.sha256).hexdigest()


def required_roles(configured: Any) -> frozenset[Role]:
    """Administrators plus the configured roles; an unknown role name is a ValueError."""
    if configured is None or configured == "":
        names: list[str] = []
    elif isinstance(configured, str):
        names = [name.strip() for name in configured.split(",") if name.strip()]
    else:
        names = [str(name).strip() for name in configured]
    roles = set(ALWAYS_TWO_FACTOR)
    for name in names:
        try:
            roles.add(Role(name))
        except ValueError:
            choices = ", ".join(role.value for role in Role)
            raise ValueError(
                f"TWO_FACTOR_ROLES names an unknown role {name!r}: use {choices}."
            ) from None
    return frozenset(roles)


def time_step(now: dt.datetime) -> int:
    return int(now.timestamp()) // STEP_SECONDS


def normalise_code(code: str) -> str:
    return "".join(code.split())


def normalise_recovery_code(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch not in " -\t")


def looks_like_one_time_code(code: str) -> bool:
    code = normalise_code(code)
    return len(code) == DIGITS and code.isascii() and code.isdigit()


def provisioning_uri(secret: str, *, username: str, issuer: str) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=username, issuer_name=issuer
    )


def qr_code_svg(uri: str) -> str:
    """The enrolment QR code as inline SVG (presentation attributes only, no style or
    script, so the page's Content-Security-Policy needs nothing more)."""
    qr = segno.make(uri, error="m")
    return str(qr.svg_inline(scale=4, dark="#000", light="#fff", svgclass="qr-code"))


def decrypt_secret(row: TwoFactor, policy: TwoFactorPolicy) -> str:
    try:
        return policy.fernet().decrypt(row.secret_encrypted.encode()).decode()
    except InvalidToken:
        raise TwoFactorError(
            "This account's two-factor secret cannot be read (the clinic's key has changed). "
            "Ask an administrator to reset your two-factor login."
        ) from None


def _actor(user: User, source_address: str | None) -> Actor:
    return Actor(
        user_id=user.id, username=user.username, source_address=(source_address or "")[:64] or None
    )


def _pending_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or not user.active:
        raise TwoFactorError("Your login could not be completed. Log in again.")
    return user


def begin_enrolment(
    session: Session,
    *,
    user_id: int,
    source_address: str | None,
    policy: TwoFactorPolicy,
    now: dt.datetime,
) -> str:
    """The secret to enrol with: the one waiting for its first code, else a new one.

    Commits when it makes a new one. Refuses (TwoFactorError) a user already enrolled.
    """
    user = _pending_user(session, user_id)
    row = session.get(TwoFactor, user.id)
    if row is not None and row.confirmed_at is not None:
        raise TwoFactorError("Two-factor login is already set up for this account.")
    if row is not None:
        return decrypt_secret(row, policy)
    secret = pyotp.random_base32()  # 32 characters: 160 bits, as RFC 4226 recommends
    encrypted = policy.fernet().encrypt(secret.encode()).decode()
    session.add(TwoFactor(user_id=user.id, secret_encrypted=encrypted, created_at=now))
    record_event(
        session,
        _actor(user, source_address),
        action="auth.two_factor_enrol_start",
        entity_type="user",
        entity_id=user.id,
        summary="authenticator secret issued, waiting for its first code",
    )
    session.commit()
    return secret


def one_time_code(secret: str, step: int) -> str:
    """The RFC 6238 code of ``step`` (what an authenticator app shows during it)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).generate_otp(step)


def _matching_step(secret: str, code: str, *, now: dt.datetime) -> int | None:
    if not looks_like_one_time_code(code):
        return None  # and compare_digest never sees non-ASCII text, which it refuses
    current = time_step(now)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(one_time_code(secret, step), code):
            return step
    return None


def _claim_step(session: Session, *, user_id: int, step: int) -> bool:
    """Record ``step`` as used unless it (or a later one) already was; atomic."""
    result = session.execute(
        sa.update(TwoFactor)
        .where(
            TwoFactor.user_id == user_id,
            sa.or_(TwoFactor.last_used_step.is_(None), TwoFactor.last_used_step < step),
        )
        .values(last_used_step=step)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0) == 1  # type: ignore[attr-defined]


def _new_recovery_codes(
    session: Session, *, user_id: int, policy: TwoFactorPolicy, now: dt.datetime
) -> tuple[str, ...]:
    session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    codes = tuple(
        "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
        for _ in range(RECOVERY_CODE_COUNT)
    )
    session.add_all(
        RecoveryCode(user_id=user_id, code_hash=policy.recovery_hash(code), created_at=now)
        for code in codes
    )
    half = RECOVERY_LENGTH // 2
    return tuple(f"{code[:half]}-{code[half:]}" for code in codes)


def _throttled(
    session: Session, *, user: User, actor: Actor, now: dt.datetime, throttle: ThrottlePolicy
) -> LoginOutcome | None:
    found = throttled_until(
        session,
        username=user.username,
        source_address=actor.source_address,
        now=now,
        policy=throttle,
    )
    if found is None:
        return None
    until, kind = found
    record_event(
        session,
        actor,
        action="auth.login_throttled",
        entity_type="user",
        entity_id=user.id,
        summary=f"second factor refused unchecked: too many failed attempts ({kind.value})",
    )
    session.commit()
    return LoginOutcome(locked_until=until, throttle=kind)


def _refuse(
    session: Session, *, user: User, actor: Actor, now: dt.datetime, action: str, problem: str
) -> LoginOutcome:
    record_failed_attempt(
        session, username=user.username, source_address=actor.source_address, now=now
    )
    record_event(
        session, actor, action=action, entity_type="user", entity_id=user.id, summary=problem
    )
    session.commit()
    return LoginOutcome(problem=problem)


def _accept(
    session: Session,
    *,
    user: User,
    actor: Actor,
    now: dt.datetime,
    action: str,
    summary: str,
    login_summary: str,
) -> LoginOutcome:
    """The second factor passed: its audit row, then the login itself; commits."""
    record_event(
        session, actor, action=action, entity_type="user", entity_id=user.id, summary=summary
    )
    login_session = complete_login(session, user=user, actor=actor, now=now, summary=login_summary)
    session.commit()
    return LoginOutcome(user=user, login_session=login_session)


def confirm_enrolment(
    session: Session,
    *,
    user_id: int,
    code: str,
    source_address: str | None,
    now: dt.datetime,
    policy: TwoFactorPolicy,
    throttle: ThrottlePolicy,
) -> LoginOutcome:
    """Check the first code of a new enrolment; on success confirm it, issue recovery codes
    and complete the login. Commits once. A wrong code is a failed login attempt."""
    user = _pending_user(session, user_id)
    actor = _actor(user, source_address)
    if refused := _throttled(session, user=user, actor=actor, now=now, throttle=throttle):
        return refused
    row = session.get(TwoFactor, user.id)
    if row is None or row.confirmed_at is not None:
        raise TwoFactorError("This enrolment is no longer open. Log in again.")
    step = _matching_step(decrypt_secret(row, policy), normalise_code(code), now=now)
    if step is None or not _claim_step(session, user_id=user.id, step=step):
        return _refuse(
            session,
            user=user,
            actor=actor,
            now=now,
            action="auth.two_factor_enrol_failed",
            problem="wrong code",
        )
    confirmed = session.execute(
        sa.update(TwoFactor)
        .where(TwoFactor.user_id == user.id, TwoFactor.confirmed_at.is_(None))
        .values(confirmed_at=now)
        .execution_options(synchronize_session=False)
    )
    if int(confirmed.rowcount or 0) != 1:  # type: ignore[attr-defined]
        # Confirmed meanwhile by another request (another tab, another process).
        session.rollback()
        raise TwoFactorError("This enrolment is no longer open. Log in again.")
    codes = _new_recovery_codes(session, user_id=user.id, policy=policy, now=now)
    outcome = _accept(
        session,
        user=user,
        actor=actor,
        now=now,
        action="auth.two_factor_enrol",
        summary=f"authenticator app enrolled; {len(codes)} recovery codes issued",
        login_summary="with a new authenticator app",
    )
    return dataclasses.replace(outcome, recovery_codes=codes)


def verify_code(
    session: Session,
    *,
    user_id: int,
    code: str,
    source_address: str | None,
    now: dt.datetime,
    policy: TwoFactorPolicy,
    throttle: ThrottlePolicy,
) -> LoginOutcome:
    """The second step of an enrolled user's login: a one-time code or a recovery code.

    Commits once. Completes the login on success; a wrong, reused or unknown code is a
    failed attempt with its own audit row.
    """
    user = _pending_user(session, user_id)
    actor = _actor(user, source_address)
    if refused := _throttled(session, user=user, actor=actor, now=now, throttle=throttle):
        return refused
    row = session.get(TwoFactor, user.id)
    if row is None or row.confirmed_at is None:
        raise TwoFactorError("Two-factor login is not set up for this account. Log in again.")
    if looks_like_one_time_code(code):
        step = _matching_step(decrypt_secret(row, policy), normalise_code(code), now=now)
        if step is None:
            problem = "wrong code"
        elif not _claim_step(session, user_id=user.id, step=step):
            problem = "code already used"
        else:
            return _accept(
                session,
                user=user,
                actor=actor,
                now=now,
                action="auth.two_factor_use",
                summary="one-time code accepted",
                login_summary="with a one-time code",
            )
        return _refuse(
            session,
            user=user,
            actor=actor,
            now=now,
            action="auth.two_factor_failed",
            problem=problem,
        )
    return _use_recovery_code(session, user=user, actor=actor, code=code, now=now, policy=policy)


def _use_recovery_code(
    session: Session,
    *,
    user: User,
    actor: Actor,
    code: str,
    now: dt.datetime,
    policy: TwoFactorPolicy,
) -> LoginOutcome:
    normalised = normalise_recovery_code(code)
    used = 0
    if len(normalised) == RECOVERY_LENGTH:
        result = session.execute(
            sa.update(RecoveryCode)
            .where(
                RecoveryCode.user_id == user.id,
                RecoveryCode.code_hash == policy.recovery_hash(normalised),
                RecoveryCode.used_at.is_(None),
            )
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        used = int(result.rowcount or 0)  # type: ignore[attr-defined]
    if used != 1:
        return _refuse(
            session,
            user=user,
            actor=actor,
            now=now,
            action="auth.recovery_code_failed",
            problem="wrong or used recovery code",
        )
    left = int(
        session.scalar(
            sa.select(sa.func.count(RecoveryCode.id)).where(
                RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
            )
        )
        or 0
    )
    outcome = _accept(
        session,
        user=user,
        actor=actor,
        now=now,
        action="auth.recovery_code_use",
        summary=f"recovery code used; {left} left",
        login_summary="with a recovery code",
    )
    return dataclasses.replace(outcome, recovery_codes_left=left)


@dataclass(frozen=True, slots=True)
class TwoFactorStatus:
    enrolled_at: dt.datetime | None
    recovery_codes_left: int


def two_factor_status(session: Session, *, user_id: int) -> TwoFactorStatus:
    """Whether a user is enrolled and how many recovery codes they have left (one query)."""
    row = session.execute(
        sa.select(
            TwoFactor.confirmed_at,
            sa.select(sa.func.count(RecoveryCode.id))
            .where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
            .scalar_subquery(),
        ).where(TwoFactor.user_id == user_id)
    ).first()
    if row is None:
        return TwoFactorStatus(enrolled_at=None, recovery_codes_left=0)
    return TwoFactorStatus(enrolled_at=row[0], recovery_codes_left=int(row[1] or 0))


def reset_two_factor(session: Session, *, user_id: int, actor: Actor, now: dt.datetime) -> User:
    """Remove a user's authenticator and recovery codes and end their sessions; audited;
    commits once. Their next login enrols again if their role requires a second factor.

    An administrator cannot reset their own (another administrator, or the CLI, can).
    """
    user = get_user(session, user_id=user_id)
    if actor.user_id is not None and actor.user_id == user.id:
        raise UserError(
            "You cannot reset your own two-factor login; ask another administrator "
            "(or run clinic reset-two-factor on the server)."
        )
    row = session.get(TwoFactor, user.id)
    if row is None:
        raise UserError(f"{user.username} has no two-factor login to reset.")
    session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    session.delete(row)
    ended = end_user_sessions(session, user_id=user.id, now=now)
    record_event(
        session,
        actor,
        action="auth.two_factor_reset",
        entity_type="user",
        entity_id=user.id,
        summary=f"authenticator and recovery codes removed; {ended} session(s) ended",
    )
    session.commit()
    return user


def reset_two_factor_by_name(
    session: Session, *, username: str, actor: Actor, now: dt.datetime
) -> User:
    """:func:`reset_two_factor` for the CLI, which names the user."""
    user = user_by_name(session, username)
    if user is None:
        raise UserError(f"There is no user named {username!r}.")
    return reset_two_factor(session, user_id=user.id, actor=actor, now=now)
