"""The hard rules (DESIGN section 3), one module per rule family.

Each family module holds the three faces of its rule, side by side, so that changing a rule
("patients per monitor", "opening hours") means editing one module:

- the **check** of one concrete candidate, returning ``Violation`` records (``check_*``);
- its **search contribution**: the grid starts of a day at which the rule holds, as bit
  masks over the ``DayGrid`` (``*_starts``) or, for a resource, each usable chair / person
  with its mask (``usable_*``); a mask left empty raises ``NoStartOnDay`` with the reason;
- its **wording**: the per-candidate sentence and the day-level "no time on this day
  because ..." sentence, in a receptionist's words.

Families: ``calendar`` (opening hours, closures, past), ``rems``, ``patient`` (active,
overlap with own sessions, series spacing), ``doses`` (dose spacing across everything the
patient has booked), ``chair``, ``monitor`` (certifications, on site,
patients per monitor, starts per 15 minutes) and ``prescriber``; ``on_site`` (on shift and
not off) serves the last two. ``check_candidate`` below and ``search.evaluate_day`` compose
them; ``tests/unit/test_rules_agree.py`` holds the two to the same answer on random days.

The check is the authority: a booking commits only when ``check_candidate`` finds nothing,
inside the booking's transaction, on a snapshot loaded after the location-day locks were
taken. Windows, as the database constraints see them: the chair and the patient are busy
``[starts, busy_until)`` (turnover included); monitor, prescriber and patients-per-monitor
use ``[starts, ends)`` (to the end of monitoring).
"""

from __future__ import annotations

from ..snapshot import Snapshot
from .base import LEVELLING_WINDOW, CheckContext, DayView, NoStartOnDay, Violation, local_date
from .calendar import check_calendar, opening_problem
from .chair import check_chair
from .doses import check_doses
from .monitor import (
    certification_problem,
    check_monitor,
    crowded_start_spans,
    crowded_starts,
    monitor_overload,
    overload_spans,
)
from .on_site import presence_problem
from .patient import check_patient
from .prescriber import check_prescriber
from .rems import check_rems, rems_problem

__all__ = [
    "LEVELLING_WINDOW",
    "CheckContext",
    "DayView",
    "NoStartOnDay",
    "Violation",
    "certification_problem",
    "check_calendar",
    "check_candidate",
    "check_chair",
    "check_doses",
    "check_monitor",
    "check_patient",
    "check_prescriber",
    "check_rems",
    "check_time",
    "crowded_start_spans",
    "crowded_starts",
    "local_date",
    "monitor_overload",
    "opening_problem",
    "overload_spans",
    "presence_problem",
    "rems_problem",
]


def check_time(snapshot: Snapshot, starts: int, context: CheckContext) -> list[Violation]:
    """The rules no choice of chair, monitor or prescriber can fix: the calendar, REMS, and
    the patient's other sessions, series spacing and dose spacing."""
    return (
        check_calendar(snapshot, starts, context)
        + check_rems(snapshot, starts)
        + check_patient(snapshot, starts, context)
        + check_doses(snapshot, starts)
    )


def check_candidate(
    snapshot: Snapshot,
    *,
    starts: int,
    chair_id: int,
    monitor_id: int,
    prescriber_id: int | None,
    context: CheckContext,
) -> list[Violation]:
    """Every hard rule for one concrete session; empty when it may be booked."""
    return (
        check_time(snapshot, starts, context)
        + check_chair(snapshot, chair_id, starts)
        + check_monitor(snapshot, monitor_id, starts, context)
        + check_prescriber(snapshot, prescriber_id, starts)
    )
