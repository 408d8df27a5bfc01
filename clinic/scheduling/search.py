"""Availability search: candidate starts on a local wall-clock grid, evaluated in memory.

For one day, every rule family (``rules/``) turns its rule into a bit mask over the day's
grid (``grid.DayGrid``: bit k = the start at local midnight + k grid steps): "the window
fits inside opening hours", "this chair is free for the whole busy window", "this nurse is
on shift, certified and under her limits", ... Masks are
combined with ``&`` and ``|``, so a day of 288 candidate starts times 20 chairs and 12 nurses
costs a few hundred integer operations, not thousands of rule checks. When a day has no
feasible start, the first rule that emptied the mask says why, in receptionist's words.

Feasible starts are then ranked (lower cost is better):
- the patient's preferred hours and weekdays;
- the same chair, monitor and local time of day as the rest of the series;
- levelled load: few sessions already running at the location and under the monitor, and few
  starts nearby, so the day ramps up and down instead of piling up at opening.

The chosen start is confirmed by ``rules.check_candidate`` (the rules' authority) before it
is proposed. Booking a chosen time uses the same ranking: ``DayResult.option_at`` picks the
chair, monitor and prescriber the search would pick at that exact start.
"""

from __future__ import annotations

import datetime as dt
import heapq
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from .grid import DayGrid, bits, union
from .rules import (
    LEVELLING_WINDOW,
    CheckContext,
    DayView,
    NoStartOnDay,
    calendar,
    chair,
    check_candidate,
    doses,
    monitor,
    patient,
    prescriber,
    rems,
)
from .settings import SchedulingSettings
from .snapshot import Booked, ChairInfo, Snapshot, StaffInfo, StartIndex, to_instant

# Ranking weights, in "minutes of inconvenience".
PREFERRED_HOURS_WEIGHT = 2.0  # per minute outside the preferred start range
OTHER_WEEKDAY_COST = 90.0
SERIES_TIME_WEIGHT = 1.0  # per minute away from the series' usual time of day
SERIES_TIME_CAP = 240.0
OTHER_MONITOR_COST = 45.0
OTHER_CHAIR_COST = 15.0
OTHER_PRESCRIBER_COST = 5.0
LOCATION_RUNNING_COST = 10.0  # per session already running at the location
LOCATION_START_COST = 20.0  # per other start within 15 minutes at the location
MONITOR_RUNNING_COST = 15.0  # per patient the monitor already watches then
MONITOR_START_COST = 10.0  # per other start of the monitor within 30 minutes
CHAIR_GAP_WEIGHT = 0.02  # per minute of idle chair before the start: pack chairs tightly
EARLIER_WEIGHT = 0.001  # per grid step: the tie-breaker prefers earlier


@dataclass(frozen=True, slots=True)
class Slot:
    """A feasible session: when, which chair, who monitors (and who prescribes)."""

    starts_at: dt.datetime
    treatment_ends_at: dt.datetime
    ends_at: dt.datetime
    busy_until: dt.datetime
    location_id: int
    chair_id: int
    chair_label: str
    monitor_id: int
    monitor_name: str
    prescriber_id: int | None = None
    prescriber_name: str | None = None
    timezone: str = "UTC"
    score: float = 0.0

    @property
    def local_starts_at(self) -> dt.datetime:
        return self.starts_at.astimezone(ZoneInfo(self.timezone))

    @property
    def local_ends_at(self) -> dt.datetime:
        return self.ends_at.astimezone(ZoneInfo(self.timezone))

    @property
    def local_date(self) -> dt.date:
        return self.local_starts_at.date()


@dataclass(frozen=True, slots=True)
class SlotChoice:
    """What a receptionist picked from a preview (e.g. posted back from a form)."""

    starts_at: dt.datetime
    chair_id: int
    monitor_id: int
    prescriber_id: int | None = None


@dataclass(slots=True)
class Preferences:
    preferred_start_minute: int | None = None  # local minute of day
    preferred_end_minute: int | None = None
    weekdays: tuple[int, ...] = ()
    anchor_chair: int | None = None
    anchor_monitor: int | None = None
    anchor_prescriber: int | None = None
    anchor_minute: int | None = None


@dataclass(slots=True)
class SearchContext:
    now: int
    settings: SchedulingSettings
    min_spacing_hours: int = 0
    series_starts: list[int] = field(default_factory=list)
    preferences: Preferences = field(default_factory=Preferences)
    # Evaluate this one start only (booking a chosen time); it need not lie on the grid.
    only_start: int | None = None

    def check_context(self) -> CheckContext:
        return CheckContext(
            now=self.now,
            settings=self.settings,
            min_spacing_hours=self.min_spacing_hours,
            series_starts=self.series_starts,
        )


