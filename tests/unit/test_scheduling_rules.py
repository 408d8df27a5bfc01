"""Every hard rule refuses a breaking booking with a reason a receptionist can act on."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from clinic.models import Appointment, Certification
from clinic.scheduling import (
    ChairUnavailable,
    ClinicClosed,
    InThePast,
    MonitorUnavailable,
    OutsideOpeningHours,
    PatientUnavailable,
    PrescriberUnavailable,
    RemsNotEnrolled,
    SchedulingSettings,
    SlotChoice,
    SlotTaken,
    SpacingViolation,
    TreatmentUnavailable,
    book_series,
    book_session,
    plan_custom,
    preview_series,
)
from tests.builders import (
    ACTOR,
    NOW,
    World,
    add_shift,
    at,
    block_chair,
    build_clinic,
    close_day,
    make_staff,
    time_off,
)

TUESDAY = "2026-03-03"


@pytest.fixture
def clinic(session: Any) -> World:
    return build_clinic(session)


def book(
    session: Any, clinic: World, patient: int, when: dt.datetime, **kwargs: Any
) -> Appointment:
    kwargs.setdefault("treatment_type_id", clinic.iv.id)
    return book_session(
        session,
        patient_id=clinic.patients[patient].id,
        location_id=clinic.location.id,
        starts_at=when,
        actor=ACTOR,
        now=NOW,
        **kwargs,
    )


def live_count(session: Any) -> int:
    return session.scalar(sa.select(sa.func.count(Appointment.id)))


# --- chair ----------------------------------------------------------------------------------


def test_chair_out_of_service_is_refused(session, clinic):
    clinic.iv_chairs[0].active = False
    session.commit()
    with pytest.raises(ChairUnavailable, match=r"^Chair IV 1 is out of service\.$"):
        book(session, clinic, 0, at(TUESDAY, "09:00"), chair_id=clinic.iv_chairs[0].id)
    assert live_count(session) == 0


def test_chair_without_the_capability_is_refused(session, clinic):
    with pytest.raises(ChairUnavailable, match="Chair Nasal 1 cannot take IV ketamine infusion"):
        book(session, clinic, 0, at(TUESDAY, "09:00"), chair_id=clinic.nasal_chairs[0].id)


def test_blocked_chair_is_refused_with_the_blocks_reason(session, clinic):
    block_chair(session, clinic.iv_chairs[2], at(TUESDAY, "08:00"), at(TUESDAY, "14:00"), "repair")
    with pytest.raises(ChairUnavailable) as refused:
        book(session, clinic, 0, at(TUESDAY, "09:00"), chair_id=clinic.iv_chairs[2].id)
    assert refused.value.message == "Chair IV 3 is out of service (repair) until 14:00."
    # Free once the block ends.
    booked = book(session, clinic, 0, at(TUESDAY, "14:00"), chair_id=clinic.iv_chairs[2].id)
    assert booked.chair_id == clinic.iv_chairs[2].id


def test_chair_busy_window_includes_turnover(session, clinic):
    chair = clinic.iv_chairs[0].id
    first = book(session, clinic, 0, at(TUESDAY, "09:00"), chair_id=chair)
    assert first.busy_until == at(TUESDAY, "11:00")  # 15 prep + 45 + 45 monitoring + 15 turnover
    with pytest.raises(SlotTaken) as refused:
        book(session, clinic, 1, at(TUESDAY, "10:55"), chair_id=chair)
    assert refused.value.detail == "Chair IV 1 is booked from 09:00 to 11:00 (turnover included)."
    assert "just taken" in refused.value.message
    assert book(session, clinic, 1, at(TUESDAY, "11:00"), chair_id=chair).chair_id == chair


# --- monitor --------------------------------------------------------------------------------


def _certification(session: Any, staff_id: int, kind: str) -> Certification:
    return session.scalar(
        sa.select(Certification).where(
            Certification.staff_id == staff_id, Certification.kind == kind
        )
    )


def test_monitor_certification_expiring_before_the_session_is_refused(session, clinic):
    kim = clinic.nurses[0]
    _certification(session, kim.id, "ACLS").expires_on = dt.date(2026, 3, 4)
    session.commit()
    with pytest.raises(MonitorUnavailable) as refused:
        book(session, clinic, 0, at("2026-03-05", "09:00"), monitor_id=kim.id)
    assert refused.value.message == (
        "Nurse Maria Kim's ACLS expires on 4 March, before the session on 5 March."
    )
    # Still valid on the 4th itself.
    assert (
        book(session, clinic, 0, at("2026-03-04", "09:00"), monitor_id=kim.id).monitor_id == kim.id
    )


def test_monitor_missing_or_not_yet_valid_certification_is_refused(session, clinic):
    kim, okafor = clinic.nurses
    session.delete(_certification(session, kim.id, "KETAMINE_IV"))
    _certification(session, okafor.id, "RN").valid_from = dt.date(2026, 3, 10)
    session.commit()
    with pytest.raises(MonitorUnavailable, match="Nurse Maria Kim does not hold KETAMINE_IV"):
        book(session, clinic, 0, at(TUESDAY, "09:00"), monitor_id=kim.id)
    with pytest.raises(
        MonitorUnavailable, match="Nurse Daniel Okafor's RN is only valid from 10 March"
    ):
        book(session, clinic, 0, at(TUESDAY, "09:00"), monitor_id=okafor.id)


def test_monitor_must_be_on_shift_for_the_whole_window(session, clinic):
    lee = make_staff(session, "Jo Lee")
    session.commit()
    with pytest.raises(
        MonitorUnavailable, match=r"^Nurse Jo Lee is not on shift at Riverside on 3 March\.$"
    ):
        book(session, clinic, 0, at(TUESDAY, "09:00"), monitor_id=lee.id)
    add_shift(session, lee, clinic.location, at(TUESDAY, "08:00"), at(TUESDAY, "10:00"))
    with pytest.raises(MonitorUnavailable) as refused:
        book(session, clinic, 0, at(TUESDAY, "09:00"), monitor_id=lee.id)
    assert refused.value.message == (
        "Nurse Jo Lee's shift ends at 10:00, before the session would end at 10:45."
    )
    assert book(session, clinic, 0, at(TUESDAY, "08:00"), monitor_id=lee.id).monitor_id == lee.id


def test_monitor_on_time_off_is_refused(session, clinic):
    kim = clinic.nurses[0]
    time_off(session, kim, at(TUESDAY, "08:00"), at("2026-03-04", "18:00"), "annual leave")
    with pytest.raises(MonitorUnavailable) as refused:
        book(session, clinic, 0, at(TUESDAY, "09:00"), monitor_id=kim.id)
    assert refused.value.message == (
        "Nurse Maria Kim is off (annual leave) from 08:00 to 4 March 18:00."
    )


def test_monitor_over_the_patients_per_monitor_limit_is_refused(session, clinic):
    kim = clinic.nurses[0].id
    book(session, clinic, 0, at(TUESDAY, "09:00"), monitor_id=kim)
    book(session, clinic, 1, at(TUESDAY, "09:15"), monitor_id=kim)
    with pytest.raises(SlotTaken) as refused:
        book(session, clinic, 2, at(TUESDAY, "09:30"), monitor_id=kim)
    assert refused.value.detail == (
        "Nurse Maria Kim already monitors 2 patients at 09:30; the limit is 2 at a time."
    )
    # Once the first patient's monitoring ends (10:45) she can take another.
    assert book(session, clinic, 2, at(TUESDAY, "10:45"), monitor_id=kim).monitor_id == kim


def test_monitor_limit_of_a_stricter_running_session_holds(session, clinic):
    """An esketamine patient (3 per monitor) cannot join a nurse already at her IV limit."""
    kim = clinic.nurses[0].id
    book(session, clinic, 0, at(TUESDAY, "09:00"), monitor_id=kim)
    book(session, clinic, 1, at(TUESDAY, "09:15"), monitor_id=kim)
    with pytest.raises(SlotTaken) as refused:
        book(
            session,
            clinic,
            2,
            at(TUESDAY, "09:30"),
            monitor_id=kim,
            treatment_type_id=clinic.nasal.id,
        )
    assert "the limit is 2 at a time" in (refused.value.detail or "")


def test_monitor_starts_are_staggered_per_15_minutes(session, clinic):
    kim = clinic.nurses[0].id
    book(session, clinic, 0, at(TUESDAY, "09:00"), monitor_id=kim)
    with pytest.raises(SlotTaken) as refused:
        book(session, clinic, 1, at(TUESDAY, "09:10"), monitor_id=kim)
    assert refused.value.detail == (
        "Nurse Maria Kim already starts a session at 09:00; each nurse starts at most 1 in any "
        "15 minutes."
    )
    relaxed = SchedulingSettings(max_starts_per_monitor_per_15min=2)
    assert book(session, clinic, 1, at(TUESDAY, "09:10"), monitor_id=kim, settings=relaxed)


# --- prescriber -----------------------------------------------------------------------------


def test_prescriber_must_be_on_site_where_the_treatment_needs_one(session, clinic):
    assert clinic.prescriber is not None
    time_off(session, clinic.prescriber, at(TUESDAY, "06:00"), at(TUESDAY, "20:00"), "conference")
    with pytest.raises(PrescriberUnavailable) as refused:
        book(session, clinic, 0, at(TUESDAY, "09:00"), treatment_type_id=clinic.nasal.id)
    assert refused.value.message.startswith(
        "Esketamine nasal spray needs a prescriber on site; none is on shift for the whole "
        "session (09:00–11:25 on 3 March)."
    )
    # IV needs no prescriber.
    assert book(session, clinic, 0, at(TUESDAY, "09:00")).prescriber_id is None


def test_prescriber_is_recorded_on_sessions_that_need_one(session, clinic):
    booked = book(session, clinic, 0, at(TUESDAY, "09:00"), treatment_type_id=clinic.nasal.id)
    assert clinic.prescriber is not None
    assert booked.prescriber_id == clinic.prescriber.id


# --- patient --------------------------------------------------------------------------------


def test_patient_cannot_have_overlapping_sessions(session, clinic):
    book(session, clinic, 0, at(TUESDAY, "09:00"))
    with pytest.raises(SlotTaken) as refused:
        book(session, clinic, 0, at(TUESDAY, "10:30"), treatment_type_id=clinic.nasal.id)
    assert refused.value.detail == (
        "The patient already has a session on 3 March from 09:00 to 11:00 (chair turnover "
        "included)."
    )


def test_series_sessions_respect_the_minimum_spacing(session, clinic):
    plan = plan_custom(
        treatment_type_id=clinic.iv.id,
        location_id=clinic.location.id,
        first_date=dt.date(2026, 3, 3),
        count=2,
        weekdays=[1, 2],
        min_hours_between=24,
    )
    kim, okafor = (nurse.id for nurse in clinic.nurses)
    proposals = [
        SlotChoice(at(TUESDAY, "09:00"), clinic.iv_chairs[0].id, kim),
        SlotChoice(at("2026-03-04", "08:00"), clinic.iv_chairs[0].id, okafor),
    ]
    with pytest.raises(SpacingViolation) as refused:
        book_series(
            session,
            patient_id=clinic.patients[0].id,
            plan=plan,
            actor=ACTOR,
            now=NOW,
            proposals=proposals,
        )
    assert refused.value.message == (
        "Sessions of this series must be at least 24 h apart; the session on 3 March at 09:00 "
        "is only 23 h away."
    )
    assert live_count(session) == 0


def test_esketamine_needs_rems_enrollment_before_the_session(session, clinic):
    patient = clinic.patients[0]
    patient.rems_enrolled_on = None
    session.commit()
    with pytest.raises(
        RemsNotEnrolled, match="needs the patient's REMS enrollment; none is recorded"
    ):
        book(session, clinic, 0, at(TUESDAY, "09:00"), treatment_type_id=clinic.nasal.id)
    patient.rems_enrolled_on = dt.date(2026, 3, 10)
    session.commit()
    with pytest.raises(RemsNotEnrolled) as refused:
        book(session, clinic, 0, at(TUESDAY, "09:00"), treatment_type_id=clinic.nasal.id)
    assert refused.value.message == (
        "The patient's REMS enrollment starts on 10 March, after the session on 3 March."
    )


def test_inactive_patient_or_treatment_is_refused(session, clinic):
    clinic.patients[0].active = False
    session.commit()
    with pytest.raises(PatientUnavailable, match="inactive"):
        book(session, clinic, 0, at(TUESDAY, "09:00"))
    clinic.iv.active = False
    session.commit()
    with pytest.raises(TreatmentUnavailable, match="IV ketamine infusion is no longer offered"):
        book(session, clinic, 1, at(TUESDAY, "09:00"))


# --- time -----------------------------------------------------------------------------------


def test_session_must_lie_inside_opening_hours(session, clinic):
    with pytest.raises(OutsideOpeningHours) as refused:
        book(session, clinic, 0, at(TUESDAY, "17:00"))
    assert refused.value.message == (
        "A session from 17:00 to 18:45 on 3 March is outside the opening hours (08:00–18:00)."
    )
    with pytest.raises(OutsideOpeningHours, match=r"^The clinic is not open on Sundays\.$"):
        book(session, clinic, 0, at("2026-03-15", "10:00"))


def test_closure_day_is_refused_with_its_reason(session, clinic):
    close_day(session, clinic.location, dt.date(2026, 12, 25), "Christmas")
    with pytest.raises(ClinicClosed) as refused:
        book(session, clinic, 0, at("2026-12-25", "10:00"))
    assert refused.value.message == "The clinic is closed on 25 December (Christmas)."


def test_session_in_the_past_is_refused(session, clinic):
    with pytest.raises(InThePast) as refused:
        book(session, clinic, 0, at("2026-03-02", "06:30"))
    assert refused.value.message == "That time (06:30 on 2 March) has passed."


def test_preview_explains_an_unbookable_date_and_offers_the_nearest_alternatives(session, clinic):
    close_day(session, clinic.location, dt.date(2026, 3, 5), "staff training")
    plan = plan_custom(
        treatment_type_id=clinic.iv.id,
        location_id=clinic.location.id,
        first_date=dt.date(2026, 3, 3),
        count=3,
        weekdays=[1, 3],
    )
    preview = preview_series(session, patient_id=clinic.patients[0].id, plan=plan, now=NOW)
    second = preview.sessions[1]
    assert second.target_date == dt.date(2026, 3, 5)
    assert second.slot is None
    assert second.reason == "The clinic is closed on 5 March (staff training)."
    assert [alt.local_date for alt in second.alternatives] == [
        dt.date(2026, 3, 4),
        dt.date(2026, 3, 6),
        dt.date(2026, 3, 7),
    ]
    assert not preview.complete
    assert [proposed.slot is not None for proposed in preview.sessions] == [True, False, True]


def test_preview_reason_names_the_expired_certification(session, clinic):
    for nurse in clinic.nurses:
        _certification(session, nurse.id, "ACLS").expires_on = dt.date(2026, 3, 4)
    session.commit()
    plan = plan_custom(
        treatment_type_id=clinic.iv.id,
        location_id=clinic.location.id,
        first_date=dt.date(2026, 3, 5),
        count=1,
        weekdays=[3],
    )
    preview = preview_series(session, patient_id=clinic.patients[0].id, plan=plan, now=NOW)
    reason = preview.sessions[0].reason or ""
    assert reason.startswith("No one on shift on 5 March can monitor IV ketamine infusion.")
    assert "Nurse Maria Kim's ACLS expires on 4 March, before the session on 5 March." in reason
