"""Reading the session record: one session's record, the board's checks in bulk, forms due.

The board asks for the checks of all its sessions at once (:func:`board_checks`, one query
however many sessions); the session page reads one record (:func:`load_record`, two).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..models import Appointment, AppointmentStatus, EntryKind, RecordEntry, SessionRecord
from . import checkpoints as cp

IN_CLINIC = frozenset(
    {AppointmentStatus.CHECKED_IN, AppointmentStatus.IN_TREATMENT, AppointmentStatus.MONITORING}
)


def current(entries: Iterable[RecordEntry]) -> list[RecordEntry]:
    """The entries not replaced by an amendment, by bedside time."""
    entries = list(entries)
    replaced = {entry.amends_id for entry in entries if entry.amends_id is not None}
    return sorted(
        (entry for entry in entries if entry.id not in replaced),
        key=lambda entry: (entry.taken_at, entry.id),
    )


def latest(entries: Sequence[RecordEntry], kind: EntryKind) -> RecordEntry | None:
    of_kind = [entry for entry in entries if entry.kind == kind]
    return of_kind[-1] if of_kind else None


def session_times(
    appointment: Appointment, record: SessionRecord | None, entries: Sequence[RecordEntry]
) -> cp.SessionTimes:
    dose = latest(entries, EntryKind.DOSE)
    return cp.SessionTimes(
        treatment_started_at=record.treatment_started_at if record else None,
        dose_given_at=dose.dose_given_at if dose else None,
        min_monitoring_minutes=appointment.treatment_type.minimum_monitoring_minutes,
    )


def evaluate_checkpoints(
    appointment: Appointment,
    record: SessionRecord | None,
    entries: Sequence[RecordEntry],
    *,
    now: dt.datetime,
) -> list[cp.Checkpoint]:
    """``entries`` are the current ones; a discharged session is judged at its discharge."""
    if appointment.discharged_at is not None:
        now = appointment.discharged_at
    readings = [
        cp.Reading(entry.id, entry.taken_at) for entry in entries if entry.kind == EntryKind.VITALS
    ]
    return cp.evaluate(
        appointment.treatment_type.checkpoints or [],
        readings,
        session_times(appointment, record, entries),
        now=now,
    )


@dataclass(frozen=True, slots=True)
class SessionRecordView:
    record: SessionRecord | None
    entries: list[RecordEntry]  # every entry, originals and amendments, by recording
    current: list[RecordEntry]
    checkpoints: list[cp.Checkpoint]

    @property
    def vitals(self) -> list[RecordEntry]:
        return [entry for entry in self.current if entry.kind == EntryKind.VITALS]

    @property
    def dose(self) -> RecordEntry | None:
        return latest(self.current, EntryKind.DOSE)

    @property
    def assessment(self) -> RecordEntry | None:
        return latest(self.current, EntryKind.ASSESSMENT)

    @property
    def replaced_ids(self) -> set[int]:
        return {entry.amends_id for entry in self.entries if entry.amends_id is not None}

    @property
    def amended_by(self) -> dict[int, RecordEntry]:
        return {entry.amends_id: entry for entry in self.entries if entry.amends_id is not None}


def load_entries(session: Session, appointment_id: int) -> list[RecordEntry]:
    return list(
        session.scalars(
            sa.select(RecordEntry)
            .where(RecordEntry.appointment_id == appointment_id)
            .order_by(RecordEntry.id)
        )
    )


def load_record(
    session: Session, appointment: Appointment, *, now: dt.datetime
) -> SessionRecordView:
    record = session.scalar(
        sa.select(SessionRecord).where(SessionRecord.appointment_id == appointment.id)
    )
    entries = load_entries(session, appointment.id)
    now_entries = current(entries)
    return SessionRecordView(
        record=record,
        entries=entries,
        current=now_entries,
        checkpoints=evaluate_checkpoints(appointment, record, now_entries, now=now),
    )


@dataclass(frozen=True, slots=True)
class BoardCheck:
    """What the board shows of one in-clinic session's record."""

    state: cp.CheckState | None  # overdue, due, or None (nothing pending)
    next_label: str | None
    next_due_at: dt.datetime | None
    done: int
    total: int


def board_checks(
    session: Session, appointments: Sequence[Appointment], *, now: dt.datetime
) -> dict[int, BoardCheck]:
    """Checkpoint states of every in-clinic session: one query, none when nobody is in."""
    in_clinic = {a.id: a for a in appointments if AppointmentStatus(a.status) in IN_CLINIC}
    if not in_clinic:
        return {}
    rows = session.execute(
        sa.select(SessionRecord, RecordEntry)
        .select_from(Appointment)
        .outerjoin(SessionRecord, SessionRecord.appointment_id == Appointment.id)
        .outerjoin(
            RecordEntry,
            sa.and_(
                RecordEntry.appointment_id == Appointment.id,
                RecordEntry.kind.in_([EntryKind.VITALS, EntryKind.DOSE]),
            ),
        )
        .where(Appointment.id.in_(in_clinic))
    ).all()
    records: dict[int, SessionRecord] = {}
    entries: dict[int, list[RecordEntry]] = defaultdict(list)
    for record, entry in rows:
        if record is not None:
            records[record.appointment_id] = record
        if entry is not None:
            entries[entry.appointment_id].append(entry)
    checks: dict[int, BoardCheck] = {}
    for appointment_id, appointment in in_clinic.items():
        points = evaluate_checkpoints(
            appointment, records.get(appointment_id), current(entries[appointment_id]), now=now
        )
        pending = [p for p in points if p.state in (cp.CheckState.DUE, cp.CheckState.OVERDUE)]
        upcoming = pending or [p for p in points if p.state == cp.CheckState.UPCOMING]
        checks[appointment_id] = BoardCheck(
            state=cp.summary(points),
            next_label=upcoming[0].label if upcoming else None,
            next_due_at=upcoming[0].due_at if upcoming else None,
            done=sum(1 for p in points if p.done),
            total=len(points),
        )
    return checks