@dataclass(slots=True)
class Option:
    starts: int
    chair: ChairInfo
    monitor: StaffInfo
    prescriber: StaffInfo | None
    cost: float


@dataclass(slots=True)
class DayResult:
    day: dt.date
    ranking: Ranking | None = None
    reason: str | None = None

    def ranked(self, skip: Callable[[int], bool] | None = None) -> Iterator[Option]:
        """Feasible options, best first (lazily: take only what you need); starts for which
        ``skip`` says yes when they come up are passed over without choosing resources."""
        return self.ranking.options(skip) if self.ranking is not None else iter(())

    @property
    def options(self) -> list[Option]:
        return list(self.ranked())

    def option_at(
        self,
        starts: int,
        *,
        chair_id: int | None = None,
        monitor_id: int | None = None,
        prescriber_id: int | None = None,
    ) -> Option | None:
        """The best option at exactly ``starts``, with any resource given held fixed; None
        when the search finds nothing feasible there."""
        if self.ranking is None:
            return None
        return self.ranking.option_at(
            starts, chair_id=chair_id, monitor_id=monitor_id, prescriber_id=prescriber_id
        )


def evaluate_day(snapshot: Snapshot, day: dt.date, context: SearchContext) -> DayResult:
    """Every feasible start on ``day`` with its best chair, monitor and prescriber, best
    first; or the reason none is feasible.

    Each rule family narrows the day's mask of candidate starts in turn (the order decides
    which reason a receptionist reads when a day has no time at all); the resources keep
    their own masks so the ranking can pick among them per start.
    """
    grid = DayGrid(day, snapshot.tz, context.settings.grid_minutes * 60, through=context.only_start)
    view = DayView.of(snapshot, grid, context.check_context())
    allowed = grid.full
    if context.only_start is not None:
        allowed = grid.mask(context.only_start, context.only_start + 1)
    try:
        allowed = calendar.open_starts(view, allowed)
        allowed = rems.rems_starts(view, allowed)
        allowed = patient.free_starts(view, allowed)
        allowed = doses.spaced_starts(view, allowed)
        prescribers = prescriber.usable_prescribers(view, allowed)
        if prescribers:
            allowed &= union(mask for _, mask in prescribers)
        chairs = chair.usable_chairs(view, allowed)
        allowed &= union(mask for _, mask in chairs)
        monitors = monitor.usable_monitors(view, allowed)
        allowed &= union(mask for _, mask in monitors)
    except NoStartOnDay as refused:
        return DayResult(day, None, refused.reason)
    usable = Usable(chairs=chairs, monitors=monitors, prescribers=prescribers)
    return DayResult(day, Ranking(view, allowed, usable, context.preferences))


@dataclass(slots=True)
class Usable:
    """Each resource with the grid starts at which every rule lets it take the session."""

    chairs: list[tuple[ChairInfo, int]]
    monitors: list[tuple[StaffInfo, int]]
    prescribers: list[tuple[StaffInfo, int]]


def prescriber_order(anchor: int | None) -> Callable[[StaffInfo], tuple[bool, str]]:
    """How prescribers are preferred: the series' own first, then by name."""
    return lambda person: (person.id != anchor, person.name)


