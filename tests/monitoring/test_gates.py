"""The gates on the day: each refuses and says why, and the override is the one way past."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from clinic.models import (
    Appointment,
    AppointmentStatus,
    AuditEvent,
    Notification,
    NotificationKind,
    NotificationStatus,
    SessionRecord,
)
from clinic.monitoring import record
from clinic.monitoring.errors import DischargeRefused, OverrideRefused, TreatmentStartRefused
from clinic.monitoring.inputs import AssessmentInput
from clinic.notify.outbox import ReminderSettings, enqueue_booking
from clinic.scheduling import status
from tests.builders import TODAY
from tests.monitoring.walk import MINUTE, to_treatment, vitals, walk_to_discharge


def _check_in(session, clinic, appointment_id, now):
    status.check_in(session, appointment_id=appointment_id, actor=clinic.nurse, now=now)


def test_treatment_cannot_start_more_than_30_minutes_early(session, clinic):
    appointment_id = clinic.iv_session(session, "10:00")
    start = clinic.world.at(TODAY, "10:00")
    _check_in(session, clinic, appointment_id, start - 45 * MINUTE)
    with pytest.raises(TreatmentStartRefused, match=r"from 09:30 at the earliest \(30 minutes"):
        status.start_treatment(
            session, appointment_id=appointment_id, actor=clinic.nurse, now=start - 31 * MINUTE
        )
    session.rollback()
    assert session.get(Appointment, appointment_id).status == AppointmentStatus.CHECKED_IN
    status.start_treatment(
        session, appointment_id=appointment_id, actor=clinic.nurse, now=start - 30 * MINUTE
    )
    record_row = session.scalar(sa.select(SessionRecord))
    assert record_row.treatment_started_at == start - 30 * MINUTE


def test_the_early_start_window_is_the_treatment_types_setting(session, clinic):
    clinic.world.iv.start_early_minutes = 10
    session.commit()
    appointment_id = clinic.iv_session(session, "10:00")
    start = clinic.world.at(TODAY, "10:00")
    _check_in(session, clinic, appointment_id, start - 45 * MINUTE)
    with pytest.raises(TreatmentStartRefused, match="09:50"):
        status.start_treatment(
            session, appointment_id=appointment_id, actor=clinic.nurse, now=start - 20 * MINUTE
        )


def test_an_early_start_is_refused_while_the_chair_is_still_taken(session, clinic):
    chair = clinic.world.chairs[0]
    first = clinic.iv_session(session, "08:00", n=0, chair=chair)
    # The first session's chair is busy until 10:00; the second is booked right after.
    second = clinic.iv_session(session, "10:00", n=1, chair=chair)
    to_treatment(session, first, clinic.nurse)
    now = clinic.world.at(TODAY, "09:40")
    _check_in(session, clinic, second, now)
    with pytest.raises(TreatmentStartRefused, match="Chair IV 1 is still taken"):
        status.start_treatment(session, appointment_id=second, actor=clinic.nurse, now=now)


def test_an_early_start_is_refused_when_the_monitor_would_watch_too_many(session, clinic):
    # IV: two patients per nurse. Two sessions before 10:00 are still being monitored.
    world = clinic.world
    for n, hhmm in ((0, "08:30"), (1, "08:40")):
        clinic.iv_session(session, hhmm, n=n, chair=world.chairs[n], monitor=world.nurses[0])
    third = clinic.iv_session(session, "10:00", n=2, chair=world.chairs[2], monitor=world.nurses[0])
    now = world.at(TODAY, "09:45")
    for appointment in session.scalars(sa.select(Appointment).where(Appointment.id != third)):
        appointment.status = AppointmentStatus.MONITORING
    session.commit()
    _check_in(session, clinic, third, now)
    with pytest.raises(TreatmentStartRefused, match="already watches 2 patient"):
        status.start_treatment(session, appointment_id=third, actor=clinic.nurse, now=now)
    session.rollback()
    status.start_treatment(
        session, appointment_id=third, actor=clinic.nurse, now=world.at(TODAY, "10:00")
    )


def test_check_in_withdraws_the_pending_reminders(session, clinic):
    appointment_id = clinic.iv_session(session, "18:00")
    appointment = session.get(Appointment, appointment_id)
    booked_at = clinic.world.at(TODAY - dt.timedelta(days=3), "09:00")
    enqueue_booking(
        session, [appointment], now=booked_at, settings=ReminderSettings(email_hours=(24, 2))
    )
    session.commit()
    _check_in(session, clinic, appointment_id, clinic.world.at(TODAY, "15:00"))
    reminders = session.scalars(
        sa.select(Notification).where(Notification.kind == NotificationKind.REMINDER)
    ).all()
    assert {r.status for r in reminders if r.due_at > clinic.world.at(TODAY, "15:00")} == {
        NotificationStatus.WITHDRAWN
    }
    assert any(r.status == NotificationStatus.WITHDRAWN for r in reminders)


def test_discharge_names_every_unmet_condition_and_changes_nothing(session, clinic):
    appointment_id = clinic.iv_session(session)
    start = to_treatment(session, appointment_id, clinic.nurse)
    status.start_monitoring(
        session, appointment_id=appointment_id, actor=clinic.nurse, now=start + 5 * MINUTE
    )
    session.get(Appointment, appointment_id).escort_confirmed_at = None
    session.commit()
    with pytest.raises(DischargeRefused) as refused:
        status.discharge(
            session,
            appointment_id=appointment_id,
            actor=clinic.nurse,
            now=start + 50 * MINUTE,
            escort_confirmed=False,
        )
    conditions = refused.value.conditions
    assert conditions == [
        "No dose is recorded",
        'The vitals checkpoint "15 min" is not recorded',
        'The vitals checkpoint "30 min" is not recorded',
        'The vitals checkpoint "End of infusion" is not recorded',
        'The vitals checkpoint "Before discharge" is not recorded',
        "No discharge assessment (Modified Aldrete) is recorded",
        "Confirm that the escort is here to take the patient home, by name",
    ]
    assert "No dose is recorded." in refused.value.message
    session.rollback()
    assert session.get(Appointment, appointment_id).status == AppointmentStatus.MONITORING


def test_a_complete_record_discharges(session, clinic):
    appointment_id = clinic.iv_session(session)
    ready = walk_to_discharge(session, appointment_id, clinic.nurse)
    status.discharge(
        session,
        appointment_id=appointment_id,
        actor=clinic.nurse,
        now=ready,
        escort_confirmed=True,
    )
    appointment = session.get(Appointment, appointment_id)
    assert appointment.status == AppointmentStatus.DISCHARGED
    assert appointment.discharge_override_reason is None
    assert session.scalar(sa.select(SessionRecord)).override_conditions is None


def test_esketamine_needs_two_hours_since_the_dose(session, clinic):
    appointment_id = clinic.nasal_session(session)
    ready = walk_to_discharge(session, appointment_id, clinic.nurse)
    with pytest.raises(DischargeRefused) as refused:
        status.discharge(
            session,
            appointment_id=appointment_id,
            actor=clinic.nurse,
            now=ready - 30 * MINUTE,
            escort_confirmed=True,
        )
    [condition] = [c for c in refused.value.conditions if c.startswith("Monitoring")]
    assert "Esketamine nasal spray needs at least 120" in condition
    session.rollback()
    status.discharge(
        session, appointment_id=appointment_id, actor=clinic.nurse, now=ready, escort_confirmed=True
    )
    assert session.get(Appointment, appointment_id).status == AppointmentStatus.DISCHARGED


def test_last_vitals_outside_the_discharge_limits_are_named(session, clinic):
    appointment_id = clinic.iv_session(session)
    ready = walk_to_discharge(session, appointment_id, clinic.nurse)
    record.add_entry(
        session,
        appointment_id=appointment_id,
        entry=vitals(ready, systolic=172, diastolic=104, heart_rate=118),
        actor=clinic.nurse,
        now=ready,
    )
    with pytest.raises(DischargeRefused) as refused:
        status.discharge(
            session,
            appointment_id=appointment_id,
            actor=clinic.nurse,
            now=ready,
            escort_confirmed=True,
        )
    assert refused.value.conditions == [
        "The last blood pressure 172/104 is above 160 systolic (the discharge limit)",
        "The last blood pressure 172/104 is above 100 diastolic (the discharge limit)",
        "The last heart rate 118 is above 110 (the discharge limit)",
    ]


def test_a_low_assessment_score_is_refused(session, clinic):
    appointment_id = clinic.iv_session(session)
    ready = walk_to_discharge(session, appointment_id, clinic.nurse, score=8)
    with pytest.raises(
        DischargeRefused, match="Modified Aldrete score is 8; discharge needs at least 9"
    ):
        status.discharge(
            session,
            appointment_id=appointment_id,
            actor=clinic.nurse,
            now=ready,
            escort_confirmed=True,
        )
    session.rollback()
    record.add_entry(
        session,
        appointment_id=appointment_id,
        entry=AssessmentInput(taken_at=ready, score=9),
        actor=clinic.nurse,
        now=ready,
    )
    status.discharge(
        session, appointment_id=appointment_id, actor=clinic.nurse, now=ready, escort_confirmed=True
    )


def test_the_escort_must_be_named_not_just_ticked(session, clinic):
    appointment_id = clinic.iv_session(session)
    ready = walk_to_discharge(session, appointment_id, clinic.nurse)
    appointment = session.get(Appointment, appointment_id)
    appointment.escort_name = None
    appointment.escort_confirmed_at = None
    appointment.patient.escort_name = None
    session.commit()
    with pytest.raises(DischargeRefused, match="escort is here to take the patient home, by name"):
        status.discharge(
            session,
            appointment_id=appointment_id,
            actor=clinic.nurse,
            now=ready,
            escort_confirmed=True,
        )
    session.rollback()
    status.discharge(
        session,
        appointment_id=appointment_id,
        actor=clinic.nurse,
        now=ready,
        escort_confirmed=True,
        escort_name="Jo Walker",
    )
    assert session.get(Appointment, appointment_id).escort_name == "Jo Walker"


def test_an_override_needs_a_nurse_and_a_reason_and_is_kept_and_audited(session, clinic):
    appointment_id = clinic.iv_session(session)
    start = to_treatment(session, appointment_id, clinic.nurse)
    status.start_monitoring(
        session, appointment_id=appointment_id, actor=clinic.nurse, now=start + 5 * MINUTE
    )
    now = start + 20 * MINUTE
    with pytest.raises(OverrideRefused, match="Only a nurse or a prescriber"):
        status.discharge(
            session,
            appointment_id=appointment_id,
            actor=clinic.receptionist,
            now=now,
            escort_confirmed=True,
            override_reason="Patient insists on leaving",
        )
    session.rollback()
    assert session.get(Appointment, appointment_id).status == AppointmentStatus.MONITORING
    status.discharge(
        session,
        appointment_id=appointment_id,
        actor=clinic.nurse,
        now=now,
        escort_confirmed=True,
        override_reason="Patient left against advice; prescriber informed",
    )
    appointment = session.get(Appointment, appointment_id)
    kept = session.scalar(sa.select(SessionRecord))
    assert appointment.status == AppointmentStatus.DISCHARGED
    assert kept.override_reason == "Patient left against advice; prescriber informed"
    assert kept.override_by == "nurse-record" and kept.overridden_at == now
    assert "No dose is recorded" in kept.override_conditions
    [event] = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "appointment.discharge_override")
    ).all()
    assert event.username == "nurse-record" and "advice" not in event.summary
