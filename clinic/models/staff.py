"""Staff who monitor sessions: certifications, weekly shift templates, shifts and time off."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, enum_column
from .location import Location


class StaffRole(enum.StrEnum):
    NURSE = "nurse"
    PRESCRIBER = "prescriber"
    TECH = "tech"


# Certifications that expire within this many days are flagged on the board and set-up pages.
CERTIFICATION_WARNING_DAYS = 30


class Staff(Base):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    email: Mapped[str | None] = mapped_column(sa.String(254), unique=True)
    role: Mapped[StaffRole] = mapped_column(enum_column(StaffRole))
    active: Mapped[bool] = mapped_column(default=True)

    certifications: Mapped[list[Certification]] = relationship(
        back_populates="staff", cascade="all, delete-orphan", order_by="Certification.kind"
    )
    shift_templates: Mapped[list[ShiftTemplate]] = relationship(
        back_populates="staff", cascade="all, delete-orphan"
    )

    def certification(self, kind: str) -> Certification | None:
        return next((c for c in self.certifications if c.kind == kind), None)


class Certification(Base):
    __tablename__ = "certification"
    __table_args__ = (
        sa.CheckConstraint("expires_on >= valid_from", name="expires_after_valid_from"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    # RN, ACLS, KETAMINE_IV, ESKETAMINE_REMS, ... (free text so a clinic can add its own).
    kind: Mapped[str] = mapped_column(sa.String(40))
    number: Mapped[str] = mapped_column(sa.String(60), default="")
    valid_from: Mapped[dt.date] = mapped_column(sa.Date)
    expires_on: Mapped[dt.date] = mapped_column(sa.Date)

    staff: Mapped[Staff] = relationship(back_populates="certifications")

    def valid_on(self, day: dt.date) -> bool:
        return self.valid_from <= day <= self.expires_on


class ShiftTemplate(Base):
    """A recurring weekly shift in the location's wall-clock time; expanded into Shift rows."""

    __tablename__ = "shift_template"
    __table_args__ = (
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        sa.CheckConstraint("ends > starts", name="ends_after_starts"),
        sa.CheckConstraint(
            "effective_until IS NULL OR effective_until >= effective_from",
            name="effective_range",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    location_id: Mapped[int] = mapped_column(sa.ForeignKey("location.id", ondelete="CASCADE"))
    weekday: Mapped[int] = mapped_column(sa.SmallInteger)
    starts: Mapped[dt.time] = mapped_column(sa.Time)
    ends: Mapped[dt.time] = mapped_column(sa.Time)
    effective_from: Mapped[dt.date] = mapped_column(sa.Date)
    effective_until: Mapped[dt.date | None] = mapped_column(sa.Date)

    staff: Mapped[Staff] = relationship(back_populates="shift_templates")
    location: Mapped[Location] = relationship()


class Shift(Base):
    """A concrete working window of one staff member at one location."""

    __tablename__ = "shift"
    __table_args__ = (
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_starts"),
        sa.UniqueConstraint("staff_id", "starts_at", name="uq_shift_staff_start"),
        sa.Index("ix_shift_location_window", "location_id", "starts_at", "ends_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    location_id: Mapped[int] = mapped_column(sa.ForeignKey("location.id", ondelete="CASCADE"))
    starts_at: Mapped[dt.datetime]
    ends_at: Mapped[dt.datetime]
    template_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("shift_template.id", ondelete="SET NULL")
    )

    staff: Mapped[Staff] = relationship()
    location: Mapped[Location] = relationship()


class TimeOff(Base):
    """Leave, sickness or training: the staff member is not available in this window."""

    __tablename__ = "time_off"
    __table_args__ = (sa.CheckConstraint("ends_at > starts_at", name="ends_after_starts"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[dt.datetime]
    ends_at: Mapped[dt.datetime]
    reason: Mapped[str] = mapped_column(sa.String(200), default="")

    staff: Mapped[Staff] = relationship()
