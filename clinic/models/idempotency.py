"""Idempotency keys of the JSON API: a retried write returns its first answer.

One row per (token user, key). While the first request runs, ``status_code`` is None (in
flight); once it succeeded, the row holds its answer, replayed to a retry with the same body
until ``expires_at``. Kept in the database so every gunicorn worker on every machine sees it.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow

MAX_KEY_LENGTH = 255


class IdempotencyKey(Base):
    __tablename__ = "idempotency_key"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "key", name="uq_idempotency_key_user_key"),
        sa.Index("ix_idempotency_key_expires_at", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(sa.String(MAX_KEY_LENGTH))
    # SHA-256 of the method, the path and the (canonical) body: the same key with another
    # request is refused rather than answered with the first request's result.
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    method: Mapped[str] = mapped_column(sa.String(10))
    path: Mapped[str] = mapped_column(sa.String(500))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    # None while the first request is in flight.
    status_code: Mapped[int | None]
    response_body: Mapped[str | None] = mapped_column(sa.Text)
    response_type: Mapped[str | None] = mapped_column(sa.String(100))
    response_location: Mapped[str | None] = mapped_column(sa.String(500))
    completed_at: Mapped[dt.datetime | None]

    @property
    def in_flight(self) -> bool:
        return self.status_code is None
