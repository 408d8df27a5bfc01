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

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..models import Closure, Location, OpeningHours, Protocol
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


@dataclass(frozen=True, slots=True)
class LocationCalendar:
    """The days a location takes sessions: its open weekdays and its closures (with reasons).

    Plans aim only at open days; pages use ``closed_reason`` to say why a day offers nothing.
    A location with no opening hours at all is left to the search to explain (every day).
    """

    name: str
    open_weekdays: frozenset[int]
    closures: dict[dt.date, str]
    today: dt.date

    def is_open(self, day: dt.date) -> bool:
        return day.weekday() in self.open_weekdays and day not in self.closures

    def closed_reason(self, day: dt.date) -> str | None:
        """Why nothing can be booked on ``day`` at all (past, closed), or None."""
        if day < self.today:
            return f"{day_text(day)} has passed; the earliest day is today, {day_text(self.today)}."
        if day in self.closures:
            reason = self.closures[day]
            return f"{self.name} is closed on {day_text(day)}" + (
                f" ({reason})." if reason else "."
            )
        if day.weekday() not in self.open_weekdays:
            return f"{self.name} is not open on {WEEKDAY_NAMES[day.weekday()]}s."
        return None

    def first_open_day(self, day: dt.date) -> dt.date:
        """``day`` or the first open day after it (``day`` itself when none in a year)."""
        for offset in range(366):
            candidate = day + dt.timedelta(days=offset)
            if self.is_open(candidate):
                return candidate
        return day


def location_calendar(
    session: Session, *, location_id: int, now: dt.datetime, since: dt.date | None = None
) -> LocationCalendar:
    """The location's calendar from ``since`` (default: its local today) on, in two queries."""
    location = session.get(Location, location_id)
    if location is None:
        raise NotFound("That location no longer exists.")
    today = location.local_today(now)
    weekdays = set(
        session.scalars(
            sa.select(OpeningHours.weekday).where(OpeningHours.location_id == location_id)
        )
    )
    closures = session.execute(
        sa.select(Closure.date, Closure.reason).where(
            Closure.location_id == location_id, Closure.date >= min(since or today, today)
        )
    ).all()
    return LocationCalendar(
        name=location.name,
        open_weekdays=frozenset(weekdays) if weekdays else frozenset(range(7)),
        closures={day: reason for day, reason in closures},
        today=today,
    )


def default_first_date(session: Session, *, location_id: int, now: dt.datetime) -> dt.date:
    """The booking forms' default: the first Monday-to-Friday day after today on which the
    location is open (else its first open day)."""
    calendar = location_calendar(session, location_id=location_id, now=now)
    day = next_weekday(calendar.today)
    for _ in range(366):
        if calendar.is_open(day):
            return day
        day = next_weekday(day)
    return calendar.first_open_day(calendar.today + dt.timedelta(days=1))


