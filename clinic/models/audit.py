"""The append-only audit trail: who did what to which record, never clinical detail."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class AuditEvent(Base):
    __tablename__ = "audit_event"
    __table_args__ = (
        sa.Index("ix_audit_event_at", "at"),
        sa.Index("ix_audit_event_patient_at", "patient_id", "at"),
        sa.Index("ix_audit_event_user_at", "user_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # No foreign keys: the trail must outlive the rows it talks about.
    user_id: Mapped[int | None]
    username: Mapped[str | None] = mapped_column(sa.String(80))
    action: Mapped[str] = mapped_column(sa.String(60))  # e.g. "appointment.cancel"
    entity_type: Mapped[str] = mapped_column(sa.String(40))
    entity_id: Mapped[str | None] = mapped_column(sa.String(40))
    patient_id: Mapped[int | None]
    summary: Mapped[str] = mapped_column(sa.String(300), default="")  # ids, never clinical text
    source_address: Mapped[str | None] = mapped_column(sa.String(64))
