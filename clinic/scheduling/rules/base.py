"""What every rule family shares: the violation record, the check's context, and the day
view the search hands to each family's mask."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from ..errors import RuleViolation, SlotTaken
from ..grid import DayGrid
from ..settings import LEVELLING_WINDOW_MINUTES, SchedulingSettings
from ..snapshot import Booked, Snapshot, TreatmentInfo, to_instant
from ..wording import moment_text

LEVELLING_WINDOW = LEVELLING_WINDOW_MINUTES * 60


@dataclass(frozen=True, slots=True)
class Violation:
    error: type[RuleViolation]
    message: str
    # True when another live booking holds the resource: at commit time this is "taken".
    conflict: bool = False

    def exception(self) -> RuleViolation:
        if self.conflict:
            return SlotTaken(self.message)
        return self.error(self.message)


@dataclass(slots=True)
class CheckContext:
    now: int
    settings: SchedulingSettings
    min_spacing_hours: int = 0
    # Starts of the other sessions of the same series (saved and proposed).
    series_starts: list[int] = field(default_factory=list)


class NoStartOnDay(Exception):
    """A family's mask left no start on the day; ``reason`` says why, for the receptionist."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(slots=True)
class DayView:
    """One local day as the search sees it: the grid of candidate starts, the live bookings
    that can meet a session started that day, and the check's context."""

    snapshot: Snapshot
    grid: DayGrid
    context: CheckContext
    todays: list[Booked]
    # ``todays`` per chair and per monitor, grouped once: every chair's and every nurse's
    # mask, and the ranking, read their own bookings of the day.
    by_chair: dict[int, list[Booked]] = field(default_factory=dict)
    by_monitor: dict[int, list[Booked]] = field(default_factory=dict)

    @classmethod
    def of(cls, snapshot: Snapshot, grid: DayGrid, context: CheckContext) -> DayView:
        # Wide enough for the levelling window and for a chair's turnover past midnight.
        after = max(LEVELLING_WINDOW, snapshot.treatment.chair_seconds)
        todays = snapshot.overlapping(grid.midnight - LEVELLING_WINDOW, grid.end + after)
        by_chair: dict[int, list[Booked]] = defaultdict(list)
        by_monitor: dict[int, list[Booked]] = defaultdict(list)
        for appointment in todays:
            by_chair[appointment.chair_id].append(appointment)
            by_monitor[appointment.monitor_id].append(appointment)
        return cls(snapshot, grid, context, todays, dict(by_chair), dict(by_monitor))

    def of_chair(self, chair_id: int) -> list[Booked]:
        return self.by_chair.get(chair_id, [])

    def of_monitor(self, monitor_id: int) -> list[Booked]:
        return self.by_monitor.get(monitor_id, [])

    @property
    def day(self) -> dt.date:
        return self.grid.day

    @property
    def treatment(self) -> TreatmentInfo:
        return self.snapshot.treatment


def local_date(snapshot: Snapshot, starts: int) -> dt.date:
    return to_instant(starts).astimezone(snapshot.tz).date()


def moment(snapshot: Snapshot, seconds: int, day: dt.date) -> str:
    """``14:00`` on the session's day, else ``4 May 14:00``."""
    return moment_text(to_instant(seconds), snapshot.tz, on_day=day)
