"""REMS rule (DESIGN §3 rule 6): for a treatment that needs it (esketamine) the patient's
REMS enrollment is recorded, dated on or before the session's local date.

- check: ``check_rems`` for one candidate start;
- search: ``rems_starts`` (the rule holds for a whole day or not at all);
- wording: ``rems_problem``, the same sentence for a candidate and for a day.
"""

from __future__ import annotations

import datetime as dt

from ..errors import RemsNotEnrolled
from ..snapshot import Snapshot
from ..wording import day_text
from .base import DayView, NoStartOnDay, Violation, local_date


def check_rems(snapshot: Snapshot, starts: int) -> list[Violation]:
    problem = rems_problem(snapshot, local_date(snapshot, starts))
    return [Violation(RemsNotEnrolled, problem)] if problem else []


def rems_starts(view: DayView, allowed: int) -> int:
    problem = rems_problem(view.snapshot, view.day)
    if problem:
        raise NoStartOnDay(problem)
    return allowed


def rems_problem(snapshot: Snapshot, day: dt.date) -> str | None:
    patient = snapshot.patient
    if patient is None or not snapshot.treatment.needs_rems:
        return None
    if patient.rems_enrolled_on is None:
        return (
            f"{snapshot.treatment.name} needs the patient's REMS enrollment; none is recorded. "
            "Record the enrollment date on the patient's record first."
        )
    if patient.rems_enrolled_on > day:
        return (
            f"The patient's REMS enrollment starts on {day_text(patient.rems_enrolled_on)}, "
            f"after the session on {day_text(day)}."
        )
    return None
