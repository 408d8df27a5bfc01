"""Patient records, the use cases: register, update, and open a record (an audited read).

Each validates with ``clinic.patients.validation`` (the web forms and the API share it, so a
rule is written once), writes its audit row in the same transaction and commits once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, fields

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from ..audit import Actor, record_event
from ..models import (
    FINISHED_STATUSES,
    Appointment,
    AppointmentStatus,
    Notification,
    Patient,
    Series,
    SeriesStatus,
)
from ..scheduling import impact
from ..scheduling.impact import FACT, Scope
from .queries import mrn_taken
from .validation import (
    DEFAULT_PHONE_REGION,
    MRN_TAKEN,
    CleanPatient,
    PatientError,
    PatientInput,
    PatientNotFound,
    clean_patient_input,
)


def _apply(patient: Patient, clean: CleanPatient, *, now: dt.datetime) -> list[str]:
    """Copy the clean values onto the row; return the names of the fields that changed."""
    changed = []
    for item in fields(CleanPatient):
        value = getattr(clean, item.name)
        if getattr(patient, item.name, None) != value:
            setattr(patient, item.name, value)
            changed.append(item.name)
    # Consent to texts is recorded when it is given and forgotten when it is withdrawn.
    if clean.sms_opt_in and patient.sms_consent_at is None:
        patient.sms_consent_at = now
    elif not clean.sms_opt_in and patient.sms_consent_at is not None:
        patient.sms_consent_at = None
    return changed


def _commit_or_mrn_error(session: Session) -> None:
    try:
        session.commit()
    except sa.exc.IntegrityError as error:
        # Two receptionists registering the same MRN at once: the unique index decides.
        session.rollback()
        raise PatientError({"mrn": MRN_TAKEN}) from error


# --- use cases ----------------------------------------------------------------------------


def create_patient(
    session: Session,
    *,
    data: PatientInput,
    actor: Actor,
    now: dt.datetime,
    region: str = DEFAULT_PHONE_REGION,
) -> Patient:
    clean = clean_patient_input(data, today=now.date(), region=region)
    if mrn_taken(session, clean.mrn):
        raise PatientError({"mrn": MRN_TAKEN})
    patient = Patient(created_at=now, updated_at=now)
    _apply(patient, clean, now=now)
    session.add(patient)
    session.flush()
    record_event(
        session,
        actor,
        action="patient.create",
        entity_type="patient",
        entity_id=patient.id,
        patient_id=patient.id,
        summary=f"patient {patient.id} created",
    )
    _commit_or_mrn_error(session)
    return patient


def update_patient(
    session: Session,
    *,
    patient_id: int,
    data: PatientInput,
    actor: Actor,
    now: dt.datetime,
    region: str = DEFAULT_PHONE_REGION,
) -> Patient:
    patient = session.get(Patient, patient_id)
    if patient is None:
        raise PatientNotFound(f"There is no patient with id {patient_id}.")
    clean = clean_patient_input(data, today=now.date(), region=region)
    if mrn_taken(session, clean.mrn, except_id=patient_id):
        raise PatientError({"mrn": MRN_TAKEN})
    # REMS withdrawn or the record made inactive is a fact: recorded, and the sessions it
    # breaks go onto the Needs rebooking list (``scheduling.impact``).
    watch = impact.watch(session, Scope(patient_ids={patient_id}), now=now)
    changed = _apply(patient, clean, now=now)
    if not changed:
        session.rollback()
        return patient
    patient.updated_at = now
    impact.settle(
        session, watch, change="patient.update", kind=FACT, proceed=True, actor=actor, now=now
    )
    record_event(
        session,
        actor,
        action="patient.update",
        entity_type="patient",
        entity_id=patient.id,
        patient_id=patient.id,
        summary="changed: " + ", ".join(changed),
    )
    _commit_or_mrn_error(session)
    return patient


def patient_input_from(patient: Patient) -> PatientInput:
    """The current record as input, e.g. to prefill an edit form."""
    return PatientInput(
        mrn=patient.mrn,
        given_name=patient.given_name,
        family_name=patient.family_name,
        date_of_birth=patient.date_of_birth,
        email=patient.email,
        phone=patient.phone,
        email_opt_in=patient.email_opt_in,
        sms_opt_in=patient.sms_opt_in,
        escort_name=patient.escort_name,
        escort_phone=patient.escort_phone,
        rems_enrolled_on=patient.rems_enrolled_on,
        notes=patient.notes,
        active=patient.active,
    )


# --- the patient page ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SeriesProgress:
    series: Series
    done: int  # sessions discharged
    planned: int  # sessions not cancelled (done, to come, no-shows excluded)
    upcoming: int
    next_session: Appointment | None

    @property
    def label(self) -> str:
        return f"{self.done} of {self.planned}"


@dataclass(frozen=True, slots=True)
class PatientRecord:
    patient: Patient
    upcoming: list[Appointment]
    past: list[Appointment]
    series: list[SeriesProgress]
    notifications: list[Notification]
    position_in_series: dict[int, tuple[int, int]] = field(default_factory=dict)

    @property
    def appointments_by_id(self) -> dict[int, Appointment]:
        return {a.id: a for a in [*self.upcoming, *self.past]}


def load_patient_record(
    session: Session, *, patient_id: int, actor: Actor, now: dt.datetime
) -> PatientRecord:
    """Everything the patient page shows, in a few bulk queries, and the audit row of the view.

    Reading a health record is itself audited (who looked at whom, when), so this commits.
    """
    if session.scalar(sa.select(Patient.id).where(Patient.id == patient_id)) is None:
        raise PatientNotFound(f"There is no patient with id {patient_id}.")
    # Audit first and commit, so the rows loaded below are not expired by the commit.
    record_event(
        session,
        actor,
        action="patient.view",
        entity_type="patient",
        entity_id=patient_id,
        patient_id=patient_id,
        summary=f"patient {patient_id} record opened",
    )
    session.commit()
    patient = session.get(Patient, patient_id)
    assert patient is not None
    appointments = list(
        session.scalars(
            sa.select(Appointment)
            .where(Appointment.patient_id == patient_id)
            .options(
                joinedload(Appointment.treatment_type),
                joinedload(Appointment.location),
                joinedload(Appointment.chair),
                joinedload(Appointment.monitor),
            )
            .order_by(Appointment.starts_at)
        )
    )
    series_rows = list(
        session.scalars(
            sa.select(Series)
            .where(Series.patient_id == patient_id)
            .options(joinedload(Series.treatment_type), joinedload(Series.protocol))
            .order_by(Series.created_at.desc(), Series.id.desc())
        )
    )
    notifications = list(
        session.scalars(
            sa.select(Notification)
            .join(Appointment, Notification.appointment_id == Appointment.id)
            .where(Appointment.patient_id == patient_id)
            .order_by(Notification.due_at.desc(), Notification.id.desc())
            .limit(200)
        )
    )
    upcoming = [a for a in appointments if a.ends_at >= now and a.status not in FINISHED_STATUSES]
    upcoming_ids = {a.id for a in upcoming}
    past = [a for a in reversed(appointments) if a.id not in upcoming_ids]

    by_series: dict[int, list[Appointment]] = {}
    for appointment in appointments:
        if appointment.series_id is not None:
            by_series.setdefault(appointment.series_id, []).append(appointment)
    progress = []
    positions: dict[int, tuple[int, int]] = {}
    for series in series_rows:
        sessions = by_series.get(series.id, [])
        counted = [a for a in sessions if a.status != AppointmentStatus.CANCELLED]
        for index, appointment in enumerate(counted, start=1):
            positions[appointment.id] = (index, len(counted))
        to_come = [a for a in counted if a.id in upcoming_ids]
        progress.append(
            SeriesProgress(
                series=series,
                done=sum(1 for a in counted if a.status == AppointmentStatus.DISCHARGED),
                planned=len(counted),
                upcoming=len(to_come),
                next_session=to_come[0] if to_come else None,
            )
        )
    return PatientRecord(
        patient=patient,
        upcoming=upcoming,
        past=past,
        series=progress,
        notifications=notifications,
        position_in_series=positions,
    )


def active_series_count(series: Sequence[SeriesProgress]) -> int:
    return sum(1 for item in series if item.series.status == SeriesStatus.ACTIVE)
