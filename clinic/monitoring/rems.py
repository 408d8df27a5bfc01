"""The esketamine REMS patient monitoring form: what it asks, and the forms still to file.

Every esketamine session's form is filed with the REMS programme within 7 days of the
session. The record holds what the form asks (:func:`form_content`); the "forms due" list
(:func:`forms_due`, one query) shows each session whose form is not marked submitted, with
its deadline and the days left; a nurse marks it submitted with the programme's reference.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from ..audit import Actor, record_event
from ..models import Appointment, AppointmentStatus, EntryKind, SessionRecord, TreatmentType
from ..models.treatment import Route
from .errors import RecordInvalid, RecordRefused
from .queries import SessionRecordView
from .record import load_appointment, session_record

FILING_DAYS = 7
MAX_REFERENCE = 60
# Sessions that took place: their form is owed.
ATTENDED = (
    AppointmentStatus.CHECKED_IN,
    AppointmentStatus.IN_TREATMENT,
    AppointmentStatus.MONITORING,
    AppointmentStatus.DISCHARGED,
)


def needs_rems_form(treatment: TreatmentType) -> bool:
    return treatment.route == Route.NASAL and treatment.needs_rems_enrollment


def deadline_for(appointment: Appointment) -> dt.date:
    return appointment.starts_at.astimezone(appointment.location.tz).date() + dt.timedelta(
        days=FILING_DAYS
    )


@dataclass(frozen=True, slots=True)
class FormDue:
    appointment_id: int
    patient_id: int
    patient_name: str
    mrn: str
    location_name: str
    session_day: dt.date
    deadline: dt.date
    days_left: int  # negative once late

    @property
    def late(self) -> bool:
        return self.days_left < 0


def forms_due(
    session: Session, *, now: dt.datetime, location_id: int | None = None
) -> list[FormDue]:
    """Attended esketamine sessions whose form is not marked submitted, soonest deadline
    first (one query)."""
    query = (
        sa.select(Appointment)
        .join(TreatmentType, TreatmentType.id == Appointment.treatment_type_id)
        .outerjoin(SessionRecord, SessionRecord.appointment_id == Appointment.id)
        .where(
            TreatmentType.route == Route.NASAL,
            TreatmentType.needs_rems_enrollment.is_(True),
            Appointment.status.in_(ATTENDED),
            Appointment.starts_at <= now,
            SessionRecord.rems_submitted_at.is_(None),
        )
        .options(joinedload(Appointment.patient), joinedload(Appointment.location))
        .order_by(Appointment.starts_at, Appointment.id)
    )
    if location_id is not None:
        query = query.where(Appointment.location_id == location_id)
    rows = []
    for appointment in session.scalars(query):
        tz = appointment.location.tz
        deadline = deadline_for(appointment)
        rows.append(
            FormDue(
                appointment_id=appointment.id,
                patient_id=appointment.patient_id,
                patient_name=appointment.patient.full_name,
                mrn=appointment.patient.mrn,
                location_name=appointment.location.name,
                session_day=appointment.starts_at.astimezone(tz).date(),
                deadline=deadline,
                days_left=(deadline - now.astimezone(tz).date()).days,
            )
        )
    return rows


def mark_submitted(
    session: Session, *, appointment_id: int, reference: str, actor: Actor, now: dt.datetime
) -> SessionRecord:
    appointment = load_appointment(session, appointment_id)
    if not needs_rems_form(appointment.treatment_type):
        raise RecordRefused("This session needs no REMS monitoring form.")
    if appointment.status not in ATTENDED or appointment.starts_at > now:
        raise RecordRefused("A REMS form can be submitted only for a session that took place.")
    text = " ".join((reference or "").split())
    if not text or len(text) > MAX_REFERENCE or "\x00" in text:
        raise RecordInvalid(
            fields={"reference": f"Give the form's reference (at most {MAX_REFERENCE} characters)."}
        )
    record = session_record(session, appointment)
    if record.rems_submitted_at is not None:
        raise RecordRefused(
            f"The REMS form was already marked submitted ({record.rems_reference})."
        )
    record.rems_submitted_at = now
    record.rems_reference = text
    record.rems_submitted_by = actor.username
    record_event(
        session,
        actor,
        action="record.rems_submitted",
        entity_type="appointment",
        entity_id=appointment.id,
        patient_id=appointment.patient_id,
        summary=f"REMS form for appointment {appointment.id} marked submitted",
    )
    session.commit()
    return record


def form_content(appointment: Appointment, view: SessionRecordView) -> list[tuple[str, str]]:
    """What the REMS patient monitoring form asks, from the record ("not recorded" where the
    record has no answer yet)."""
    tz = appointment.location.tz
    missing = "not recorded"

    def hm(moment: dt.datetime | None) -> str:
        return moment.astimezone(tz).strftime("%H:%M") if moment else missing

    dose = view.dose
    by_label = {c.label: c for c in view.checkpoints}
    vitals = {entry.id: entry for entry in view.vitals}

    def reading(label: str) -> str:
        checkpoint = by_label.get(label)
        entry = vitals.get(checkpoint.entry_id) if checkpoint and checkpoint.entry_id else None
        if entry is None:
            return missing
        return f"{entry.systolic}/{entry.diastolic} mmHg at {hm(entry.taken_at)}"

    observations = [e for e in view.current if e.kind == EntryKind.OBSERVATION]
    sedation = any((e.sedation_level or 5) < 5 for e in observations)
    dissociation = any((e.dissociation_level or 0) > 0 for e in observations)
    last = observations[-1] if observations else None
    resolved = last is not None and last.sedation_level == 5 and last.dissociation_level == 0
    effects = sorted({effect for e in observations for effect in (e.side_effects or [])})
    return [
        ("Session date", appointment.starts_at.astimezone(tz).strftime("%a %-d %b %Y")),
        (
            "Dose",
            f"{dose.devices} × 28 mg = {dose.total_mg:g} mg, last device {hm(dose.dose_given_at)}"
            if dose and dose.devices
            else missing,
        ),
        ("Blood pressure before dosing", reading("Before dosing")),
        ("Blood pressure about 40 minutes after", reading("40 min")),
        ("Blood pressure before discharge", reading("Before discharge")),
        ("Sedation observed", ("yes" if sedation else "no") if observations else missing),
        ("Dissociation observed", ("yes" if dissociation else "no") if observations else missing),
        ("Resolved before discharge", ("yes" if resolved else "no") if observations else missing),
        (
            "Adverse events",
            ", ".join(effects) if effects else ("none" if observations else missing),
        ),
        ("Discharged at", hm(appointment.discharged_at)),
    ]