def default_protocol_id(
    protocols: Iterable[tuple[int, bool]], *, rems_enrolled: bool
) -> int | None:
    """The protocol the wizard starts on, from ``(id, needs_rems)`` in display order: the
    first one the patient may have (not an esketamine one for a patient outside REMS)."""
    listed = list(protocols)
    for protocol_id, needs_rems in listed:
        if rems_enrolled or not needs_rems:
            return protocol_id
    return listed[0][0] if listed else None


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
    calendar: LocationCalendar | None = None,
) -> SeriesPlan:
    """``count`` sessions on every one of ``weekdays`` from ``first_date`` on; with the
    location's ``calendar``, never on a closure day."""
    days = _weekdays(weekdays)
    if not days:
        raise InvalidPlan("Pick at least one weekday for the sessions.")
    _check_count(count)
    _check_spacing(min_hours_between)
    _check_preferred(preferred_start, preferred_end)
    _check_open_weekdays(days, calendar)
    dates = _phase_dates(first_date, count, days, min_hours_between, after=None, calendar=calendar)
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
    calendar: LocationCalendar | None = None,
) -> SeriesPlan:
    """Target dates for a protocol's phases, starting on or after ``first_date``, on the
    location's open days only (never a closure, never a weekday it is shut).

    Without ``weekdays`` each phase spreads its sessions evenly from the first open day's
    weekday (twice a week from a Monday: Monday and Thursday), over the open weekdays when
    that spread would land on a closed one. With ``weekdays`` a phase uses as many of them
    as it has sessions per week.
    """
    protocol = session.get(Protocol, protocol_id)
    if protocol is None:
        raise NotFound("That protocol no longer exists.")
    if not protocol.active:
        raise InvalidPlan(f"The protocol {protocol.name} is no longer in use.")
    _check_preferred(preferred_start, preferred_end)
    chosen = _weekdays(weekdays)
    if calendar is None:
        calendar = location_calendar(
            session, location_id=location_id, now=_noon(first_date), since=first_date
        )
    _check_open_weekdays(chosen, calendar)
    first_date = calendar.first_open_day(first_date)
    phases = [(int(p["sessions"]), int(p.get("sessions_per_week", 1))) for p in protocol.phases]
    if not phases or any(sessions < 1 or per_week < 1 for sessions, per_week in phases):
        raise InvalidPlan(f"The protocol {protocol.name} has no valid phases; ask an admin.")
    _check_count(sum(sessions for sessions, _ in phases))
    dates: list[dt.date] = []
    for sessions, per_week in phases:
        pattern = _phase_weekdays(
            per_week, chosen, anchor=first_date.weekday(), open_weekdays=calendar.open_weekdays
        )
        start = first_date if not dates else dates[-1] + dt.timedelta(days=1)
        dates += _phase_dates(
            start,
            sessions,
            pattern,
            protocol.min_hours_between,
            after=dates[-1] if dates else None,
            calendar=calendar,
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


def _check_open_weekdays(chosen: tuple[int, ...], calendar: LocationCalendar | None) -> None:
    if calendar is None:
        return
    shut = [day for day in chosen if day not in calendar.open_weekdays]
    if shut:
        names = ", ".join(WEEKDAY_NAMES[day] + "s" for day in shut)
        raise InvalidPlan(
            fields={"weekdays": f"{calendar.name} is not open on {names}; untick them."}
        )


def _phase_weekdays(
    per_week: int,
    chosen: tuple[int, ...],
    *,
    anchor: int,
    open_weekdays: frozenset[int] = frozenset(range(7)),
) -> tuple[int, ...]:
    if not chosen:
        offsets = SPREAD_OFFSETS[min(per_week, 7)]
        spread = tuple(sorted((anchor + offset) % 7 for offset in offsets))
        if all(day in open_weekdays for day in spread):
            return spread
        # The even spread lands on a day the location is shut: spread over its open days.
        chosen = tuple(sorted(open_weekdays))
        if len(chosen) <= per_week:
            return chosen
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
    calendar: LocationCalendar | None = None,
) -> list[dt.date]:
    """The next ``sessions`` dates on ``weekdays`` from ``start``, whole days apart enough to
    respect the spacing whatever the time of day (the search checks exact hours), skipping
    the ``calendar``'s closures."""
    min_days = -(-min_hours_between // 24)
    dates: list[dt.date] = []
    previous = after
    day = start
    closures = len(calendar.closures) if calendar is not None else 0
    limit = start + dt.timedelta(days=7 * (sessions + 1) + min_days * sessions + closures)
    while len(dates) < sessions:
        if day > limit:
            raise InvalidPlan(
                f"Cannot place {sessions} sessions from {day_text(start)} on these weekdays."
            )
        closed = calendar is not None and day in calendar.closures
        spaced = previous is None or (day - previous).days >= min_days
        if day.weekday() in weekdays and not closed and spaced:
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


def plan_series(
    session: Session, request: PlanRequest, *, now: dt.datetime | None = None
) -> SeriesPlan:
    """The plan ``request`` describes; a missing choice is an ``InvalidPlan`` naming its field.

    With ``now``, a first date before the location's today is refused here, before any
    preview (the search could only offer the days after it).
    """
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
    calendar = location_calendar(
        session, location_id=request.location_id, now=now or _noon(request.first_date)
    )
    if now is not None and request.first_date < calendar.today:
        raise InvalidPlan(
            fields={"first_date": calendar.closed_reason(request.first_date) or "In the past."}
        )
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
            calendar=calendar,
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
        calendar=calendar,
    )


def _noon(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), dt.UTC)


def plan_for_starts(
    session: Session, plan: SeriesPlan, starts: Sequence[dt.datetime]
) -> SeriesPlan:
    """``plan`` aimed at the local days (in the plan's location) of the chosen ``starts``."""
    location = session.get(Location, plan.location_id)
    tz = location.tz if location is not None else dt.UTC
    return plan_with_dates(plan, [start.astimezone(tz).date() for start in starts])
