"""A single booking and a reschedule choose chair and nurse by the series search's ranking."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from clinic.scheduling import book_session, plan_custom, reschedule
from clinic.scheduling.preview import load_for_plan
from clinic.scheduling.search import SearchContext, evaluate_day
from clinic.scheduling.settings import DEFAULT_SETTINGS
from clinic.scheduling.snapshot import to_seconds
from tests.builders import ACTOR, NOW, NY, World, at, block_chair, build_clinic

TUESDAY = "2026-03-03"


@pytest.fixture
def clinic(session: Any) -> World:
    return build_clinic(session, iv_chairs=3, nurses=3)


def book(session: Any, clinic: World, patient: int, when: dt.datetime, **kwargs: Any) -> Any:
    return book_session(
        session,
        patient_id=clinic.patients[patient].id,
        treatment_type_id=clinic.iv.id,
        location_id=clinic.location.id,
        starts_at=when,
        actor=ACTOR,
        now=NOW,
        **kwargs,
    )


def searched_chair(
    session: Any, clinic: World, patient: int, when: dt.datetime, *, moving: int | None = None
) -> int:
    """The chair the series search would pick at exactly ``when`` (for the session
    ``moving``, whose old time a reschedule frees)."""
    plan = plan_custom(
        treatment_type_id=clinic.iv.id,
        location_id=clinic.location.id,
        first_date=when.astimezone(NY).date(),
        count=1,
        weekdays=[when.astimezone(NY).weekday()],
    )
    now = to_seconds(NOW)
    snapshot = load_for_plan(
        session,
        patient_id=clinic.patients[patient].id,
        plan=plan,
        settings=DEFAULT_SETTINGS,
        now=now,
    )
    if moving is not None:
        snapshot.remove([moving])
    result = evaluate_day(
        snapshot, plan.dates[0], SearchContext(now=now, settings=DEFAULT_SETTINGS)
    )
    option = result.option_at(to_seconds(when))
    assert option is not None
    return option.chair.id


def test_a_single_booking_packs_chairs_as_the_search_does(session, clinic):
    # IV 2 is busy until 10:00: the search packs the next session onto it rather than
    # opening IV 1, idle since 08:00 (booking used to take the first free chair by label).
    second = clinic.iv_chairs[1].id
    book(session, clinic, 0, at(TUESDAY, "08:00"), chair_id=second)
    booked = book(session, clinic, 1, at(TUESDAY, "10:00"))
    assert booked.chair_id == second


def test_a_reschedule_that_loses_its_chair_gets_the_searchs_chair(session, clinic):
    first, third = clinic.iv_chairs[0].id, clinic.iv_chairs[2].id
    moving = book(session, clinic, 0, at(TUESDAY, "09:00"), chair_id=first)
    book(session, clinic, 1, at(TUESDAY, "12:00"), chair_id=third)
    block_chair(session, clinic.iv_chairs[0], at(TUESDAY, "13:00"), at(TUESDAY, "18:00"), "repair")
    new_start = at(TUESDAY, "14:00")
    expected = searched_chair(session, clinic, 0, new_start, moving=moving.id)
    (moved,) = reschedule(
        session,
        appointment_id=moving.id,
        new_starts_at=new_start,
        scope="one",
        actor=ACTOR,
        now=NOW,
    )
    assert moved.chair_id == expected == third  # IV 3 has stood idle the shortest
    assert moved.monitor_id == moving.monitor_id  # the nurse is still free: kept
