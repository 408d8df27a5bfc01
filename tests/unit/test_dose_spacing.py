"""Dose spacing across everything a patient has booked (issue 12, points 1 and 2).

Two doses of one patient start at least the larger of their treatment types' spacings apart
(IV 24 h, esketamine 48 h), whatever their series, type or location; a series keeps the
spacing it was planned with. Each test books through the real services on a real database
and checks what was (not) written.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from clinic.models import Appointment, Series, Shift
from clinic.scheduling import (
    DoseSpacingViolation,
    RuleViolation,
    SlotChoice,
    SpacingViolation,
    book_series,
    book_session,
    plan_custom,
    plan_from_protocol,
    preview_series,
    reschedule,
)
from tests.builders import (
    ACTOR,
    NOW,
    World,
    at,
    build_clinic,
    make_chair,
    make_location,
    make_staff,
)

from .querycount import recorded_statements

HOUR = dt.timedelta(hours=1)


@pytest.fixture
def clinic(session: Any) -> World:
    return build_clinic(session, iv_chairs=3, nurses=3)


def count_appointments(session: Any) -> int:
    return int(session.scalar(sa.select(sa.func.count()).select_from(Appointment)) or 0)


def book_one(
    session: Any, clinic: World, when: dt.datetime, *, patient: int = 0, nasal: bool = False
) -> Appointment:
    return book_session(
        session,
        patient_id=clinic.patients[patient].id,
        treatment_type_id=(clinic.nasal if nasal else clinic.iv).id,
        location_id=clinic.location.id,
        starts_at=when,
        actor=ACTOR,
        now=NOW,
    )


def iv_series(session: Any, clinic: World, first: str = "2026-03-03", patient: int = 0) -> Any:
    plan = plan_from_protocol(
        session,
        protocol_id=clinic.iv_protocol.id,
        location_id=clinic.location.id,
        first_date=dt.date.fromisoformat(first),
    )
    return book_series(
        session, patient_id=clinic.patients[patient].id, plan=plan, actor=ACTOR, now=NOW
    )


def test_a_second_infusion_the_same_day_is_refused_naming_the_first(session, clinic):
    book_one(session, clinic, at("2026-03-03", "09:00"))
    with pytest.raises(DoseSpacingViolation) as refused:
        book_one(session, clinic, at("2026-03-03", "11:45"))
    assert refused.value.message == (
        "Pat1 already has an IV ketamine infusion at 09:00 on Tue 3 Mar; doses must be at "
        "least 24 h apart and this one would be 2 h 45 min away."
    )
    assert refused.value.status == 422
    assert count_appointments(session) == 1


def test_another_patient_may_have_the_slot(session, clinic):
    book_one(session, clinic, at("2026-03-03", "09:00"))
    assert book_one(session, clinic, at("2026-03-03", "11:45"), patient=1).id


def test_an_infusion_a_full_day_later_is_booked(session, clinic):
    book_one(session, clinic, at("2026-03-03", "09:00"))
    assert book_one(session, clinic, at("2026-03-04", "09:00")).id
    with pytest.raises(DoseSpacingViolation):
        book_one(session, clinic, at("2026-03-04", "08:55"))


def test_esketamine_after_an_infusion_keeps_the_longer_spacing(session, clinic):
    # IV asks 24 h, esketamine 48 h: both are ketamine, so the pair keeps 48 h.
    book_one(session, clinic, at("2026-03-03", "09:00"))
    with pytest.raises(DoseSpacingViolation) as refused:
        book_one(session, clinic, at("2026-03-04", "14:00"), nasal=True)
    assert "at least 48 h apart" in refused.value.message
    assert "IV ketamine infusion at 09:00 on Tue 3 Mar" in refused.value.message
    # And the other way round: the infusion before the nasal dose counts the same.
    assert book_one(session, clinic, at("2026-03-05", "09:00"), nasal=True).id
    assert count_appointments(session) == 2


def test_a_treatment_that_gives_no_dose_is_not_counted(session, clinic):
    clinic.nasal.min_hours_between_doses = 0
    session.commit()
    book_one(session, clinic, at("2026-03-03", "09:00"))
    assert book_one(session, clinic, at("2026-03-03", "12:00"), nasal=True).id


def test_a_second_series_never_proposes_a_slot_too_close_to_the_first(session, clinic):
    first = iv_series(session, clinic)
    booked = sorted(a.starts_at for a in first.appointments)
    plan = plan_custom(
        treatment_type_id=clinic.iv.id,
        location_id=clinic.location.id,
        first_date=dt.date(2026, 3, 3),
        count=6,
        weekdays=[0, 1, 2, 3, 4],
    )
    preview = preview_series(session, patient_id=clinic.patients[0].id, plan=plan, now=NOW)
    offered = [
        slot
        for proposed in preview.sessions
        for slot in ([proposed.slot] if proposed.slot else []) + list(proposed.alternatives)
    ]
    assert offered, "the preview offered nothing at all"
    for slot in offered:
        assert all(abs(slot.starts_at - other) >= 24 * HOUR for other in booked), slot
    # Dates the first series already doses on cannot be met, and the reason names its dose.
    blocked = [p for p in preview.sessions if p.slot is None]
    assert blocked, "every date of the second series was met next to the first"
    assert all("Pat1 already has an IV ketamine infusion" in (p.reason or "") for p in blocked)


def test_booking_a_second_series_without_a_preview_is_refused_and_writes_nothing(session, clinic):
    iv_series(session, clinic)
    before = count_appointments(session)
    with pytest.raises(RuleViolation) as refused:
        iv_series(session, clinic)
    assert refused.value.message.startswith(
        "Session 1 on 3 March cannot be booked: Pat1 already has an IV ketamine infusion at "
    )
    assert count_appointments(session) == before
    assert session.scalar(sa.select(sa.func.count()).select_from(Series)) == 1


def test_accepted_proposals_too_close_to_another_series_are_refused(session, clinic):
    first = iv_series(session, clinic)
    dose = first.appointments[0]
    plan = plan_custom(
        treatment_type_id=clinic.nasal.id,
        location_id=clinic.location.id,
        first_date=dose.starts_at.date(),
        count=1,
        weekdays=[dose.starts_at.weekday()],
    )
    choice = SlotChoice(
        starts_at=dose.starts_at + 4 * HOUR,
        chair_id=clinic.nasal_chairs[0].id,
        monitor_id=clinic.nurses[1].id,
    )
    with pytest.raises(DoseSpacingViolation):
        book_series(
            session,
            patient_id=clinic.patients[0].id,
            plan=plan,
            actor=ACTOR,
            now=NOW,
            proposals=[choice],
        )


def test_rescheduling_next_to_another_series_dose_is_refused(session, clinic):
    series = iv_series(session, clinic)
    single = book_one(session, clinic, at("2026-03-27", "10:00"))
    first = series.appointments[0]
    with pytest.raises(DoseSpacingViolation) as refused:
        reschedule(
            session,
            appointment_id=single.id,
            new_starts_at=first.starts_at + 3 * HOUR,
            scope="one",
            actor=ACTOR,
            now=NOW,
        )
    assert "Pat1 already has an IV ketamine infusion" in refused.value.message
    session.expire_all()
    assert session.get(Appointment, single.id).starts_at == at("2026-03-27", "10:00")


def test_a_dose_at_another_location_counts(session, clinic):
    uptown = make_location(
        session, name="Uptown", hours={d: (dt.time(8), dt.time(18)) for d in range(5)}
    )
    chair = make_chair(session, uptown, "U1")
    nurse = make_staff(session, "Uptown Nurse")
    session.add(
        Shift(
            staff=nurse,
            location=uptown,
            starts_at=at("2026-03-03", "07:30"),
            ends_at=at("2026-03-03", "18:00"),
        )
    )
    session.commit()
    book_one(session, clinic, at("2026-03-03", "09:00"))
    with pytest.raises(DoseSpacingViolation) as refused:
        book_session(
            session,
            patient_id=clinic.patients[0].id,
            treatment_type_id=clinic.iv.id,
            location_id=uptown.id,
            starts_at=at("2026-03-03", "15:00"),
            chair_id=chair.id,
            actor=ACTOR,
            now=NOW,
        )
    assert refused.value.message.startswith(
        "Pat1 already has an IV ketamine infusion at 09:00 on Tue 3 Mar at another location;"
    )


def test_the_preview_still_loads_its_world_in_the_same_queries(session, clinic):
    """The patient's other sessions everywhere come with the bulk load, not per slot."""
    iv_series(session, clinic, first="2026-03-02")
    plan = plan_custom(
        treatment_type_id=clinic.iv.id,
        location_id=clinic.location.id,
        first_date=dt.date(2026, 3, 3),
        count=6,
        weekdays=[1, 3],
    )
    session.commit()
    patient_ids = [clinic.patients[0].id, clinic.patients[1].id]
    counts = []
    for patient_id in patient_ids:
        with recorded_statements(session.get_bind()) as statements:
            preview_series(session, patient_id=patient_id, plan=plan, now=NOW)
        session.rollback()
        counts.append(len([s for s in statements if not s.startswith("BEGIN")]))
    assert counts[0] == counts[1] <= 7


