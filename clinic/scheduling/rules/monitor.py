"""Monitor rules (DESIGN §3 rule 2): the monitoring nurse is active, holds every required
certification valid on the session's local date, is on site for the whole patient window
``[starts, ends)``, and taking the patient keeps both load limits:

- patients per monitor: at no moment of the window does she watch more patients than the
  new treatment's limit or that of any session she is already watching;
- starts per 15 minutes (``max_starts_per_monitor_per_15min``, 0 switches it off): no
  15-minute window holds more of her starts than the limit.

Each limit is written here twice, side by side: for one candidate (``monitor_overload``,
``crowded_starts``) and as the start spans it blocks on a day (``overload_spans``,
``crowded_start_spans``); ``tests/unit/test_rules_agree.py`` holds the two to the same answer.

- check: ``check_monitor``; search: ``usable_monitors``; wording: the sentences here and
  ``none_free_at`` for "nobody can monitor at this exact start".
"""

from __future__ import annotations

import datetime as dt

from ..errors import MonitorUnavailable, RuleViolation, SlotTaken
from ..grid import bits
from ..settings import LEVELLING_WINDOW_MINUTES
from ..snapshot import Booked, Snapshot, StaffInfo
from ..wording import day_text
from .base import LEVELLING_WINDOW, CheckContext, DayView, NoStartOnDay, Violation, local_date
from .base import moment as _moment
from .on_site import presence_problem, present_starts


def check_monitor(
    snapshot: Snapshot, monitor_id: int, starts: int, context: CheckContext
) -> list[Violation]:
    treatment = snapshot.treatment
    _, ends, _ = treatment.windows(starts)
    day = local_date(snapshot, starts)
    person = snapshot.staff.get(monitor_id)
    if person is None:
        return [
            Violation(
                MonitorUnavailable,
                f"The chosen monitor is not on shift at {snapshot.location.name} on "
                f"{day_text(day)}.",
            )
        ]
    if not person.active:
        return [Violation(MonitorUnavailable, f"{person.text} no longer works here.")]
    today = local_date(snapshot, context.now)
    found = [
        Violation(MonitorUnavailable, problem)
        for kind in treatment.required_certifications
        if (problem := certification_problem(person, kind, day, today=today))
    ]
    problem = presence_problem(snapshot, person, starts, ends, day)
    if problem:
        found.append(Violation(MonitorUnavailable, problem))
    return found + _load_violations(snapshot, person, starts, context)


def _load_violations(
    snapshot: Snapshot, person: StaffInfo, starts: int, context: CheckContext
) -> list[Violation]:
    _, ends, _ = snapshot.treatment.windows(starts)
    day = local_date(snapshot, starts)
    nearby = [
        other
        for other in snapshot.overlapping(
            starts - LEVELLING_WINDOW, max(ends, starts + LEVELLING_WINDOW)
        )
        if other.monitor_id == person.id
    ]
    found: list[Violation] = []
    over = monitor_overload(nearby, starts, ends, snapshot.treatment.max_per_monitor)
    if over is not None:
        moment, count, limit = over
        found.append(
            Violation(
                MonitorUnavailable,
                f"{person.text} already monitors {count} patient{'s' if count != 1 else ''} at "
                f"{_moment(snapshot, moment, day)}; the limit is {limit} at a time.",
                conflict=True,
            )
        )
    limit = context.settings.max_starts_per_monitor_per_15min
    crowded = crowded_starts([other.starts for other in nearby], starts, limit)
    if crowded:
        times = ", ".join(_moment(snapshot, other, day) for other in crowded)
        found.append(
            Violation(
                MonitorUnavailable,
                f"{person.text} already starts a session at {times}; each nurse starts at "
                f"most {limit} in any {LEVELLING_WINDOW_MINUTES} minutes.",
                conflict=True,
            )
        )
    return found


def certification_problem(
    person: StaffInfo, kind: str, day: dt.date, *, today: dt.date
) -> str | None:
    spans = person.certifications.get(kind)
    if not spans:
        return f"{person.text} does not hold {kind}."
    if any(valid_from <= day <= expires_on for valid_from, expires_on in spans):
        return None
    upcoming = [valid_from for valid_from, _ in spans if valid_from > day]
    if upcoming:
        return f"{person.text}'s {kind} is only valid from {day_text(min(upcoming))}."
    expiry = max(expires_on for _, expires_on in spans)
    if expiry < today:
        return f"{person.text}'s {kind} expired on {day_text(expiry)}."
    return (
        f"{person.text}'s {kind} expires on {day_text(expiry)}, "
        f"before the session on {day_text(day)}."
    )


# --- patients per monitor ---------------------------------------------------------------


def monitor_overload(
    others: list[Booked], starts: int, ends: int, limit: int
) -> tuple[int, int, int] | None:
    """(moment, patients already there, limit) where adding [starts, ends) would exceed the
    patients-per-monitor limit of any session present at that moment, or None."""
    present = [other for other in others if other.starts < ends and other.ends > starts]
    moments = {starts} | {other.starts for other in present if other.starts > starts}
    for moment in sorted(moments):
        at_moment = [other for other in present if other.starts <= moment < other.ends]
        effective = min([limit] + [other.max_per_monitor for other in at_moment])
        if len(at_moment) + 1 > effective:
            return moment, len(at_moment), effective
    return None


