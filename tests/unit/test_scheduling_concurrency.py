"""Concurrent receptionists never double-book: threads on separate connections race for
overlapping slots; exactly the capacity is booked and every loser is told the slot was taken.

PostgreSQL runs 32 threads (advisory locks + exclusion constraints); SQLite runs 8 (BEGIN
IMMEDIATE), and no "database is locked" may escape.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from clinic.database import configure_engine
from clinic.extensions import db
from clinic.models import Shift
from clinic.scheduling import SlotTaken, book_session
from tests.builders import (
    ACTOR,
    NOW,
    World,
    at,
    build_clinic,
    make_chair,
    make_location,
    make_patient,
    make_staff,
)

from .validator import overlapping_pairs, problems

TUESDAY = "2026-03-03"


def thread_count(app: Flask) -> int:
    with app.app_context():
        return 32 if db.engine.dialect.name == "postgresql" else 8


def race(app: Flask, attempts: list[Callable[[Session], Any]]) -> list[str]:
    """Run every attempt in its own thread and connection, released together by a barrier.
    Returns "booked", "taken" or the repr of any other exception, per attempt."""
    with app.app_context():
        url = db.engine.url
    engine = sa.create_engine(url, poolclass=NullPool)
    configure_engine(engine)
    barrier = threading.Barrier(len(attempts))
    outcomes: list[str] = [""] * len(attempts)

    def run(index: int) -> None:
        with Session(engine) as session:
            barrier.wait()
            try:
                attempts[index](session)
                outcomes[index] = "booked"
            except SlotTaken:
                outcomes[index] = "taken"
            except Exception as error:  # noqa: BLE001 - the test reports anything else
                outcomes[index] = repr(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(attempts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    engine.dispose()
    return outcomes


def check_database(app: Flask) -> None:
    with app.app_context(), db.engine.connect() as connection:
        assert overlapping_pairs(connection, "chair_id") == 0
        assert overlapping_pairs(connection, "patient_id") == 0
        assert problems(connection) == []


@dataclass(frozen=True)
class Ids:
    """The ids the threads need (ORM objects stay with the session that loaded them)."""

    location: int
    iv: int
    iv_chairs: list[int]
    nurses: list[int]
    patients: list[int]


@pytest.fixture
def crowded(app: Flask) -> Ids:
    with app.app_context():
        clinic: World = build_clinic(db.session, iv_chairs=6, nurses=3, patients=thread_count(app))
        return Ids(
            location=clinic.location.id,
            iv=clinic.iv.id,
            iv_chairs=[chair.id for chair in clinic.iv_chairs],
            nurses=[nurse.id for nurse in clinic.nurses],
            patients=[patient.id for patient in clinic.patients],
        )


def test_racing_for_one_chair_books_it_once(app: Flask, crowded: Ids) -> None:
    n = thread_count(app)
    chair = crowded.iv_chairs[0]

    def attempt(i: int) -> Callable[[Session], Any]:
        # Starts 09:00..09:15: every pair overlaps on the chair.
        when = at(TUESDAY, "09:00") + dt.timedelta(minutes=5 * (i % 4))
        return lambda session: book_session(
            session,
            patient_id=crowded.patients[i],
            treatment_type_id=crowded.iv,
            location_id=crowded.location,
            starts_at=when,
            chair_id=chair,
            actor=ACTOR,
            now=NOW,
        )

    outcomes = race(app, [attempt(i) for i in range(n)])
    assert outcomes.count("booked") == 1, outcomes
    assert outcomes.count("taken") == n - 1, outcomes
    check_database(app)


def test_racing_for_any_chair_at_one_time_books_the_monitor_capacity(app, crowded):
    """Six chairs but three nurses who may each start one session per 15 minutes: three."""
    n = thread_count(app)

    def attempt(i: int) -> Callable[[Session], Any]:
        return lambda session: book_session(
            session,
            patient_id=crowded.patients[i],
            treatment_type_id=crowded.iv,
            location_id=crowded.location,
            starts_at=at(TUESDAY, "09:00"),
            actor=ACTOR,
            now=NOW,
        )

    outcomes = race(app, [attempt(i) for i in range(n)])
    assert outcomes.count("booked") == 3, outcomes
    assert outcomes.count("taken") == n - 3, outcomes
    check_database(app)


def test_racing_for_one_nurse_keeps_her_under_the_patient_limit(app, crowded):
    """One nurse, staggered starts 15 minutes apart over two hours: never over two at once."""
    n = thread_count(app)
    kim = crowded.nurses[0]

    def attempt(i: int) -> Callable[[Session], Any]:
        when = at(TUESDAY, "09:00") + dt.timedelta(minutes=15 * (i % 8))
        return lambda session: book_session(
            session,
            patient_id=crowded.patients[i],
            treatment_type_id=crowded.iv,
            location_id=crowded.location,
            starts_at=when,
            monitor_id=kim,
            actor=ACTOR,
            now=NOW,
        )

    outcomes = race(app, [attempt(i) for i in range(n)])
    assert set(outcomes) <= {"booked", "taken"}, outcomes
    # Sessions last 105 minutes; at most two at once means at most 2 of the 8 start times
    # within any 105 minutes are booked, and at least the first wins.
    assert 1 <= outcomes.count("booked") <= 4, outcomes
    check_database(app)


def test_one_patient_racing_at_two_locations_is_booked_once(app, crowded):
    """Different locations take different advisory locks: the patient's exclusion constraint
    (PostgreSQL) or the write lock (SQLite) still lets only one through."""
    n = thread_count(app)
    with app.app_context():
        weekdays_8_to_6 = {weekday: (dt.time(8), dt.time(18)) for weekday in range(5)}
        other = make_location(db.session, name="Uptown", hours=weekdays_8_to_6)
        uptown_chairs = [make_chair(db.session, other, f"U{k}") for k in range(n // 2)]
        patient = make_patient(db.session, 999)
        db.session.flush()
        # Three more nurses on shift at Uptown that day.
        for k in range(3):
            nurse = make_staff(db.session, f"Uptown Nurse {k}")
            db.session.add(
                Shift(
                    staff=nurse,
                    location=other,
                    starts_at=at(TUESDAY, "07:30"),
                    ends_at=at(TUESDAY, "18:00"),
                )
            )
        db.session.commit()
        other_id, patient_id = other.id, patient.id
        uptown_chair_ids = [chair.id for chair in uptown_chairs]

    def attempt(i: int) -> Callable[[Session], Any]:
        uptown = i % 2 == 1
        return lambda session: book_session(
            session,
            patient_id=patient_id,
            treatment_type_id=crowded.iv,
            location_id=other_id if uptown else crowded.location,
            starts_at=at(TUESDAY, "09:00") + dt.timedelta(minutes=15 * (i // 2 % 3)),
            chair_id=uptown_chair_ids[i // 2 % len(uptown_chair_ids)] if uptown else None,
            actor=ACTOR,
            now=NOW,
        )

    outcomes = race(app, [attempt(i) for i in range(n)])
    assert outcomes.count("booked") == 1, outcomes
    assert outcomes.count("taken") == n - 1, outcomes
    check_database(app)
