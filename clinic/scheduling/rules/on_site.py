"""Being on site (part of DESIGN §3 rules 2 and 3, shared by the monitor and prescriber
families): the person is on shift at this location for the whole patient window
``[starts, ends)`` and has no time off meeting it.

- check: ``presence_problem`` for one person and window;
- search: ``present_starts``, the starts at which the person's coverage (shifts minus time
  off) holds the whole window;
- wording: the sentences in ``presence_problem``.
"""

from __future__ import annotations

import datetime as dt

from ..grid import DayGrid
from ..snapshot import Snapshot, StaffInfo
from ..wording import day_text
from .base import moment


def presence_problem(
    snapshot: Snapshot, person: StaffInfo, starts: int, ends: int, day: dt.date
) -> str | None:
    """Is the person on shift here for all of [starts, ends) and not off?"""
    for off_start, off_end, reason in person.time_off:
        if off_start < ends and off_end > starts:
            why = f" ({reason})" if reason else ""
            return (
                f"{person.text} is off{why} from {moment(snapshot, off_start, day)} to "
                f"{moment(snapshot, off_end, day)}."
            )
    shift = next((span for span in person.shifts if span[0] <= starts < span[1]), None)
    if shift is None:
        return (
            f"{person.text} is not on shift at {snapshot.location.name} at "
            f"{moment(snapshot, starts, day)} on {day_text(day)}."
        )
    if shift[1] < ends:
        return (
            f"{person.text}'s shift ends at {moment(snapshot, shift[1], day)}, before the "
            f"session would end at {moment(snapshot, ends, day)}."
        )
    return None


def present_starts(grid: DayGrid, person: StaffInfo, patient_seconds: int) -> int:
    return grid.starts_within(person.coverage, patient_seconds)