# --- a series keeps its planned spacing (point 2) ---------------------------------------


def test_a_custom_series_stores_and_keeps_its_planned_spacing(session, clinic):
    plan = plan_custom(
        treatment_type_id=clinic.iv.id,
        location_id=clinic.location.id,
        first_date=dt.date(2026, 3, 3),
        count=3,
        weekdays=[1, 4],  # Tuesday and Friday: 72 h apart
        min_hours_between=72,
    )
    series = book_series(session, patient_id=clinic.patients[0].id, plan=plan, actor=ACTOR, now=NOW)
    assert series.min_hours_between == 72
    tuesday, friday = series.appointments[0], series.appointments[1]
    # Thursday is 48 h after Tuesday: fine for dose spacing (24 h), not for the plan (72 h).
    with pytest.raises(SpacingViolation) as refused:
        reschedule(
            session,
            appointment_id=friday.id,
            new_starts_at=tuesday.starts_at + 48 * HOUR,
            scope="one",
            actor=ACTOR,
            now=NOW,
        )
    assert "at least 72 h apart" in refused.value.message


def test_a_protocol_series_keeps_its_spacing_when_the_protocol_changes(session, clinic):
    # Booked at 24 h (Tue, Thu, Sat, ...); the protocol is then tightened to 72 h. The series
    # keeps what it was planned with: moving Saturday's session to Friday is still fine.
    series = iv_series(session, clinic)
    assert series.min_hours_between == 24
    clinic.iv_protocol.min_hours_between = 72
    session.commit()
    second, third = series.appointments[1], series.appointments[2]
    (moved,) = reschedule(
        session,
        appointment_id=third.id,
        new_starts_at=second.starts_at + 24 * HOUR,
        scope="one",
        actor=ACTOR,
        now=NOW,
    )
    assert moved.starts_at == second.starts_at + 24 * HOUR


