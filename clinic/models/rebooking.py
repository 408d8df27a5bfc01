"""The "Needs rebooking" worklist: booked sessions a change to the world left breaking a
hard rule (``clinic.scheduling.impact``), each with the reason, until it is fixed."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .booking import Appointment


class RebookingEntry(Base):
    """One open entry per session at most (a partial unique index); a resolved entry stays
    as the record of what happened. ``reasons`` are the rules' own sentences, one a line;
    they name staff, chairs and times, never clinical detail."""

    __tablename__ = "rebooking_entry"
    __table_args__ = (
        sa.Index(
            "ux_rebooking_entry_open",
            "appointment_id",
            unique=True,
            sqlite_where=sa.text("resolved_at IS NULL"),
            postgresql_where=sa.text("resolved_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("appointment.id", ondelete="CASCADE"), index=True
    )
    reasons: Mapped[str] = mapped_column(sa.Text)
    # What made it break, e.g. "certification.update" (the audit action of the change).
    change: Mapped[str] = mapped_column(sa.String(60))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    resolved_at: Mapped[dt.datetime | None]
    # "fixed" (no rule broken any more), "cancelled" (released), or "overridden".
    resolution: Mapped[str | None] = mapped_column(sa.String(20))
    override_reason: Mapped[str | None] = mapped_column(sa.String(300))
    overridden_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )

    appointment: Mapped[Appointment] = relationship()

    @property
    def reason_lines(self) -> list[str]:
        return [line for line in self.reasons.splitlines() if line]
