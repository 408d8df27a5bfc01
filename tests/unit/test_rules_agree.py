"""Property: the day search and the per-candidate check agree on every candidate.

For a random world (chairs with random capabilities and blocks, staff with random
certifications, shifts and time off, other bookings, opening hours, sometimes a closure, a
prescriber-needing or REMS treatment sometimes, a series spacing, the patient's other doses
the days before and after, here or at another location, with their own dose spacing), every
grid start of the day times every chair, monitor and prescriber is feasible for
``search.evaluate_day`` exactly when ``rules.check_candidate`` finds no violation. The
worlds are built in memory as ``Snapshot`` objects, so hundreds of thousands of candidates
take seconds.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from clinic.scheduling.grid import DayGrid
from clinic.scheduling.rules import CheckContext, check_candidate
from clinic.scheduling.search import SearchContext, evaluate_day
from clinic.scheduling.settings import SchedulingSettings
from clinic.scheduling.snapshot import (
    Booked,
    ChairInfo,
    LocationInfo,
    PatientInfo,
    Snapshot,
    StaffInfo,
    TreatmentInfo,
    local_seconds,
    merge_spans,
)

NY = ZoneInfo("America/New_York")
# A plain Tuesday, and the Sunday the clocks spring forward.
DAYS = (dt.date(2026, 3, 3), dt.date(2026, 3, 8))
KINDS = ("RN", "ACLS", "KETAMINE_IV")
PATIENT = 1
HOUR = 3600


# True about one time in eight (and False in hypothesis' simplest examples).
rarely = st.integers(0, 7).map(lambda n: n == 7)


def at(day: dt.date, minutes: int) -> int:
    """Local minutes after midnight as UTC seconds (past midnight runs into the next day)."""
    extra, minute = divmod(minutes, 24 * 60)
    wall = dt.time(minute // 60, minute % 60)
    return local_seconds(day + dt.timedelta(days=extra), wall, NY)


minutes = st.integers(min_value=0, max_value=24 * 12 - 1).map(lambda k: k * 5)


@st.composite
def spans(draw: st.DrawFn, day: dt.date, *, max_size: int) -> list[tuple[int, int]]:
    found = []
    for _ in range(draw(st.integers(0, max_size))):
        start = draw(minutes)
        length = draw(st.integers(1, 14 * 12)) * 5
        found.append((at(day, start), at(day, start) + length * 60))
    return found


@st.composite
def treatments(draw: st.DrawFn) -> TreatmentInfo:
    prep, treat, monitor, turnover = (
        draw(st.integers(low, high)) * 5 for low, high in ((0, 3), (1, 12), (1, 24), (0, 4))
    )
    to_end = (prep + treat) * 60
    patient_seconds = to_end + monitor * 60
    return TreatmentInfo(
        id=1,
        name="Treatment",
        active=True,
        capability=draw(st.sampled_from(["iv", "nasal"])),
        required_certifications=tuple(draw(st.lists(st.sampled_from(KINDS), unique=True))),
        max_per_monitor=draw(st.integers(1, 3)),
        needs_prescriber=draw(st.booleans()),
        needs_rems=draw(rarely),
        to_treatment_end=to_end,
        patient_seconds=patient_seconds,
        chair_seconds=patient_seconds + turnover * 60,
        dose_seconds=draw(st.sampled_from([0, 3 * HOUR, 24 * HOUR, 48 * HOUR])),
    )


@st.composite
def people(draw: st.DrawFn, day: dt.date) -> dict[int, StaffInfo]:
    staff = {}
    for staff_id in range(10, 10 + draw(st.integers(1, 4))):
        certifications = {}
        for kind in KINDS:
            if draw(rarely):  # does not hold it
                continue
            valid_from = day + dt.timedelta(days=draw(st.integers(-60, 2)))
            expires_on = day + dt.timedelta(days=60 - draw(st.integers(0, 62)))
            certifications[kind] = [(valid_from, expires_on)]
        # A main shift (06:00-10:00 for up to 14 hours), sometimes a second one.
        first = at(day, 6 * 60 + draw(st.integers(0, 48)) * 5)
        shifts = [(first, first + (14 * 60 - draw(st.integers(0, 120)) * 5) * 60)]
        shifts += draw(spans(day, max_size=1))
        off = draw(spans(day, max_size=1))
        staff[staff_id] = StaffInfo(
            id=staff_id,
            name=f"Person {staff_id}",
            role=draw(st.sampled_from(["nurse", "nurse", "prescriber"])),
            active=not draw(rarely),
            certifications=certifications,
            shifts=merge_spans(shifts),
            time_off=[(start, end, draw(st.sampled_from(["", "leave"]))) for start, end in off],
        )
    return staff


@st.composite
def worlds(draw: st.DrawFn) -> tuple[Snapshot, SearchContext, dt.date]:
    day = draw(st.sampled_from(DAYS))
    opening = [
        (dt.time(opens), dt.time(closes))
        for opens, closes in draw(
            st.sampled_from([[(8, 18)], [(7, 12), (13, 20)], [(6, 23)], [(9, 13)], []])
        )
    ]
    location = LocationInfo(
        id=1,
        name="Riverside",
        tz=NY,
        active=True,
        opening={day.weekday(): opening},
        closures={day: "training"} if draw(rarely) else {},
    )
    treatment = draw(treatments())
    rems_on = draw(st.sampled_from([day - dt.timedelta(days=5), None, day + dt.timedelta(days=1)]))
    patient = PatientInfo(id=PATIENT, active=not draw(rarely), rems_enrolled_on=rems_on)
    chairs = [
        ChairInfo(
            id=chair_id,
            label=f"{chair_id}",
            active=not draw(rarely),
            capabilities=frozenset(draw(st.sets(st.sampled_from(["iv", "nasal"]), min_size=1))),
            blocks=[(start, end, "repair") for start, end in draw(spans(day, max_size=1))],
        )
        for chair_id in range(1, 1 + draw(st.integers(1, 3)))
    ]
    staff = draw(people(day))
    booked = []
    for booking_id in range(1, 1 + draw(st.integers(0, 8))):
        starts = at(day, draw(st.integers(5 * 12, 21 * 12)) * 5)
        ends = starts + draw(st.integers(6, 30)) * 5 * 60
        booked.append(
            Booked(
                id=booking_id,
                patient_id=draw(st.sampled_from([2, 3, 4, PATIENT])),
                series_id=None,
                location_id=1,
                chair_id=draw(st.sampled_from([chair.id for chair in chairs] + [99])),
                monitor_id=draw(st.sampled_from(sorted(staff))),
                prescriber_id=None,
                starts=starts,
                ends=ends,
                busy_until=ends + draw(st.integers(0, 4)) * 5 * 60,
                max_per_monitor=draw(st.integers(1, 3)),
                dose_seconds=draw(st.sampled_from([0, 3 * HOUR, 24 * HOUR])),
                treatment_name="IV ketamine infusion",
            )
        )
    # The patient's doses on the days around, here or elsewhere (dose spacing reaches them).
    for booking_id in range(100, 100 + draw(st.integers(0, 3))):
        starts = at(day, draw(st.integers(-30 * 12, 54 * 12)) * 5)
        booked.append(
            Booked(
                id=booking_id,
                patient_id=PATIENT,
                series_id=None,
                location_id=draw(st.sampled_from([1, 2])),
                chair_id=99,
                monitor_id=99,
                prescriber_id=None,
                starts=starts,
                ends=starts + 90 * 60,
                busy_until=starts + 100 * 60,
                max_per_monitor=1,
                dose_seconds=draw(st.sampled_from([0, 24 * HOUR, 48 * HOUR])),
                treatment_name="Esketamine nasal spray",
            )
        )
    snapshot = Snapshot(
        location=location,
        treatment=treatment,
        patient=patient,
        chairs=chairs,
        staff=staff,
        booked=booked,
        first_day=day,
        last_day=day,
    )
    context = SearchContext(
        now=at(day, draw(st.sampled_from([-24 * 60, 0, 10 * 60 + 2]))),
        settings=SchedulingSettings(
            grid_minutes=draw(st.sampled_from([10, 15, 30])),
            max_starts_per_monitor_per_15min=draw(st.integers(0, 2)),
        ),
        min_spacing_hours=draw(st.sampled_from([0, 0, 3, 24])),
        series_starts=[at(day, m) for m in draw(st.lists(minutes, max_size=2))],
    )
    return snapshot, context, day


@settings(max_examples=60, deadline=None, database=None)
@given(world=worlds())
def test_search_and_check_agree_on_every_candidate_of_a_day(world):
    snapshot, context, day = world
    result = evaluate_day(snapshot, day, context)
    check_context: CheckContext = context.check_context()
    grid = DayGrid(day, snapshot.tz, context.settings.grid_minutes * 60)
    prescribers: list[int | None] = (
        list(snapshot.staff) if snapshot.treatment.needs_prescriber else [None]
    )
    disagreements = []
    for index in range(grid.size):
        starts = grid.time(index)
        for chair in snapshot.chairs:
            for monitor_id in snapshot.staff:
                for prescriber_id in prescribers:
                    violations = check_candidate(
                        snapshot,
                        starts=starts,
                        chair_id=chair.id,
                        monitor_id=monitor_id,
                        prescriber_id=prescriber_id,
                        context=check_context,
                    )
                    option = result.option_at(
                        starts,
                        chair_id=chair.id,
                        monitor_id=monitor_id,
                        prescriber_id=prescriber_id,
                    )
                    if (option is not None) != (not violations):
                        disagreements.append(
                            (starts, chair.id, monitor_id, prescriber_id, violations)
                        )
    assert disagreements == [], (result.reason, disagreements[:3])
