"""A user's second factor: a TOTP secret (encrypted at rest) and single-use recovery codes.

The rules live in ``clinic.accounts.two_factor``; these rows only hold what it needs.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class TwoFactor(Base):
    """One per user. ``confirmed_at`` is empty while enrolment waits for the first code."""

    __tablename__ = "two_factor"

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user.id", ondelete="CASCADE"), primary_key=True
    )
    # Fernet token of the base32 secret (clinic.accounts.two_factor says which key).
    secret_encrypted: Mapped[str] = mapped_column(sa.String(255))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[dt.datetime | None]
    # The RFC 6238 time step of the last code accepted: a code is good once, so only a later
    # step is accepted next time (replay refused even within the code's own 30 seconds).
    last_used_step: Mapped[int | None] = mapped_column(sa.BigInteger)


class RecoveryCode(Base):
    """A single-use code for a lost authenticator; only its keyed hash is stored."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    used_at: Mapped[dt.datetime | None]
