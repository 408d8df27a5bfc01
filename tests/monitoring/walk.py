"""Walking a session through its day with a complete record, through the real services.

``walk_to_discharge`` checks the patient in, records the baseline, starts treatment at the
booked time, records the dose and a reading at every checkpoint, moves to monitoring, and
records the pre-discharge reading and the assessment once the minimum monitoring time has
passed. It returns the instant at which the session may be discharged. Tests that only need
a session ready to go home (the status tests, the validator) use it to build their world.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from clinic.audit import Actor
from clinic.models import Appointment
from clinic.monitoring import record
from clinic.monitoring.inputs import (
    AssessmentInput,
    IvDoseInput,
    NasalDoseInput,
    ObservationInput,
    VitalsInput,
)
from clinic.scheduling import status

MINUTE = dt.timedelta(minutes=1)


def vitals(at: dt.datetime, systolic: int = 128, diastolic: int = 80, heart_rate: int = 76):
    return VitalsInput(
        taken_at=at, systolic=systolic, diastolic=diastolic, heart_rate=heart_rate, spo2=98
    )


def dose_for(appointment: Appointment, start: dt.datetime) -> IvDoseInput | NasalDoseInput:
    treatment = appointment.treatment_type
    if treatment.route == "nasal":
        times = tuple(start + n * 5 * MINUTE for n in range(2))
        return NasalDoseInput(device_times=times, total_mg=56)
    return IvDoseInput(
        infusion_starts_at=start,
        weight_kg=70,
        mg_per_kg=0.5,
        total_mg=35,
        infusion_ends_at=start + treatment.treatment_minutes * MINUTE,
    )


def to_treatment(session: Session, appointment_id: int, actor: Actor) -> dt.datetime:
    """Check in 20 minutes before the booked start, baseline, start on time; the start."""
    appointment = session.get(Appointment, appointment_id)
    start = appointment.starts_at
    status.check_in(
        session,
        appointment_id=appointment_id,
        actor=actor,
        now=start - 20 * MINUTE,
        escort_name="Sam Escort",
        escort_confirmed=True,
    )
    record.add_entry(
        session,
        appointment_id=appointment_id,
        entry=vitals(start - 10 * MINUTE),
        actor=actor,
        now=start - 10 * MINUTE,
    )
    status.start_treatment(session, appointment_id=appointment_id, actor=actor, now=start)
    return start


def walk_to_discharge(
    session: Session, appointment_id: int, actor: Actor, *, score: int = 10
) -> dt.datetime:
    """Everything discharge needs, recorded at realistic times; the earliest discharge."""
    start = to_treatment(session, appointment_id, actor)
    appointment = session.get(Appointment, appointment_id)
    treatment = appointment.treatment_type
    dose = dose_for(appointment, start + MINUTE)
    given = dose.infusion_ends_at if isinstance(dose, IvDoseInput) else max(dose.device_times)
    record.add_entry(
        session, appointment_id=appointment_id, entry=dose, actor=actor, now=given + MINUTE
    )
    for checkpoint in treatment.checkpoints:
        if checkpoint["at"] == "after_start":
            at = start + int(checkpoint["minutes"]) * MINUTE
            record.add_entry(
                session, appointment_id=appointment_id, entry=vitals(at), actor=actor, now=at
            )
    status.start_monitoring(
        session, appointment_id=appointment_id, actor=actor, now=given + 2 * MINUTE
    )
    ready = given + treatment.minimum_monitoring_minutes * MINUTE + MINUTE
    latest_timed = max(
        [start, *(start + int(c.get("minutes") or 0) * MINUTE for c in treatment.checkpoints)]
    )
    ready = max(ready, latest_timed + 20 * MINUTE)
    for entry in (
        vitals(ready - MINUTE),
        ObservationInput(taken_at=ready - MINUTE, sedation_level=5, dissociation_level=0),
        AssessmentInput(taken_at=ready - MINUTE, score=score),
    ):
        record.add_entry(
            session, appointment_id=appointment_id, entry=entry, actor=actor, now=ready
        )
    return ready


def prefill_ready_record(session: Session, appointment_id: int, at: dt.datetime) -> None:
    """World building for tests of the status steps themselves: the session's treatment type
    has no timed checkpoints and no minimum monitoring, and the record already holds a dose,
    a reading within the limits and a passing assessment, all at ``at`` (inserted directly,
    like ``add_session``: the record's own rules are not what those tests are about)."""
    from clinic.models import EntryKind, RecordEntry

    appointment = session.get(Appointment, appointment_id)
    treatment = appointment.treatment_type
    treatment.checkpoints = []
    treatment.min_monitoring_minutes = 0
    common = {"appointment_id": appointment_id, "taken_at": at, "recorded_by": "world"}
    if treatment.route == "nasal":
        dose = RecordEntry(
            kind=EntryKind.DOSE, devices=2, total_mg=56, device_times=[at.isoformat()] * 2, **common
        )
    else:
        dose = RecordEntry(
            kind=EntryKind.DOSE,
            weight_kg=70,
            mg_per_kg=0.5,
            total_mg=35,
            infusion_ends_at=at,
            **common,
        )
    session.add_all(
        [
            dose,
            RecordEntry(
                kind=EntryKind.VITALS, systolic=124, diastolic=78, heart_rate=72, spo2=98, **common
            ),
            RecordEntry(
                kind=EntryKind.ASSESSMENT, scale=treatment.discharge_scale, score=10, **common
            ),
        ]
    )
    session.commit()
