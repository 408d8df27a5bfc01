"""The independent validator (tests/unit/validator.py) agrees with the gates: discharges
through the services pass it, a discharge that skipped a gate is caught unless a nurse's
override is on record and in the audit trail."""

from __future__ import annotations

import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import Appointment, AppointmentStatus, AuditEvent, SessionRecord
from clinic.scheduling import status
from tests.monitoring.walk import MINUTE, to_treatment, walk_to_discharge
from tests.unit.validator import discharge_problems


def _problems(session) -> list[str]:
    session.commit()
    with db.engine.connect() as connection:
        return discharge_problems(connection)


def test_discharges_through_the_gates_pass_the_validator(session, clinic):
    for appointment_id in (clinic.iv_session(session, "09:00", n=0), clinic.nasal_session(session)):
        ready = walk_to_discharge(session, appointment_id, clinic.nurse)
        status.discharge(
            session,
            appointment_id=appointment_id,
            actor=clinic.nurse,
            now=ready,
            escort_confirmed=True,
        )
    assert _problems(session) == []


def test_a_discharge_that_skipped_the_gates_is_caught(session, clinic):
    appointment_id = clinic.iv_session(session)
    start = to_treatment(session, appointment_id, clinic.nurse)
    appointment = session.get(Appointment, appointment_id)
    # Straight past the service: no dose, no checkpoints, no assessment.
    appointment.status = AppointmentStatus.DISCHARGED
    appointment.discharged_at = start + 10 * MINUTE
    [problem] = _problems(session)
    assert problem.startswith(f"appointment {appointment_id}: discharged breaking dose")
    assert "checkpoints" in problem and "assessment" in problem


def test_an_override_passes_only_when_it_is_audited(session, clinic):
    appointment_id = clinic.iv_session(session)
    start = to_treatment(session, appointment_id, clinic.nurse)
    status.start_monitoring(
        session, appointment_id=appointment_id, actor=clinic.nurse, now=start + MINUTE
    )
    status.discharge(
        session,
        appointment_id=appointment_id,
        actor=clinic.nurse,
        now=start + 20 * MINUTE,
        escort_confirmed=True,
        override_reason="Prescriber reviewed; patient transferred by ambulance",
    )
    assert _problems(session) == []
    # An override row written without its audit event is caught.
    other = clinic.iv_session(session, "13:00", n=1)
    start = to_treatment(session, other, clinic.nurse)
    session.get(Appointment, other).status = AppointmentStatus.DISCHARGED
    session.get(Appointment, other).discharged_at = start + 30 * MINUTE
    record = session.scalar(sa.select(SessionRecord).where(SessionRecord.appointment_id == other))
    record.overridden_at = start + 30 * MINUTE
    record.override_reason = "no reason really"
    record.override_by_id = clinic.receptionist.user_id
    assert (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.entity_id == str(other),
                AuditEvent.action == "appointment.discharge_override",
            )
        )
        == 0
    )
    assert _problems(session) == [
        f"appointment {other}: discharge override not audited",
        f"appointment {other}: override not by a nurse or prescriber",
    ]
