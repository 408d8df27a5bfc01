"""Calendar rules (DESIGN §3 rule 5): the whole patient window ``[starts, ends)`` lies in one
opening interval of the session's local date, the date is not a closure, and the start is
not in the past. Turnover may run past closing.

- check: ``check_calendar`` for one candidate start;
- search: ``open_starts`` masks the day's grid to the starts that satisfy all three;
- wording: the per-candidate sentences below and the day-level reasons in ``open_starts``.
"""

from __future__ import annotations

import datetime as dt

from ..errors import ClinicClosed, InThePast, OutsideOpeningHours
from ..snapshot import Snapshot, local_seconds
from ..wording import WEEKDAY_NAMES, day_text, duration_text
from .base import CheckContext, DayView, NoStartOnDay, Violation, local_date, moment


def check_calendar(snapshot: Snapshot, starts: int, context: CheckContext) -> list[Violation]:
    _, ends, _ = snapshot.treatment.windows(starts)
    day = local_date(snapshot, starts)
    found: list[Violation] = []
    if starts < context.now:
        found.append(Violation(InThePast, past_text(snapshot, starts, day)))
    if day in snapshot.location.closures:
        found.append(Violation(ClinicClosed, closed_text(snapshot, day)))
    else:
        problem = opening_problem(snapshot, day, starts, ends)
        if problem:
            found.append(Violation(OutsideOpeningHours, problem))
    return found


def opening_spans(snapshot: Snapshot, day: dt.date) -> list[tuple[int, int]]:
    hours = snapshot.location.opening.get(day.weekday(), [])
    tz = snapshot.tz
    return [
        (local_seconds(day, opens, tz), local_seconds(day, closes, tz)) for opens, closes in hours
    ]


def opening_problem(snapshot: Snapshot, day: dt.date, starts: int, ends: int) -> str | None:
    spans = opening_spans(snapshot, day)
    if not spans:
        return not_open_text(day)
    if any(opens <= starts and ends <= closes for opens, closes in spans):
        return None
    window = f"{moment(snapshot, starts, day)} to {moment(snapshot, ends, day)}"
    return (
        f"A session from {window} on {day_text(day)} is outside the opening hours "
        f"({_hours_text(snapshot, day)})."
    )


def open_starts(view: DayView, allowed: int) -> int:
    """The starts of ``allowed`` whose window fits the opening hours, not in the past."""
    snapshot, day, grid = view.snapshot, view.day, view.grid
    patient_seconds = view.treatment.patient_seconds
    if day in snapshot.location.closures:
        raise NoStartOnDay(closed_text(snapshot, day))
    spans = opening_spans(snapshot, day)
    if not spans:
        raise NoStartOnDay(not_open_text(day))
    allowed &= grid.starts_within(spans, patient_seconds)
    if not allowed:
        raise NoStartOnDay(
            f"The opening hours on {day_text(day)} ({_hours_text(snapshot, day)}) are too short "
            f"for a {duration_text(patient_seconds)} session."
        )
    allowed &= grid.mask(view.context.now, grid.end)
    if not allowed:
        if day < local_date(snapshot, view.context.now):
            raise NoStartOnDay(f"{day_text(day)} is in the past.")
        raise NoStartOnDay(
            f"There is no time left on {day_text(day)} to start a "
            f"{duration_text(patient_seconds)} session before closing."
        )
    return allowed


def opening_time(snapshot: Snapshot, day: dt.date) -> int:
    """When the day's first opening interval begins (the ranking packs chairs from here)."""
    return min(start for start, _ in opening_spans(snapshot, day))


def past_text(snapshot: Snapshot, starts: int, day: dt.date) -> str:
    return f"That time ({moment(snapshot, starts, day)} on {day_text(day)}) has passed."


def closed_text(snapshot: Snapshot, day: dt.date) -> str:
    reason = snapshot.location.closures[day]
    return f"The clinic is closed on {day_text(day)}" + (f" ({reason})." if reason else ".")


def not_open_text(day: dt.date) -> str:
    return f"The clinic is not open on {WEEKDAY_NAMES[day.weekday()]}s."


def _hours_text(snapshot: Snapshot, day: dt.date) -> str:
    hours = snapshot.location.opening.get(day.weekday(), [])
    return ", ".join(f"{opens:%H:%M}–{closes:%H:%M}" for opens, closes in hours)
