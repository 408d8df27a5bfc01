"""Writing the session record: append an entry, amend one (with a reason), all audited.

Entries are append-only. An amendment is a new entry of the same kind whose ``amends_id``
names the entry it corrects; the original stays in the record and both are in the audit
trail. The audit rows hold ids and kinds only, never the values.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..audit import Actor, record_event
from ..models import Appointment, AppointmentStatus, RecordEntry, SessionRecord
from .errors import EntryNotFound, RecordRefused
from .inputs import (
    SEDATION_SCALE,
    AssessmentInput,
    EntryInput,
    IvDoseInput,
    NasalDoseInput,
    ObservationInput,
    VitalsInput,
    clean_reason,
    validate_entry,
)

RECORDABLE = frozenset(
    {
        AppointmentStatus.CHECKED_IN,
        AppointmentStatus.IN_TREATMENT,
        AppointmentStatus.MONITORING,
        AppointmentStatus.DISCHARGED,
    }
)


def load_appointment(session: Session, appointment_id: int) -> Appointment:
    appointment = session.get(Appointment, appointment_id, with_for_update=True)
    if appointment is None:
        raise EntryNotFound(f"There is no session with id {appointment_id}.")
    return appointment


def require_recordable(appointment: Appointment) -> None:
    status = AppointmentStatus(appointment.status)
    if status in RECORDABLE:
        return
    if status == AppointmentStatus.BOOKED:
        raise RecordRefused("Check the patient in before recording anything for this session.")
    raise RecordRefused(
        f"This session was {'cancelled' if status == AppointmentStatus.CANCELLED else 'a no-show'}"
        "; nothing can be recorded for it."
    )


def session_record(session: Session, appointment: Appointment) -> SessionRecord:
    """The session's day-of-care row, created on first use."""
    record = session.scalar(
        sa.select(SessionRecord).where(SessionRecord.appointment_id == appointment.id)
    )
    if record is None:
        record = SessionRecord(appointment_id=appointment.id)
        session.add(record)
    return record


def _entry(
    entry: EntryInput, appointment: Appointment, actor: Actor, now: dt.datetime
) -> RecordEntry:
    row = RecordEntry(
        appointment_id=appointment.id,
        kind=entry.kind,
        taken_at=entry.taken_at,
        recorded_at=now,
        recorded_by_id=actor.user_id,
        recorded_by=actor.username,
    )
    if isinstance(entry, VitalsInput):
        row.systolic, row.diastolic = entry.systolic, entry.diastolic
        row.heart_rate, row.spo2 = entry.heart_rate, entry.spo2
        row.respiratory_rate = entry.respiratory_rate
    elif isinstance(entry, IvDoseInput):
        row.weight_kg, row.mg_per_kg, row.total_mg = (
            entry.weight_kg,
            entry.mg_per_kg,
            entry.total_mg,
        )
        row.infusion_ends_at = entry.infusion_ends_at
    elif isinstance(entry, NasalDoseInput):
        row.devices, row.total_mg = entry.devices, entry.total_mg
        row.device_times = [moment.astimezone(dt.UTC).isoformat() for moment in entry.device_times]
    elif isinstance(entry, ObservationInput):
        row.scale = SEDATION_SCALE
        row.sedation_level, row.dissociation_level = entry.sedation_level, entry.dissociation_level
        row.side_effects = sorted(set(entry.side_effects))
        row.text = entry.text.strip() or None
    elif isinstance(entry, AssessmentInput):
        row.scale = appointment.treatment_type.discharge_scale
        row.score = entry.score
        row.text = entry.text.strip() or None
    else:
        row.text = entry.text.strip()
    return row


def add_entry(
    session: Session, *, appointment_id: int, entry: EntryInput, actor: Actor, now: dt.datetime
) -> RecordEntry:
    """Append one entry to the session's record; refused entries save nothing."""
    appointment = load_appointment(session, appointment_id)
    require_recordable(appointment)
    validate_entry(entry, appointment, now=now)
    row = _entry(entry, appointment, actor, now)
    session.add(row)
    session.flush()
    record_event(
        session,
        actor,
        action=f"record.{entry.kind.value}",
        entity_type="record_entry",
        entity_id=row.id,
        patient_id=appointment.patient_id,
        summary=f"{entry.kind.value} entry {row.id} added to appointment {appointment.id}",
    )
    session.commit()
    return row


def amend_entry(
    session: Session,
    *,
    entry_id: int,
    entry: EntryInput,
    reason: str,
    actor: Actor,
    now: dt.datetime,
) -> RecordEntry:
    """Correct an entry: a new entry replaces it in the record; the original is kept."""
    original = session.get(RecordEntry, entry_id)
    if original is None:
        raise EntryNotFound(f"There is no record entry with id {entry_id}.")
    appointment = load_appointment(session, original.appointment_id)
    require_recordable(appointment)
    if original.kind != entry.kind:
        raise RecordRefused(f"A {original.kind.value} entry can only be amended by another one.")
    newer = session.scalar(sa.select(RecordEntry.id).where(RecordEntry.amends_id == entry_id))
    if newer is not None:
        raise RecordRefused(
            f"Entry {entry_id} was already amended (by entry {newer}); amend the newest version."
        )
    text = clean_reason(reason, what="amendment")
    validate_entry(entry, appointment, now=now)
    row = _entry(entry, appointment, actor, now)
    row.amends_id = original.id
    row.amend_reason = text
    session.add(row)
    session.flush()
    record_event(
        session,
        actor,
        action="record.amend",
        entity_type="record_entry",
        entity_id=row.id,
        patient_id=appointment.patient_id,
        summary=f"{entry.kind.value} entry {original.id} amended by entry {row.id} "
        f"on appointment {appointment.id}",
    )
    session.commit()
    return row
