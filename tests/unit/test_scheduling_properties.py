"""Property: whatever sequence of bookings, cancellations and reschedules receptionists try,
the schedule in the database keeps every hard rule (checked by the independent validator).

The world is full of traps: a chair out of service, a closure day, a nurse on leave, a
certification that runs out mid-fortnight, a nurse on a short shift, a patient without REMS
enrollment. Most random attempts are refused; the point is that none that breaks a rule
gets in, and that refusals are always domain errors.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clinic.models import Appointment, Certification, Shift
from clinic.scheduling import (
    SchedulingError,
    book_series,
    book_session,
    cancel,
    plan_custom,
    preview_series,
    reschedule,
)
from tests.builders import (
    ACTOR,
    NOW,
    World,
    at,
    block_chair,
    build_clinic,
    close_day,
    make_staff,
    time_off,
)

from .validator import problems

FIRST_DAY = dt.date(2026, 3, 3)
DAYS = 10
BOOKING_TABLES = ("notification", "audit_event", "appointment", "series")

day_offsets = st.integers(min_value=0, max_value=DAYS - 1)
minutes_of_day = st.integers(min_value=7 * 12, max_value=18 * 12).map(lambda k: k * 5)
scopes = st.sampled_from(["one", "following", "all"])

book_one = st.tuples(
    st.just("book_session"),
    st.integers(0, 5),  # patient
    st.booleans(),  # nasal?
    day_offsets,
    minutes_of_day,
    st.one_of(st.none(), st.integers(0, 4)),  # chair
    st.one_of(st.none(), st.integers(0, 3)),  # monitor
)
book_many = st.tuples(
    st.just("book_series"),
    st.integers(0, 5),
    st.booleans(),
    day_offsets,
    st.integers(1, 4),  # sessions
    st.sets(st.integers(0, 5), min_size=1, max_size=3),  # weekdays
    st.sampled_from([0, 24, 48]),  # minimum spacing
    st.one_of(st.none(), st.integers(8, 16)),  # preferred hour
)
move = st.tuples(
    st.just("reschedule"),
    st.integers(0, 40),  # which appointment
    st.integers(-36, 36).map(lambda k: k * 5),  # minutes
    st.integers(-2, 2),  # days
    scopes,
)
drop = st.tuples(st.just("cancel"), st.integers(0, 40), scopes)
operations = st.lists(st.one_of(book_one, book_many, move, drop), min_size=1, max_size=10)


def reset_bookings(session: Any) -> None:
    """Empty the booking tables between examples (TRUNCATE on PostgreSQL, whose audit trail
    refuses row deletes)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text(f"TRUNCATE {', '.join(BOOKING_TABLES)} RESTART IDENTITY CASCADE"))
    else:
        for table in BOOKING_TABLES:
            session.execute(sa.text(f"DELETE FROM {table}"))
    session.commit()


def set_traps(session: Any, clinic: World) -> None:
    block_chair(
        session, clinic.iv_chairs[1], at("2026-03-04", "07:00"), at("2026-03-05", "12:00"), "repair"
    )
    close_day(session, clinic.location, dt.date(2026, 3, 6), "training")
    time_off(
        session, clinic.nurses[1], at("2026-03-09", "00:00"), at("2026-03-11", "00:00"), "leave"
    )
    acls = session.scalar(
        sa.select(Certification).where(
            Certification.staff_id == clinic.nurses[0].id, Certification.kind == "ACLS"
        )
    )
    acls.expires_on = dt.date(2026, 3, 7)
    short = make_staff(session, "Sam Short")
    for offset in range(DAYS):
        day = (FIRST_DAY + dt.timedelta(days=offset)).isoformat()
        session.add(
            Shift(
                staff=short,
                location=clinic.location,
                starts_at=at(day, "10:00"),
                ends_at=at(day, "12:30"),
            )
        )
    clinic.nurses.append(short)
    clinic.patients[3].rems_enrolled_on = None
    clinic.patients[4].rems_enrolled_on = dt.date(2026, 3, 8)
    session.commit()


def apply(session: Any, clinic: World, operation: tuple[Any, ...]) -> None:
    kind = operation[0]
    ids = session.scalars(sa.select(Appointment.id).order_by(Appointment.id)).all()
    if kind == "book_session":
        _, patient, nasal, offset, minute, chair, monitor = operation
        chairs = clinic.nasal_chairs + clinic.iv_chairs
        day = FIRST_DAY + dt.timedelta(days=offset)
        book_session(
            session,
            patient_id=clinic.patients[patient].id,
            treatment_type_id=(clinic.nasal if nasal else clinic.iv).id,
            location_id=clinic.location.id,
            starts_at=at(day, f"{minute // 60:02d}:{minute % 60:02d}"),
            chair_id=None if chair is None else chairs[chair].id,
            monitor_id=None if monitor is None else clinic.nurses[monitor].id,
            actor=ACTOR,
            now=NOW,
        )
    elif kind == "book_series":
        _, patient, nasal, offset, count, weekdays, spacing, hour = operation
        plan = plan_custom(
            treatment_type_id=(clinic.nasal if nasal else clinic.iv).id,
            location_id=clinic.location.id,
            first_date=FIRST_DAY + dt.timedelta(days=offset),
            count=count,
            weekdays=sorted(weekdays),
            min_hours_between=spacing,
            preferred_start=None if hour is None else dt.time(hour),
            preferred_end=None if hour is None else dt.time(hour, 30),
        )
        patient_id = clinic.patients[patient].id
        preview = preview_series(session, patient_id=patient_id, plan=plan, now=NOW)
        chosen = [
            p.slot or (p.alternatives[0] if p.alternatives else None) for p in preview.sessions
        ]
        proposals = [slot for slot in chosen if slot is not None]
        if proposals:
            book_series(
                session, patient_id=patient_id, plan=plan, actor=ACTOR, now=NOW, proposals=proposals
            )
    elif kind == "reschedule" and ids:
        _, pick, minutes, days, scope = operation
        appointment = session.get(Appointment, ids[pick % len(ids)])
        reschedule(
            session,
            appointment_id=appointment.id,
            new_starts_at=appointment.starts_at + dt.timedelta(days=days, minutes=minutes),
            scope=scope,
            actor=ACTOR,
            now=NOW,
        )
    elif kind == "cancel" and ids:
        _, pick, scope = operation
        cancel(
            session,
            appointment_id=ids[pick % len(ids)],
            scope=scope,
            reason="property test",
            actor=ACTOR,
            now=NOW,
        )


@pytest.fixture
def world(session: Any) -> World:
    clinic = build_clinic(session, iv_chairs=3, nasal_chairs=2, nurses=3, patients=6)
    set_traps(session, clinic)
    return clinic


@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=operations)
def test_random_booking_sequences_never_break_a_rule(session, world, steps):
    reset_bookings(session)
    outcomes = []
    for operation in steps:
        try:
            apply(session, world, operation)
            outcomes.append("ok")
        except SchedulingError as refused:
            assert refused.message  # a refusal always says why
            outcomes.append(type(refused).__name__)
    # End the session's read transaction: on SQLite it holds the write lock.
    session.rollback()
    with session.get_bind().connect() as connection:
        found = problems(connection)
    assert found == [], (steps, outcomes)
