"""Patient rules (DESIGN §3 rule 4): the patient record is active, the patient has no other
live session overlapping ``[starts, busy_until)`` (the window the PostgreSQL exclusion
constraint holds), and sessions of one series keep the protocol's minimum spacing (elapsed
hours between starts).

- check: ``check_patient`` for one candidate start;
- search: ``free_starts`` masks the grid by the patient's other sessions and the spacing;
- wording: the sentences below, per candidate and per day.
"""

from __future__ import annotations

from ..errors import PatientUnavailable, SpacingViolation
from ..snapshot import Snapshot, to_instant
from ..wording import day_text, duration_text, moment_text
from .base import CheckContext, DayView, NoStartOnDay, Violation, local_date, moment

INACTIVE = "This patient record is inactive; reactivate it first."


def check_patient(snapshot: Snapshot, starts: int, context: CheckContext) -> list[Violation]:
    patient = snapshot.patient
    if patient is None:
        return []
    _, _, busy_until = snapshot.treatment.windows(starts)
    day = local_date(snapshot, starts)
    found: list[Violation] = []
    if not patient.active:
        found.append(Violation(PatientUnavailable, INACTIVE))
    for other in snapshot.overlapping(starts, busy_until):
        if other.patient_id == patient.id:
            found.append(
                Violation(
                    PatientUnavailable,
                    f"The patient already has a session on {day_text(day)} from "
                    f"{moment(snapshot, other.starts, day)} to "
                    f"{moment(snapshot, other.busy_until, day)} (chair turnover included).",
                    conflict=True,
                )
            )
            break
    spacing = context.min_spacing_hours * 3600
    for other_start in context.series_starts:
        if abs(other_start - starts) < spacing:
            other_day = local_date(snapshot, other_start)
            found.append(
                Violation(
                    SpacingViolation,
                    f"Sessions of this series must be at least {context.min_spacing_hours} h "
                    f"apart; the session on {day_text(other_day)} at "
                    f"{moment(snapshot, other_start, other_day)} is only "
                    f"{duration_text(abs(other_start - starts))} away.",
                )
            )
            break
    return found


def free_starts(view: DayView, allowed: int) -> int:
    """The starts of ``allowed`` clear of the patient's other sessions and series spacing."""
    patient = view.snapshot.patient
    if patient is not None:
        if not patient.active:
            raise NoStartOnDay(INACTIVE)
        allowed = _clear_of_own_sessions(view, allowed, patient.id)
    return _spaced_from_series(view, allowed)


def _clear_of_own_sessions(view: DayView, allowed: int, patient_id: int) -> int:
    own = [(a.starts, a.busy_until) for a in view.todays if a.patient_id == patient_id]
    allowed &= view.grid.starts_clear_of(own, view.treatment.chair_seconds)
    if not allowed:
        tz, day = view.snapshot.tz, view.day
        times = ", ".join(
            f"{moment_text(to_instant(s), tz)}–{moment_text(to_instant(e), tz, on_day=day)}"
            for s, e in sorted(own)
        )
        raise NoStartOnDay(
            f"The patient's other sessions ({times}) leave no room for this one on {day_text(day)}."
        )
    return allowed


def _spaced_from_series(view: DayView, allowed: int) -> int:
    context, grid = view.context, view.grid
    spacing = context.min_spacing_hours * 3600
    if not spacing or not context.series_starts:
        return allowed
    day_start, day_end = grid.midnight, grid.end
    near = [s for s in context.series_starts if day_start - spacing < s < day_end + spacing]
    allowed &= grid.starts_outside((s - spacing + 1, s + spacing) for s in near)
    if not allowed:
        closest = min(near, key=lambda s: abs(s - (day_start + day_end) // 2))
        raise NoStartOnDay(
            f"Sessions of this series must be at least {context.min_spacing_hours} h apart; "
            f"{day_text(view.day)} is too close to the session on "
            f"{moment_text(to_instant(closest), view.snapshot.tz)}."
        )
    return allowed