# --- concurrency: two receptionists, two series, one patient ---------------------------


def test_two_series_for_one_patient_booked_at_once_at_two_locations_let_one_through(app):
    """Riverside and Uptown take different location-day locks and the sessions do not
    overlap, so only the patient's own lock (PostgreSQL) or the write lock (SQLite) keeps
    the second booking from missing the first. Four rounds, a fresh patient each."""
    from clinic.extensions import db
    from tests.builders import make_patient

    from .test_scheduling_concurrency import race

    with app.app_context():
        clinic = build_clinic(db.session, iv_chairs=2, nurses=2, patients=1)
        uptown = make_location(
            db.session, name="Uptown", hours={d: (dt.time(8), dt.time(18)) for d in range(5)}
        )
        uptown_chair = make_chair(db.session, uptown, "U1")
        uptown_nurse = make_staff(db.session, "Uptown Nurse")
        rounds = []
        for week in range(4):
            tuesday = dt.date(2026, 3, 3) + dt.timedelta(weeks=week)
            thursday = tuesday + dt.timedelta(days=2)
            for day in (tuesday, thursday):
                db.session.add(
                    Shift(
                        staff=uptown_nurse,
                        location=uptown,
                        starts_at=at(day, "07:30"),
                        ends_at=at(day, "18:00"),
                    )
                )
            rounds.append((make_patient(db.session, 700 + week), tuesday, thursday))
        db.session.commit()
        here = (clinic.location.id, clinic.iv_chairs[0].id, clinic.nurses[0].id, "09:00")
        there = (uptown.id, uptown_chair.id, uptown_nurse.id, "14:00")
        iv = clinic.iv.id
        rounds = [(patient.id, tuesday, thursday) for patient, tuesday, thursday in rounds]

    def attempt(patient_id: int, days: tuple[dt.date, dt.date], where: tuple) -> Any:
        location_id, chair_id, nurse_id, hhmm = where
        plan = plan_custom(
            treatment_type_id=iv,
            location_id=location_id,
            first_date=days[0],
            count=2,
            weekdays=[d.weekday() for d in days],
        )
        proposals = [
            SlotChoice(starts_at=at(day, hhmm), chair_id=chair_id, monitor_id=nurse_id)
            for day in days
        ]
        return lambda session: book_series(
            session, patient_id=patient_id, plan=plan, actor=ACTOR, now=NOW, proposals=proposals
        )

    for patient_id, tuesday, thursday in rounds:
        outcomes = race(
            app,
            [
                attempt(patient_id, (tuesday, thursday), here),
                attempt(patient_id, (tuesday, thursday), there),
            ],
        )
        assert outcomes.count("booked") == 1, outcomes
        (lost,) = [outcome for outcome in outcomes if outcome != "booked"]
        assert lost.startswith("DoseSpacingViolation(") and "already has an IV" in lost, lost
        with app.app_context():
            starts = db.session.scalars(
                sa.select(Appointment.starts_at).where(Appointment.patient_id == patient_id)
            ).all()
        assert len(starts) == 2
