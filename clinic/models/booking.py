"""Series and their appointments (sessions): who, where, when, and the calendar identity."""

from __future__ import annotations

import datetime as dt
import enum
import uuid

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, enum_column, utcnow
from .location import Location
from .patient import Patient
from .resources import Chair
from .staff import Staff
from .treatment import Protocol, TreatmentType


class SeriesStatus(enum.StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class AppointmentStatus(enum.StrEnum):
    BOOKED = "booked"
    CHECKED_IN = "checked_in"
    IN_TREATMENT = "in_treatment"
    MONITORING = "monitoring"
    DISCHARGED = "discharged"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


# The status sets, defined once (scheduling, notify, patients and the API read these).
# Appointments in these states hold no chair, monitor or patient time.
RELEASED_STATUSES = frozenset({AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW})
LIVE_STATUSES = frozenset(AppointmentStatus) - RELEASED_STATUSES
# Over: nothing more will happen to the session (a discharge, or released).
FINISHED_STATUSES = RELEASED_STATUSES | {AppointmentStatus.DISCHARGED}
# Not over yet: booked, or the patient is in the clinic. A series with one is still running.
OPEN_STATUSES = frozenset(AppointmentStatus) - FINISHED_STATUSES
# A session may be cancelled until treatment starts.
CANCELLABLE_STATUSES = frozenset({AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN})
# The partial unique indexes' condition; must match RELEASED_STATUSES (the migration's too).
_LIVE_SQL = "status NOT IN ({})".format(", ".join(f"'{s}'" for s in sorted(RELEASED_STATUSES)))


def new_calendar_uid() -> str:
    return f"{uuid.uuid4()}@clinic"


class Series(Base):
    __tablename__ = "series"
    __table_args__ = (sa.CheckConstraint("min_hours_between >= 0", name="spacing_non_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(
        sa.ForeignKey("patient.id", ondelete="RESTRICT"), index=True
    )
    treatment_type_id: Mapped[int] = mapped_column(
        sa.ForeignKey("treatment_type.id", ondelete="RESTRICT")
    )
    protocol_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("protocol.id", ondelete="RESTRICT")
    )
    status: Mapped[SeriesStatus] = mapped_column(
        enum_column(SeriesStatus), default=SeriesStatus.ACTIVE
    )
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # The spacing the series was planned with (its protocol's, or a custom plan's own), in
    # hours between session starts. Stored because a protocol may be edited after booking and
    # a custom plan has no protocol: a reschedule keeps the series to what was planned.
    min_hours_between: Mapped[int] = mapped_column(default=24, server_default="24")

    patient: Mapped[Patient] = relationship()
    treatment_type: Mapped[TreatmentType] = relationship()
    protocol: Mapped[Protocol | None] = relationship()
    appointments: Mapped[list[Appointment]] = relationship(
        back_populates="series", order_by="Appointment.starts_at"
    )


class Appointment(Base):
    """One monitored session.

    The windows nest: ``starts_at <= treatment_ends_at <= ends_at <= busy_until``. The
    patient and monitor are taken until ``ends_at`` (end of monitoring); the chair is busy
    until ``busy_until`` (turnover included). They are stored, not derived, so a later change
    to a treatment type's durations does not move sessions already booked.
    """

    __tablename__ = "appointment"
    __table_args__ = (
        sa.CheckConstraint(
            "starts_at <= treatment_ends_at AND treatment_ends_at <= ends_at"
            " AND ends_at <= busy_until AND starts_at < busy_until",
            name="windows_ordered",
        ),
        sa.CheckConstraint("calendar_sequence >= 0", name="sequence_non_negative"),
        sa.Index("ix_appointment_location_start", "location_id", "starts_at"),
        sa.Index("ix_appointment_chair_start", "chair_id", "starts_at"),
        sa.Index("ix_appointment_monitor_start", "monitor_id", "starts_at"),
        sa.Index("ix_appointment_patient_start", "patient_id", "starts_at"),
        # The last line of defence against double booking, whatever the application does.
        # Declared here for create_all in tests; the migration creates the same constraints.
        postgresql.ExcludeConstraint(
            ("chair_id", "="),
            (sa.func.tstzrange(sa.column("starts_at"), sa.column("busy_until")), "&&"),
            name="ex_appointment_chair_busy",
            using="gist",
            where=sa.text(_LIVE_SQL),
        ).ddl_if(dialect="postgresql"),
        postgresql.ExcludeConstraint(
            ("patient_id", "="),
            (sa.func.tstzrange(sa.column("starts_at"), sa.column("busy_until")), "&&"),
            name="ex_appointment_patient_busy",
            using="gist",
            where=sa.text(_LIVE_SQL),
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("series.id", ondelete="RESTRICT"), index=True
    )
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patient.id", ondelete="RESTRICT"))
    treatment_type_id: Mapped[int] = mapped_column(
        sa.ForeignKey("treatment_type.id", ondelete="RESTRICT")
    )
    location_id: Mapped[int] = mapped_column(sa.ForeignKey("location.id", ondelete="RESTRICT"))
    chair_id: Mapped[int] = mapped_column(sa.ForeignKey("chair.id", ondelete="RESTRICT"))
    monitor_id: Mapped[int] = mapped_column(sa.ForeignKey("staff.id", ondelete="RESTRICT"))
    prescriber_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("staff.id", ondelete="RESTRICT")
    )
    starts_at: Mapped[dt.datetime]
    treatment_ends_at: Mapped[dt.datetime]
    ends_at: Mapped[dt.datetime]
    busy_until: Mapped[dt.datetime]
    status: Mapped[AppointmentStatus] = mapped_column(
        enum_column(AppointmentStatus), default=AppointmentStatus.BOOKED
    )
    escort_name: Mapped[str | None] = mapped_column(sa.String(120))
    escort_phone: Mapped[str | None] = mapped_column(sa.String(20))
    escort_confirmed_at: Mapped[dt.datetime | None]
    discharge_override_reason: Mapped[str | None] = mapped_column(sa.String(300))
    calendar_uid: Mapped[str] = mapped_column(sa.String(80), unique=True, default=new_calendar_uid)
    # RFC 5545 SEQUENCE: rises on every change the patient's calendar must apply.
    calendar_sequence: Mapped[int] = mapped_column(default=0)
    cancel_reason: Mapped[str | None] = mapped_column(sa.String(300))
    cancelled_at: Mapped[dt.datetime | None]
    cancelled_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )
    checked_in_at: Mapped[dt.datetime | None]
    discharged_at: Mapped[dt.datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    series: Mapped[Series | None] = relationship(back_populates="appointments")
    patient: Mapped[Patient] = relationship()
    treatment_type: Mapped[TreatmentType] = relationship()
    location: Mapped[Location] = relationship()
    chair: Mapped[Chair] = relationship()
    monitor: Mapped[Staff] = relationship(foreign_keys=[monitor_id])
    prescriber: Mapped[Staff | None] = relationship(foreign_keys=[prescriber_id])

    @property
    def is_live(self) -> bool:
        return self.status not in RELEASED_STATUSES
