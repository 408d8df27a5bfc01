"""Series plans: which local dates a series aims for, and the patient's preferences.

A plan is plain data. ``plan_from_protocol`` reads a protocol (phases of sessions per week,
minimum spacing, maximum span); ``plan_custom`` takes a count and weekdays. Either way the
plan holds one target date per session; the search then finds a time, chair, monitor (and
prescriber) on each date, or says why it cannot and offers the nearest alternatives.

``plan_series`` turns what the booking form asked for (a ``PlanRequest``) into a plan, and
``plan_for_starts`` re-dates a plan to the local days of the times the user chose; the
default first day of a series (``next_weekday``) is decided here too, not in the views.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from ..models import Location, Protocol
from .errors import InvalidPlan, NotFound
from .wording import WEEKDAY_NAMES, day_text

MAX_SESSIONS = 60
MAX_SPACING_HOURS = 24 * 28
# Weekday offsets from the first session's weekday for n sessions a week, spread evenly
# (2 a week: Monday and Thursday; 3 a week: Monday, Wednesday, Friday).
SPREAD_OFFSETS: dict[int, tuple[int, ...]] = {
    1: (0,),
    2: (0, 3),
    3: (0, 2, 4),
    4: (0, 1, 3, 4),
    5: (0, 1, 2, 3, 4),
    6: (0, 1, 2, 3, 4, 5),
    7: (0, 1, 2, 3, 4, 5, 6),
}


@dataclass(frozen=True, slots=True)
class PlanRequest:
    """What the booking form asks for, as typed values (None where the form had nothing).

    ``mode`` is "protocol" (follow ``protocol_id``) or "custom" (``count`` sessions of
    ``treatment_type_id`` on ``weekdays``); ``min_hours_between`` None means the default 24.
    """

    location_id: int | None
    first_date: dt.date | None
    mode: str = "protocol"
    protocol_id: int | None = None
    treatment_type_id: int | None = None
    count: int | None = None
    min_hours_between: int | None = None
    weekdays: tuple[int, ...] = ()
    preferred_start: dt.time | None = None
    preferred_end: dt.time | None = None


DEFAULT_SPACING_HOURS = 24
DEFAULT_SESSION_COUNT = 6


@dataclass(frozen=True, slots=True)
class SeriesPlan:
    """What to book: one target local date per session, plus soft preferences.

    ``preferred_start``/``preferred_end`` bound the preferred local start time (either may be
    None); ``weekdays`` are the preferred weekdays (0 = Monday), used to rank alternatives.
    """

    treatment_type_id: int
    location_id: int
    dates: tuple[dt.date, ...]
    min_hours_between: int = 24
    protocol_id: int | None = None
    weekdays: tuple[int, ...] = ()
    preferred_start: dt.time | None = None
    preferred_end: dt.time | None = None
    max_span_days: int | None = None

    @property
    def count(self) -> int:
        return len(self.dates)


def plan_custom(
    *,
    treatment_type_id: int,
    location_id: int,
    first_date: dt.date,
    count: int,
    weekdays: Iterable[int],
    min_hours_between: int = 24,
    preferred_start: dt.time | None = None,
    preferred_end: dt.time | None = None,
) -> SeriesPlan:
    """``count`` sessions on every one of ``weekdays`` from ``first_date`` on."""
    days = _weekdays(weekdays)
    if not days:
        raise InvalidPlan("Pick at least one weekday for the sessions.")
    _check_count(count)
    _check_spacing(min_hours_between)
    _check_preferred(preferred_start, preferred_end)
    dates = _phase_dates(first_date, count, days, min_hours_between, after=None)
    return SeriesPlan(
        treatment_type_id=treatment_type_id,
        location_id=location_id,
        dates=tuple(dates),
        min_hours_between=min_hours_between,
        weekdays=days,
        preferred_start=preferred_start,
        preferred_end=preferred_end,
    )


def plan_from_protocol(
    session: Session,
    *,
    protocol_id: int,
    location_id: int,
    first_date: dt.date,
    weekdays: Iterable[int] = (),
    preferred_start: dt.time | None = None,
    preferred_end: dt.time | None = None,
) -> SeriesPlan:
    """Target dates for a protocol's phases, starting on or after ``first_date``.

    Without ``weekdays`` each phase spreads its sessions evenly from the first date's
    weekday (twice a week from a Monday: Monday and Thursday). With ``weekdays`` a phase
    uses as many of them as it has sessions per week.
    """
    protocol = session.get(Protocol, protocol_id)
    if protocol is None:
        raise NotFound("That protocol no longer exists.")
    if not protocol.active:
        raise InvalidPlan(f"The protocol {protocol.name} is no longer in use.")
    _check_preferred(preferred_start, preferred_end)
    chosen = _weekdays(weekdays)
    phases = [(int(p["sessions"]), int(p.get("sessions_per_week", 1))) for p in protocol.phases]
    if not phases or any(sessions < 1 or per_week < 1 for sessions, per_week in phases):
        raise InvalidPlan(f"The protocol {protocol.name} has no valid phases; ask an admin.")
    _check_count(sum(sessions for sessions, _ in phases))
    dates: list[dt.date] = []
    for sessions, per_week in phases:
        pattern = _phase_weekdays(per_week, chosen, anchor=first_date.weekday())
        start = first_date if not dates else dates[-1] + dt.timedelta(days=1)
        dates += _phase_dates(
            start, sessions, pattern, protocol.min_hours_between, after=dates[-1] if dates else None
        )
    span = (dates[-1] - dates[0]).days + 1
    if protocol.max_span_days is not None and span > protocol.max_span_days:
        raise InvalidPlan(
            f"On these weekdays the {len(dates)} sessions would take {span} days; "
            f"{protocol.name} allows {protocol.max_span_days}. Pick more weekdays."
        )
    return SeriesPlan(
        treatment_type_id=protocol.treatment_type_id,
        location_id=location_id,
        dates=tuple(dates),
        min_hours_between=protocol.min_hours_between,
        protocol_id=protocol.id,
        weekdays=chosen,
        preferred_start=preferred_start,
        preferred_end=preferred_end,
        max_span_days=protocol.max_span_days,
    )


def plan_with_dates(plan: SeriesPlan, dates: Sequence[dt.date]) -> SeriesPlan:
    """The same plan aimed at other dates (a receptionist moved one in the preview)."""
    if not dates:
        raise InvalidPlan("A series needs at least one session.")
    _check_count(len(dates))
    return SeriesPlan(
        treatment_type_id=plan.treatment_type_id,
        location_id=plan.location_id,
        dates=tuple(sorted(dates)),
        min_hours_between=plan.min_hours_between,
        protocol_id=plan.protocol_id,
        weekdays=plan.weekdays,
        preferred_start=plan.preferred_start,
        preferred_end=plan.preferred_end,
        max_span_days=plan.max_span_days,
    )


def _weekdays(weekdays: Iterable[int]) -> tuple[int, ...]:
    days = set()
    for day in weekdays:
        if not isinstance(day, int) or not 0 <= day <= 6:
            raise InvalidPlan("Weekdays are numbered 0 (Monday) to 6 (Sunday).")
        days.add(day)
    return tuple(sorted(days))


def _check_count(count: int) -> None:
    if not 1 <= count <= MAX_SESSIONS:
        raise InvalidPlan(f"A series has between 1 and {MAX_SESSIONS} sessions.")


def _check_spacing(hours: int) -> None:
    if not 0 <= hours <= MAX_SPACING_HOURS:
        raise InvalidPlan(f"The minimum spacing is between 0 and {MAX_SPACING_HOURS} hours.")


def _check_preferred(start: dt.time | None, end: dt.time | None) -> None:
    if any(value is not None and value.tzinfo is not None for value in (start, end)):
        raise InvalidPlan(
            "Preferred hours are the clinic's local times; give them without an offset."
        )
    if start is not None and end is not None and end < start:
        raise InvalidPlan("The preferred time range ends before it starts.")


def _phase_weekdays(per_week: int, chosen: tuple[int, ...], *, anchor: int) -> tuple[int, ...]:
    if not chosen:
        offsets = SPREAD_OFFSETS[min(per_week, 7)]
        return tuple(sorted((anchor + offset) % 7 for offset in offsets))
    if len(chosen) < per_week:
        names = ", ".join(WEEKDAY_NAMES[day] for day in chosen)
        raise InvalidPlan(
            f"This protocol needs {per_week} sessions a week; {names} "
            f"{'is' if len(chosen) == 1 else 'are'} not enough weekdays."
        )
    if len(chosen) == per_week:
        return chosen
    # More weekdays than needed: take an evenly spread subset, starting at the anchor.
    ordered = sorted(chosen, key=lambda day: (day - anchor) % 7)
    step = len(ordered) / per_week
    return tuple(sorted(ordered[int(i * step)] for i in range(per_week)))


def _phase_dates(
    start: dt.date,
    sessions: int,
    weekdays: tuple[int, ...],
    min_hours_between: int,
    *,
    after: dt.date | None,
) -> list[dt.date]:
    """The next ``sessions`` dates on ``weekdays`` from ``start``, whole days apart enough to
    respect the spacing whatever the time of day (the search checks exact hours)."""
    min_days = -(-min_hours_between // 24)
    dates: list[dt.date] = []
    previous = after
    day = start
    limit = start + dt.timedelta(days=7 * (sessions + 1) + min_days * sessions)
    while len(dates) < sessions:
        if day > limit:
            raise InvalidPlan(
                f"Cannot place {sessions} sessions from {day_text(start)} on these weekdays."
            )
        if day.weekday() in weekdays and (previous is None or (day - previous).days >= min_days):
            dates.append(day)
            previous = day
        day += dt.timedelta(days=1)
    return dates


def next_weekday(after: dt.date) -> dt.date:
    """The first Monday-to-Friday day after ``after``: the default first day of a booking."""
    day = after + dt.timedelta(days=1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def plan_series(session: Session, request: PlanRequest) -> SeriesPlan:
    """The plan ``request`` describes; a missing choice is an ``InvalidPlan`` naming its field."""
    problems: dict[str, str] = {}
    if request.location_id is None:
        problems["location_id"] = "Choose a location."
    if request.first_date is None:
        problems["first_date"] = "Choose the date of the first session (YYYY-MM-DD)."
    custom = request.mode == "custom"
    if not custom and request.protocol_id is None:
        problems["protocol_id"] = "Choose a protocol, or switch to a custom pattern."
    if custom:
        if request.treatment_type_id is None:
            problems["treatment_type_id"] = "Choose the treatment."
        if request.count is None:
            problems["count"] = "Enter how many sessions to book (1 to 60)."
        if not request.weekdays:
            problems["weekdays"] = "Tick the weekdays for the sessions."
    if problems:
        raise InvalidPlan(fields=problems)
    assert request.location_id is not None and request.first_date is not None
    if not custom:
        assert request.protocol_id is not None
        return plan_from_protocol(
            session,
            protocol_id=request.protocol_id,
            location_id=request.location_id,
            first_date=request.first_date,
            weekdays=request.weekdays,
            preferred_start=request.preferred_start,
            preferred_end=request.preferred_end,
        )
    assert request.treatment_type_id is not None and request.count is not None
    return plan_custom(
        treatment_type_id=request.treatment_type_id,
        location_id=request.location_id,
        first_date=request.first_date,
        count=request.count,
        weekdays=request.weekdays,
        min_hours_between=(
            DEFAULT_SPACING_HOURS
            if request.min_hours_between is None
            else request.min_hours_between
        ),
        preferred_start=request.preferred_start,
        preferred_end=request.preferred_end,
    )


def plan_for_starts(
    session: Session, plan: SeriesPlan, starts: Sequence[dt.datetime]
) -> SeriesPlan:
    """``plan`` aimed at the local days (in the plan's location) of the chosen ``starts``."""
    location = session.get(Location, plan.location_id)
    tz = location.tz if location is not None else dt.UTC
    return plan_with_dates(plan, [start.astimezone(tz).date() for start in starts])
