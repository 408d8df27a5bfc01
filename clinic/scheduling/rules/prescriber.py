"""Prescriber rule (DESIGN §3 rule 3): where the treatment needs one, an active prescriber
is on site for the whole patient window ``[starts, ends)`` (dosing and monitoring).

- check: ``check_prescriber`` for one prescriber (or none) and start;
- search: ``usable_prescribers``, each prescriber with the starts she covers;
- wording: the sentences here, ``none_on_site_text`` serving a candidate and the booking
  that finds nobody at its start.
"""

from __future__ import annotations

from ..errors import PrescriberUnavailable
from ..snapshot import Snapshot, StaffInfo
from ..wording import day_text
from .base import DayView, NoStartOnDay, Violation, local_date, moment
from .on_site import presence_problem, present_starts


def check_prescriber(snapshot: Snapshot, prescriber_id: int | None, starts: int) -> list[Violation]:
    treatment = snapshot.treatment
    if not treatment.needs_prescriber:
        return []
    _, ends, _ = treatment.windows(starts)
    day = local_date(snapshot, starts)
    if prescriber_id is None:
        return [Violation(PrescriberUnavailable, none_on_site_text(snapshot, starts))]
    person = snapshot.staff.get(prescriber_id)
    if person is None:
        return [
            Violation(
                PrescriberUnavailable,
                f"The chosen prescriber is not on shift at {snapshot.location.name} on "
                f"{day_text(day)}.",
            )
        ]
    if not is_prescriber(person):
        return [Violation(PrescriberUnavailable, f"{person.text} is not an active prescriber.")]
    problem = presence_problem(snapshot, person, starts, ends, day)
    return [Violation(PrescriberUnavailable, problem)] if problem else []


def is_prescriber(person: StaffInfo) -> bool:
    return person.role == "prescriber" and person.active


def usable_prescribers(view: DayView, allowed: int) -> list[tuple[StaffInfo, int]]:
    """Each prescriber with the starts of ``allowed`` she covers; empty when the treatment
    needs none."""
    treatment = view.treatment
    if not treatment.needs_prescriber:
        return []
    usable = []
    for person in view.snapshot.staff.values():
        if is_prescriber(person):
            mask = allowed & present_starts(view.grid, person, treatment.patient_seconds)
            if mask:
                usable.append((person, mask))
    if not usable:
        raise NoStartOnDay(
            f"No prescriber is on site for a whole session on {day_text(view.day)}; "
            f"{treatment.name} needs one."
        )
    return usable


def none_on_site_text(snapshot: Snapshot, starts: int) -> str:
    treatment = snapshot.treatment
    _, ends, _ = treatment.windows(starts)
    day = local_date(snapshot, starts)
    return (
        f"{treatment.name} needs a prescriber on site; none is on shift for the whole "
        f"session ({moment(snapshot, starts, day)}–{moment(snapshot, ends, day)} on "
        f"{day_text(day)})."
    )