class Ranking:
    """The feasible starts of a day in cost order, computed lazily.

    Every start first gets its resource-independent cost (preferences, series time, load at
    the location); the chair, monitor and prescriber, whose costs only add to it, are chosen
    when the start reaches the front of the queue. Callers that want the best few options
    (a preview wants four) so evaluate a handful of starts in full, not all of them.
    """

    def __init__(
        self, view: DayView, allowed: int, usable: Usable, preferences: Preferences
    ) -> None:
        self.snapshot = view.snapshot
        self.grid = view.grid
        self.usable = usable
        self.preferences = preferences
        self.opening = calendar.opening_time(view.snapshot, view.day)
        # Chair packing and monitor load read the day's bookings per resource.
        self.busy_ends = {
            seat.id: sorted(end for _, end in chair.busy_spans(view, seat))
            for seat, _ in usable.chairs
        }
        self.load = {
            person.id: StartIndex.of(view.of_monitor(person.id)) for person, _ in usable.monitors
        }
        self.base = self._base_costs(allowed, view.todays)

    def _base_costs(self, allowed: int, todays: list[Booked]) -> list[tuple[float, int]]:
        grid, preferences = self.grid, self.preferences
        patient_seconds = self.snapshot.treatment.patient_seconds
        here = StartIndex.of(a for a in todays if a.location_id == self.snapshot.location.id)
        day_cost = (
            OTHER_WEEKDAY_COST
            if preferences.weekdays and grid.day.weekday() not in preferences.weekdays
            else 0.0
        )
        # Local minute of day: seconds from local midnight, unless the clocks change today.
        steady = (
            to_instant(grid.midnight).astimezone(grid.tz).utcoffset()
            == to_instant(grid.end - 1).astimezone(grid.tz).utcoffset()
        )
        earliest, latest = preferences.preferred_start_minute, preferences.preferred_end_minute
        anchor = preferences.anchor_minute
        # The loop runs for every feasible start of the day: the location's load is counted
        # with bisect on local names (what ``StartIndex.overlapping`` / ``starts_between`` do).
        here_starts, here_ends = here.starts, here.ends
        origin, step, midnight, tz = grid.origin, grid.step, grid.midnight, grid.tz
        costs = []
        for index in bits(allowed):
            starts = origin + index * step
            if steady:
                minute = (starts - midnight) // 60
            else:
                local = to_instant(starts).astimezone(tz)
                minute = local.hour * 60 + local.minute
            cost = day_cost + index * EARLIER_WEIGHT
            if earliest is not None and minute < earliest:
                cost += (earliest - minute) * PREFERRED_HOURS_WEIGHT
            if latest is not None and minute > latest:
                cost += (minute - latest) * PREFERRED_HOURS_WEIGHT
            if anchor is not None:
                cost += min(abs(minute - anchor) * SERIES_TIME_WEIGHT, SERIES_TIME_CAP)
            running = bisect_left(here_starts, starts + patient_seconds) - bisect_right(
                here_ends, starts
            )
            cost += LOCATION_RUNNING_COST * running
            nearby = bisect_left(here_starts, starts + LEVELLING_WINDOW) - bisect_left(
                here_starts, starts - LEVELLING_WINDOW + 1
            )
            cost += LOCATION_START_COST * nearby
            costs.append((cost, index))
        return costs

    def __len__(self) -> int:
        return len(self.base)

    def __iter__(self) -> Iterator[Option]:
        return self.options()

    def options(self, skip: Callable[[int], bool] | None = None) -> Iterator[Option]:
        heap = list(self.base)
        heapq.heapify(heap)
        complete: dict[int, Option] = {}
        while heap:
            cost, index = heapq.heappop(heap)
            # Asked each time a start comes up, so the caller's answer may change as it goes
            # (a preview skips starts too close to the ones it has already taken).
            if skip is not None and skip(self.grid.time(index)):
                continue
            option = complete.get(index)
            if option is not None:
                yield option
                continue
            option = self._complete(index, cost)
            if option is None:  # cannot happen: the masks were combined
                continue
            complete[index] = option
            heapq.heappush(heap, (option.cost, index))

    def option_at(
        self,
        starts: int,
        *,
        chair_id: int | None = None,
        monitor_id: int | None = None,
        prescriber_id: int | None = None,
    ) -> Option | None:
        index = self.grid.index_of(starts)
        base_cost = next((cost for cost, at in self.base if at == index), None)
        if index is None or base_cost is None:
            return None
        return self._complete(
            index, base_cost, chair_id=chair_id, monitor_id=monitor_id, prescriber_id=prescriber_id
        )

    def _complete(
        self,
        index: int,
        base_cost: float,
        *,
        chair_id: int | None = None,
        monitor_id: int | None = None,
        prescriber_id: int | None = None,
    ) -> Option | None:
        """Choose the chair, monitor and prescriber for one start and add their costs; a
        resource given is the only one considered."""
        best_chair = self._best_chair(index, chair_id)
        best_monitor = self._best_monitor(index, monitor_id)
        if best_chair is None or best_monitor is None:
            return None
        cost = base_cost + best_chair[1] + best_monitor[1]
        best_prescriber: StaffInfo | None = None
        if self.snapshot.treatment.needs_prescriber:
            best_prescriber = self._best_prescriber(index, prescriber_id)
            if best_prescriber is None:
                return None
            anchor = self.preferences.anchor_prescriber
            if anchor is not None and best_prescriber.id != anchor:
                cost += OTHER_PRESCRIBER_COST
        return Option(
            starts=self.grid.time(index),
            chair=best_chair[0],
            monitor=best_monitor[0],
            prescriber=best_prescriber,
            cost=cost,
        )

    def _best_chair(self, index: int, only: int | None) -> tuple[ChairInfo, float] | None:
        """The chair idle the shortest before the start (packs chairs), the series' own
        chair preferred."""
        starts, anchor = self.grid.time(index), self.preferences.anchor_chair
        best: tuple[ChairInfo, float] | None = None
        for seat, mask in self.usable.chairs:
            if not mask >> index & 1 or (only is not None and seat.id != only):
                continue
            cost = OTHER_CHAIR_COST if anchor is not None and seat.id != anchor else 0.0
            busy_ends = self.busy_ends[seat.id]
            position = bisect_right(busy_ends, starts)
            idle_since = max(busy_ends[position - 1], self.opening) if position else self.opening
            cost += max(starts - idle_since, 0) / 60 * CHAIR_GAP_WEIGHT
            if best is None or cost < best[1]:
                best = (seat, cost)
        return best

    def _best_monitor(self, index: int, only: int | None) -> tuple[StaffInfo, float] | None:
        """The monitor with the lightest load around the start, the series' own preferred."""
        starts, anchor = self.grid.time(index), self.preferences.anchor_monitor
        ends = starts + self.snapshot.treatment.patient_seconds
        near_from, near_to = starts - 2 * LEVELLING_WINDOW, starts + 2 * LEVELLING_WINDOW
        best: tuple[StaffInfo, float] | None = None
        for person, mask in self.usable.monitors:
            if not mask >> index & 1 or (only is not None and person.id != only):
                continue
            cost = OTHER_MONITOR_COST if anchor is not None and person.id != anchor else 0.0
            # ``StartIndex.overlapping`` and ``starts_between``, inlined: this runs for every
            # nurse at every start the ranking completes.
            theirs = self.load[person.id]
            their_starts = theirs.starts
            running = bisect_left(their_starts, ends) - bisect_right(theirs.ends, starts)
            cost += MONITOR_RUNNING_COST * running
            nearby = bisect_left(their_starts, near_to) - bisect_left(their_starts, near_from)
            cost += MONITOR_START_COST * nearby
            if best is None or cost < best[1]:
                best = (person, cost)
        return best

    def _best_prescriber(self, index: int, only: int | None) -> StaffInfo | None:
        candidates = [
            person
            for person, mask in self.usable.prescribers
            if mask >> index & 1 and (only is None or person.id == only)
        ]
        if not candidates:
            return None
        return min(candidates, key=prescriber_order(self.preferences.anchor_prescriber))