def overload_spans(others: list[Booked], limit: int, patient_seconds: int) -> list[tuple[int, int]]:
    """Start spans at which a new session of ``patient_seconds`` would push the monitor over
    the patients-per-monitor limit (its own, or that of any session already running)."""
    if not others:
        return []
    points = sorted({a.starts for a in others} | {a.ends for a in others})
    blocked: list[tuple[int, int]] = []
    for left, right in zip(points, points[1:], strict=False):
        running = [a for a in others if a.starts <= left < a.ends]
        if not running:
            continue
        effective = min([limit] + [a.max_per_monitor for a in running])
        if len(running) + 1 > effective:
            blocked.append((left - patient_seconds + 1, right))
    return blocked


# --- starts per 15 minutes --------------------------------------------------------------


def crowded_starts(other_starts: list[int], starts: int, limit: int) -> list[int]:
    """Existing starts that, with ``starts``, put more than ``limit`` starts into one
    15-minute window ``[t, t + 15 min)``; empty when the new start fits (or limit is 0)."""
    if limit <= 0:
        return []
    close = sorted(other for other in other_starts if abs(other - starts) < LEVELLING_WINDOW)
    for window_start in sorted({starts} | {other for other in close if other <= starts}):
        inside = [
            other for other in close if window_start <= other < window_start + LEVELLING_WINDOW
        ]
        if window_start <= starts < window_start + LEVELLING_WINDOW and len(inside) + 1 > limit:
            return inside
    return []


def crowded_start_spans(starts: list[int], limit: int) -> list[tuple[int, int]]:
    """Start spans that would put ``limit + 1`` starts into one 15-minute window."""
    if limit <= 0:
        return []
    ordered = sorted(starts)
    spans = []
    for i in range(len(ordered) - limit + 1):
        first, last = ordered[i], ordered[i + limit - 1]
        if last - first < LEVELLING_WINDOW:
            spans.append((last - LEVELLING_WINDOW + 1, first + LEVELLING_WINDOW))
    return spans


# --- the day search ---------------------------------------------------------------------


def qualified_monitors(view: DayView) -> list[StaffInfo]:
    """Active staff certified on the day and on some shift that day; refuses when nobody is."""
    day, treatment = view.day, view.treatment
    today = local_date(view.snapshot, view.context.now)
    qualified: list[StaffInfo] = []
    problems: list[str] = []
    for person in view.snapshot.staff.values():
        if not person.active:
            continue
        problem = next(
            (
                found
                for kind in treatment.required_certifications
                if (found := certification_problem(person, kind, day, today=today))
            ),
            None,
        )
        if problem:
            problems.append(problem)
        elif any(
            start < view.grid.end and end > view.grid.midnight for start, end in person.shifts
        ):
            qualified.append(person)
    if not qualified:
        detail = " " + " ".join(problems[:3]) if problems else ""
        raise NoStartOnDay(
            f"No one on shift on {day_text(day)} can monitor {treatment.name}.{detail}"
        )
    return qualified


def usable_monitors(view: DayView, allowed: int) -> list[tuple[StaffInfo, int]]:
    """Each qualified monitor with the starts of ``allowed`` at which she is on site and
    under both load limits."""
    qualified = qualified_monitors(view)
    usable = []
    for person in qualified:
        mask = allowed & _starts_for(view, person)
        if mask:
            usable.append((person, mask))
    if not usable:
        raise NoStartOnDay(_all_busy_text(view, qualified, allowed))
    return usable


def _starts_for(view: DayView, person: StaffInfo) -> int:
    grid, treatment = view.grid, view.treatment
    mask = present_starts(grid, person, treatment.patient_seconds)
    theirs = view.of_monitor(person.id)
    if mask and theirs:
        limit = view.context.settings.max_starts_per_monitor_per_15min
        mask &= grid.starts_outside(
            overload_spans(theirs, treatment.max_per_monitor, treatment.patient_seconds)
        )
        mask &= grid.starts_outside(crowded_start_spans([a.starts for a in theirs], limit))
    return mask


def _all_busy_text(view: DayView, qualified: list[StaffInfo], allowed: int) -> str:
    snapshot, day, grid, treatment = view.snapshot, view.day, view.grid, view.treatment
    if len(qualified) == 1:
        person = qualified[0]
        first = next(iter(bits(allowed)), None)
        if first is not None:
            starts = grid.time(first)
            problem = presence_problem(
                snapshot, person, starts, starts + treatment.patient_seconds, day
            )
            if problem:
                return problem
        return (
            f"{person.text} is the only one who can monitor {treatment.name} on "
            f"{day_text(day)} and is fully booked whenever a chair is free."
        )
    names = ", ".join(person.name for person in qualified)
    return (
        f"The staff who can monitor {treatment.name} on {day_text(day)} "
        f"({names}) are off shift or fully booked whenever a chair is free."
    )


def none_free_at(
    snapshot: Snapshot, starts: int, context: CheckContext, window: str
) -> RuleViolation:
    """Why nobody can monitor a session at exactly ``starts``: "taken" when someone
    qualified is only held by other bookings, else the first reasons."""
    treatment = snapshot.treatment
    problems = {
        person.id: check_monitor(snapshot, person.id, starts, context)
        for person in snapshot.staff.values()
        if person.active
    }
    if any(found and all(v.conflict for v in found) for found in problems.values()):
        return SlotTaken(f"No one who can monitor {treatment.name} is free {window}.")
    detail = " ".join([v.message for found in problems.values() for v in found][:3])
    day = local_date(snapshot, starts)
    return MonitorUnavailable(
        f"No one who can monitor {treatment.name} is free {window} on {day_text(day)}. {detail}"
    )
