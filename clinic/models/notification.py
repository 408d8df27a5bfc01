"""The transactional outbox: every message a patient should receive, and its delivery state."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, enum_column, utcnow
from .booking import Appointment


class NotificationKind(enum.StrEnum):
    INVITE = "invite"
    UPDATE = "update"
    CANCEL = "cancel"
    REMINDER = "reminder"


class Channel(enum.StrEnum):
    EMAIL = "email"
    SMS = "sms"


class NotificationStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by a worker; returns to pending if the claim goes stale
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"  # e.g. a reminder whose time had passed when the booking was made
    WITHDRAWN = "withdrawn"  # a reminder for a session since cancelled or moved


class Notification(Base):
    __tablename__ = "notification"
    __table_args__ = (
        sa.Index("ix_notification_status_due", "status", "due_at"),
        # The messages report reads a date range of every status (migration 0008_reports).
        sa.Index("ix_notification_due_at", "due_at"),
        sa.CheckConstraint("attempts >= 0", name="attempts_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("appointment.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[NotificationKind] = mapped_column(enum_column(NotificationKind))
    channel: Mapped[Channel] = mapped_column(enum_column(Channel))
    due_at: Mapped[dt.datetime]
    status: Mapped[NotificationStatus] = mapped_column(
        enum_column(NotificationStatus), default=NotificationStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    sent_at: Mapped[dt.datetime | None]
    claimed_at: Mapped[dt.datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(sa.String(100))
    # Makes enqueueing idempotent, e.g. "appt:42:seq:3:reminder:email:1440".
    idempotency_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    # Fixed when the row is created, so every retry of an email carries the same Message-ID.
    message_id: Mapped[str | None] = mapped_column(sa.String(200))
    # The calendar SEQUENCE this message announces.
    calendar_sequence: Mapped[int] = mapped_column(default=0)
    # Reminder lead time, for the message text ("in 24 hours").
    lead_minutes: Mapped[int | None]
    payload: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    appointment: Mapped[Appointment] = relationship()