def confirm(snapshot: Snapshot, option: Option, context: SearchContext) -> bool:
    """The rules' authority agrees with the search (a guard against the two drifting)."""
    return not check_candidate(
        snapshot,
        starts=option.starts,
        chair_id=option.chair.id,
        monitor_id=option.monitor.id,
        prescriber_id=option.prescriber.id if option.prescriber else None,
        context=context.check_context(),
    )


def best_options(
    snapshot: Snapshot, result: DayResult, context: SearchContext, *, count: int, apart: int = 0
) -> list[Option]:
    """Up to ``count`` confirmed options, best first, starts at least ``apart`` seconds apart."""
    chosen: list[Option] = []

    def too_close(starts: int) -> bool:
        # Checked before the ranking chooses resources for a start, which is most of its cost.
        return any(abs(starts - other.starts) < apart for other in chosen)

    for option in result.ranked(too_close if apart else None):
        if confirm(snapshot, option, context):
            chosen.append(option)
            if len(chosen) == count:
                break
    return chosen


def to_slot(snapshot: Snapshot, option: Option) -> Slot:
    treatment_ends, ends, busy_until = snapshot.treatment.windows(option.starts)
    return Slot(
        starts_at=to_instant(option.starts),
        treatment_ends_at=to_instant(treatment_ends),
        ends_at=to_instant(ends),
        busy_until=to_instant(busy_until),
        location_id=snapshot.location.id,
        chair_id=option.chair.id,
        chair_label=option.chair.label,
        monitor_id=option.monitor.id,
        monitor_name=option.monitor.name,
        prescriber_id=option.prescriber.id if option.prescriber else None,
        prescriber_name=option.prescriber.name if option.prescriber else None,
        timezone=snapshot.location.tz.key,
        score=round(option.cost, 3),
    )
