"""The clinical record of one monitored session: its entries and its day-of-care state.

``RecordEntry`` rows are append-only: a correction is a new entry that ``amends`` the one it
replaces, with a reason, so the original stays readable (the ORM refuses to change or delete
an entry, see :func:`guard_record_append_only`). ``SessionRecord`` holds the few facts of the
day that are not entries: when treatment started, a discharge override, the REMS form.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from .base import Base, enum_column, utcnow


class EntryKind(enum.StrEnum):
    DOSE = "dose"
    VITALS = "vitals"
    OBSERVATION = "observation"
    NOTE = "note"
    ASSESSMENT = "assessment"


class RecordEntry(Base):
    """One observation of the session. Which columns hold values depends on ``kind``:

    - dose: IV ``weight_kg``, ``mg_per_kg``, ``total_mg``, ``taken_at`` (infusion start) and
      ``infusion_ends_at``; nasal ``devices``, ``total_mg`` and ``device_times``;
    - vitals: ``systolic``/``diastolic``, ``heart_rate``, ``spo2``, ``respiratory_rate``;
    - observation: ``scale``, ``sedation_level``, ``dissociation_level``, ``side_effects``;
    - assessment: ``scale`` and ``score`` (the discharge assessment);
    - note (and any kind): ``text``.
    """

    __tablename__ = "record_entry"
    __table_args__ = (
        sa.Index("ix_record_entry_appointment_taken", "appointment_id", "taken_at"),
        sa.CheckConstraint(
            "systolic IS NULL OR (systolic BETWEEN 40 AND 300 AND diastolic < systolic)",
            name="blood_pressure_plausible",
        ),
        sa.CheckConstraint(
            "heart_rate IS NULL OR heart_rate BETWEEN 20 AND 250", name="heart_rate_plausible"
        ),
        sa.CheckConstraint("spo2 IS NULL OR spo2 BETWEEN 50 AND 100", name="spo2_plausible"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("appointment.id", ondelete="RESTRICT")
    )
    kind: Mapped[EntryKind] = mapped_column(enum_column(EntryKind))
    # When it happened at the bedside (a reading's time, the infusion start).
    taken_at: Mapped[dt.datetime]
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )
    recorded_by: Mapped[str] = mapped_column(sa.String(80))
    amends_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("record_entry.id", ondelete="RESTRICT"), index=True, unique=True
    )
    amend_reason: Mapped[str | None] = mapped_column(sa.String(300))
    # dose
    weight_kg: Mapped[float | None]
    mg_per_kg: Mapped[float | None]
    total_mg: Mapped[float | None]
    infusion_ends_at: Mapped[dt.datetime | None]
    devices: Mapped[int | None]
    device_times: Mapped[list[str] | None] = mapped_column(sa.JSON)
    # vitals
    systolic: Mapped[int | None]
    diastolic: Mapped[int | None]
    heart_rate: Mapped[int | None]
    spo2: Mapped[int | None]
    respiratory_rate: Mapped[int | None]
    # observation and assessment
    scale: Mapped[str | None] = mapped_column(sa.String(60))
    sedation_level: Mapped[int | None]
    dissociation_level: Mapped[int | None]
    side_effects: Mapped[list[str] | None] = mapped_column(sa.JSON)
    score: Mapped[int | None]
    text: Mapped[str | None] = mapped_column(sa.Text)

    amends: Mapped[RecordEntry | None] = relationship(remote_side=[id])

    @property
    def device_instants(self) -> list[dt.datetime]:
        return [dt.datetime.fromisoformat(value) for value in self.device_times or []]

    @property
    def dose_given_at(self) -> dt.datetime:
        """The moment the dose was complete: the infusion's end, the last device."""
        if self.device_times:
            return max(self.device_instants)
        return self.infusion_ends_at or self.taken_at


class SessionRecord(Base):
    """The day-of-care facts of one session that are set once, not appended."""

    __tablename__ = "session_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("appointment.id", ondelete="RESTRICT"), unique=True
    )
    treatment_started_at: Mapped[dt.datetime | None]
    # A discharge that broke a gate: which conditions were unmet, who decided, why.
    override_conditions: Mapped[list[str] | None] = mapped_column(sa.JSON)
    override_reason: Mapped[str | None] = mapped_column(sa.String(300))
    override_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )
    override_by: Mapped[str | None] = mapped_column(sa.String(80))
    overridden_at: Mapped[dt.datetime | None]
    # The REMS patient monitoring form (esketamine): filed with the programme by then.
    rems_submitted_at: Mapped[dt.datetime | None]
    rems_reference: Mapped[str | None] = mapped_column(sa.String(60))
    rems_submitted_by: Mapped[str | None] = mapped_column(sa.String(80))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    @property
    def overridden(self) -> bool:
        return self.overridden_at is not None


class RecordIsAppendOnly(RuntimeError):
    """Code tried to change or delete a record entry."""


def _refuse_entry_changes(session: Session, _context: Any, _instances: Any) -> None:
    for instance in (*session.dirty, *session.deleted):
        if isinstance(instance, RecordEntry) and (
            instance in session.deleted or session.is_modified(instance)
        ):
            raise RecordIsAppendOnly("record_entry rows cannot be changed; amend them instead")


def guard_record_append_only() -> None:
    if not sa.event.contains(Session, "before_flush", _refuse_entry_changes):
        sa.event.listen(Session, "before_flush", _refuse_entry_changes)


guard_record_append_only()
