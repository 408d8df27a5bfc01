"""Availability search: candidate starts on a local wall-clock grid, evaluated in memory.

For one day, every rule becomes a bit mask over the day's grid (bit k = the start at local
midnight + k grid steps): "the window fits inside opening hours", "this chair is free for the
whole busy window", "this nurse is on shift, certified and under her limits", ... Masks are
combined with ``&`` and ``|``, so a day of 288 candidate starts times 20 chairs and 12 nurses
costs a few hundred integer operations, not thousands of rule checks. When a day has no
feasible start, the first rule that emptied the mask says why, in receptionist's words.

Feasible starts are then ranked (lower cost is better):
- the patient's preferred hours and weekdays;
- the same chair, monitor and local time of day as the rest of the series;
- levelled load: few sessions already running at the location and under the monitor, and few
  starts nearby, so the day ramps up and down instead of piling up at opening.

The chosen start is confirmed by ``rules.check_candidate`` (the rules' authority) before it
is proposed.
"""

from __future__ import annotations

import datetime as dt
import heapq
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from .rules import (
    LEVELLING_WINDOW,
    CheckContext,
    certification_problem,
    check_candidate,
    local_date,
    presence_problem,
    rems_problem,
)
from .settings import SchedulingSettings
from .snapshot import (
    Booked,
    ChairInfo,
    Snapshot,
    StaffInfo,
    StartIndex,
    local_midnight,
    local_seconds,
    to_instant,
)
from .wording import WEEKDAY_NAMES, day_text, duration_text, moment_text

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

    def ranked(self) -> Iterator[Option]:
        """Feasible options, best first (lazily: take only what you need)."""
        return iter(self.ranking) if self.ranking is not None else iter(())

    @property
    def options(self) -> list[Option]:
        return list(self.ranked())


class DayGrid:
    """The candidate starts of one local day as bits of an int."""

    def __init__(self, day: dt.date, tz: ZoneInfo, step: int) -> None:
        self.day = day
        self.tz = tz
        self.step = step
        self.origin = local_midnight(day, tz)
        end = local_midnight(day + dt.timedelta(days=1), tz)
        self.size = (end - self.origin) // step
        self.full = (1 << self.size) - 1

    def _index_at_or_after(self, seconds: int) -> int:
        index = -((self.origin - seconds) // self.step)  # ceil((seconds - origin) / step)
        return min(max(index, 0), self.size)

    def mask(self, start: int, end: int) -> int:
        """Bits of the grid starts in [start, end)."""
        first, last = self._index_at_or_after(start), self._index_at_or_after(end)
        if last <= first:
            return 0
        return ((1 << (last - first)) - 1) << first

    def starts_within(self, spans: Iterable[tuple[int, int]], duration: int) -> int:
        """Starts whose window [s, s + duration) lies inside one of ``spans``."""
        bits = 0
        for start, end in spans:
            if end - start >= duration:
                bits |= self.mask(start, end - duration + 1)
        return bits

    def starts_clear_of(self, busy: Iterable[tuple[int, int]], duration: int) -> int:
        """Starts whose window [s, s + duration) meets none of ``busy``."""
        blocked = 0
        for start, end in busy:
            blocked |= self.mask(start - duration + 1, end)
        return self.full & ~blocked

    def starts_outside(self, spans: Iterable[tuple[int, int]]) -> int:
        """Starts not inside any of the half-open start ``spans``."""
        blocked = 0
        for start, end in spans:
            blocked |= self.mask(start, end)
        return self.full & ~blocked

    def time(self, index: int) -> int:
        return self.origin + index * self.step


def bits(mask: int) -> Iterable[int]:
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


def _names(people: Iterable[StaffInfo]) -> str:
    return ", ".join(person.name for person in people)


def monitor_blocked_spans(
    others: list[Booked], limit: int, patient_seconds: int
) -> list[tuple[int, int]]:
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


def evaluate_day(snapshot: Snapshot, day: dt.date, context: SearchContext) -> DayResult:
    """Every feasible start on ``day`` with its best chair, monitor and prescriber, best
    first; or the reason none is feasible."""
    tz = snapshot.tz
    treatment = snapshot.treatment
    location = snapshot.location
    patient_seconds, chair_seconds = treatment.patient_seconds, treatment.chair_seconds
    grid = DayGrid(day, tz, context.settings.grid_minutes * 60)

    def refuse(reason: str) -> DayResult:
        return DayResult(day, None, reason)

    if day in location.closures:
        why = location.closures[day]
        return refuse(f"The clinic is closed on {day_text(day)}" + (f" ({why})." if why else "."))
    hours = location.opening.get(day.weekday(), [])
    if not hours:
        return refuse(f"The clinic is not open on {WEEKDAY_NAMES[day.weekday()]}s.")
    open_spans = [
        (local_seconds(day, opens, tz), local_seconds(day, closes, tz)) for opens, closes in hours
    ]
    allowed = grid.starts_within(open_spans, patient_seconds)
    if not allowed:
        listed = ", ".join(f"{opens:%H:%M}–{closes:%H:%M}" for opens, closes in hours)
        return refuse(
            f"The opening hours on {day_text(day)} ({listed}) are too short for a "
            f"{duration_text(patient_seconds)} session."
        )
    allowed &= grid.mask(context.now, grid.time(grid.size))
    if not allowed:
        if day < local_date(snapshot, context.now):
            return refuse(f"{day_text(day)} is in the past.")
        return refuse(
            f"There is no time left on {day_text(day)} to start a "
            f"{duration_text(patient_seconds)} session before closing."
        )

    day_start, day_end = grid.origin, grid.time(grid.size)
    todays = snapshot.overlapping(day_start - LEVELLING_WINDOW, day_end + LEVELLING_WINDOW)

    # The patient: REMS, other sessions, and the series spacing.
    patient = snapshot.patient
    if patient is not None:
        problem = rems_problem(snapshot, day)
        if problem:
            return refuse(problem)
        own = [(a.starts, a.busy_until) for a in todays if a.patient_id == patient.id]
        allowed &= grid.starts_clear_of(own, chair_seconds)
        if not allowed:
            times = ", ".join(
                f"{moment_text(to_instant(s), tz)}–{moment_text(to_instant(e), tz, on_day=day)}"
                for s, e in sorted(own)
            )
            return refuse(
                f"The patient's other sessions ({times}) leave no room for this one on "
                f"{day_text(day)}."
            )
    spacing = context.min_spacing_hours * 3600
    if spacing and context.series_starts:
        near = [s for s in context.series_starts if day_start - spacing < s < day_end + spacing]
        allowed &= grid.starts_outside((s - spacing + 1, s + spacing) for s in near)
        if not allowed:
            closest = min(near, key=lambda s: abs(s - (day_start + day_end) // 2))
            return refuse(
                f"Sessions of this series must be at least {context.min_spacing_hours} h apart; "
                f"{day_text(day)} is too close to the session on "
                f"{moment_text(to_instant(closest), tz)}."
            )

    # A prescriber on site for the whole window, where the treatment needs one.
    prescriber_masks: list[tuple[StaffInfo, int]] = []
    if treatment.needs_prescriber:
        for person in snapshot.staff.values():
            if person.role == "prescriber" and person.active:
                mask = allowed & grid.starts_within(person.coverage, patient_seconds)
                if mask:
                    prescriber_masks.append((person, mask))
        if not prescriber_masks:
            return refuse(
                f"No prescriber is on site for a whole session on {day_text(day)}; "
                f"{treatment.name} needs one."
            )
        allowed &= _or(mask for _, mask in prescriber_masks)

    # Chairs: active, capable, not blocked, free for the whole busy window.
    eligible = [
        chair
        for chair in snapshot.chairs
        if chair.active and treatment.capability in chair.capabilities
    ]
    if not eligible:
        return refuse(f"No chair in service at {location.name} can take {treatment.name}.")
    busy_by_chair: dict[int, list[tuple[int, int]]] = {chair.id: [] for chair in eligible}
    for appointment in todays:
        if appointment.chair_id in busy_by_chair:
            busy_by_chair[appointment.chair_id].append((appointment.starts, appointment.busy_until))
    chair_masks: list[tuple[ChairInfo, int, list[int]]] = []
    for chair in eligible:
        busy = busy_by_chair[chair.id] + [(start, end) for start, end, _ in chair.blocks]
        mask = allowed & grid.starts_clear_of(busy, chair_seconds)
        if mask:
            chair_masks.append((chair, mask, sorted(end for _, end in busy)))
    if not chair_masks:
        blocked = [chair for chair in eligible if chair.blocks and not busy_by_chair[chair.id]]
        if len(eligible) == 1:
            chair = eligible[0]
            if chair.blocks:
                _, end, why = max(chair.blocks, key=lambda block: block[1])
                return refuse(
                    f"{chair.text} is out of service"
                    + (f" ({why})" if why else "")
                    + f" until {moment_text(to_instant(end), tz, on_day=day)}."
                )
            return refuse(f"{chair.text} is fully booked on {day_text(day)}.")
        detail = f" ({len(blocked)} out of service)" if blocked else ""
        return refuse(
            f"All {len(eligible)} chairs that can take {treatment.name} are booked{detail} "
            f"whenever this session could start on {day_text(day)}."
        )
    allowed &= _or(mask for _, mask, _ in chair_masks)

    # Monitors: certified on the day, on shift and not off, under both load limits.
    today = local_date(snapshot, context.now)
    qualified: list[StaffInfo] = []
    problems: list[str] = []
    for person in snapshot.staff.values():
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
        elif any(start < day_end and end > day_start for start, end in person.shifts):
            qualified.append(person)
    if not qualified:
        detail = " " + " ".join(problems[:3]) if problems else ""
        return refuse(f"No one on shift on {day_text(day)} can monitor {treatment.name}.{detail}")
    by_monitor: dict[int, list[Booked]] = {person.id: [] for person in qualified}
    for appointment in todays:
        if appointment.monitor_id in by_monitor:
            by_monitor[appointment.monitor_id].append(appointment)
    starts_limit = context.settings.max_starts_per_monitor_per_15min
    monitor_masks: list[tuple[StaffInfo, int, StartIndex]] = []
    for person in qualified:
        mask = allowed & grid.starts_within(person.coverage, patient_seconds)
        if not mask:
            continue
        theirs = by_monitor[person.id]
        if theirs:
            mask &= grid.starts_outside(
                monitor_blocked_spans(theirs, treatment.max_per_monitor, patient_seconds)
            )
            mask &= grid.starts_outside(
                crowded_start_spans([a.starts for a in theirs], starts_limit)
            )
        if mask:
            monitor_masks.append((person, mask, StartIndex.of(theirs)))
    if not monitor_masks:
        if len(qualified) == 1:
            person = qualified[0]
            for start in bits(allowed):
                problem = presence_problem(
                    snapshot, person, grid.time(start), grid.time(start) + patient_seconds, day
                )
                if problem:
                    return refuse(problem)
                break
            return refuse(
                f"{person.text} is the only one who can monitor {treatment.name} on "
                f"{day_text(day)} and is fully booked whenever a chair is free."
            )
        return refuse(
            f"The staff who can monitor {treatment.name} on {day_text(day)} "
            f"({_names(qualified)}) are off shift or fully booked whenever a chair is free."
        )
    allowed &= _or(mask for _, mask, _ in monitor_masks)
    opening = min(start for start, _ in open_spans)
    ranking = Ranking(
        snapshot,
        grid,
        allowed,
        todays,
        chair_masks,
        monitor_masks,
        prescriber_masks,
        context,
        opening,
    )
    return DayResult(day, ranking)


def _or(masks: Iterable[int]) -> int:
    combined = 0
    for mask in masks:
        combined |= mask
    return combined


class Ranking:
    """The feasible starts of a day in cost order, computed lazily.

    Every start first gets its resource-independent cost (preferences, series time, load at
    the location); the chair, monitor and prescriber, whose costs only add to it, are chosen
    when the start reaches the front of the queue. Callers that want the best few options
    (a preview wants four) so evaluate a handful of starts in full, not all of them.
    """

    def __init__(
        self,
        snapshot: Snapshot,
        grid: DayGrid,
        allowed: int,
        todays: list[Booked],
        chair_masks: list[tuple[ChairInfo, int, list[int]]],
        monitor_masks: list[tuple[StaffInfo, int, StartIndex]],
        prescriber_masks: list[tuple[StaffInfo, int]],
        context: SearchContext,
        opening: int,
    ) -> None:
        self.snapshot = snapshot
        self.grid = grid
        self.chair_masks = chair_masks
        self.monitor_masks = monitor_masks
        self.prescriber_masks = prescriber_masks
        self.preferences = context.preferences
        self.opening = opening
        self.base = self._base_costs(allowed, todays)

    def _base_costs(self, allowed: int, todays: list[Booked]) -> list[tuple[float, int]]:
        grid, preferences = self.grid, self.preferences
        patient_seconds = self.snapshot.treatment.patient_seconds
        here = StartIndex.of(a for a in todays if a.location_id == self.snapshot.location.id)
        day_cost = (
            OTHER_WEEKDAY_COST
            if preferences.weekdays and grid.day.weekday() not in preferences.weekdays
            else 0.0
        )
        # Local minute of day: grid steps from local midnight, unless the clocks change today.
        steady = (
            to_instant(grid.origin).astimezone(grid.tz).utcoffset()
            == to_instant(grid.time(grid.size) - 1).astimezone(grid.tz).utcoffset()
        )
        earliest, latest = preferences.preferred_start_minute, preferences.preferred_end_minute
        anchor = preferences.anchor_minute
        costs = []
        for index in bits(allowed):
            starts = grid.time(index)
            if steady:
                minute = index * grid.step // 60
            else:
                local = to_instant(starts).astimezone(grid.tz)
                minute = local.hour * 60 + local.minute
            cost = day_cost + index * EARLIER_WEIGHT
            if earliest is not None and minute < earliest:
                cost += (earliest - minute) * PREFERRED_HOURS_WEIGHT
            if latest is not None and minute > latest:
                cost += (minute - latest) * PREFERRED_HOURS_WEIGHT
            if anchor is not None:
                cost += min(abs(minute - anchor) * SERIES_TIME_WEIGHT, SERIES_TIME_CAP)
            cost += LOCATION_RUNNING_COST * here.overlapping(starts, starts + patient_seconds)
            cost += LOCATION_START_COST * here.starts_between(
                starts - LEVELLING_WINDOW + 1, starts + LEVELLING_WINDOW
            )
            costs.append((cost, index))
        return costs

    def __len__(self) -> int:
        return len(self.base)

    def __iter__(self) -> Iterator[Option]:
        heap = list(self.base)
        heapq.heapify(heap)
        complete: dict[int, Option] = {}
        while heap:
            cost, index = heapq.heappop(heap)
            option = complete.get(index)
            if option is not None:
                yield option
                continue
            option = self._complete(index, cost)
            if option is None:  # cannot happen: the masks were combined
                continue
            complete[index] = option
            heapq.heappush(heap, (option.cost, index))

    def _complete(self, index: int, base_cost: float) -> Option | None:
        """Choose the chair, monitor and prescriber for one start and add their costs."""
        preferences = self.preferences
        starts = self.grid.time(index)
        patient_seconds = self.snapshot.treatment.patient_seconds
        cost = base_cost

        best_chair: ChairInfo | None = None
        best_chair_cost = 0.0
        for chair, mask, busy_ends in self.chair_masks:
            if not mask >> index & 1:
                continue
            chair_cost = 0.0
            if preferences.anchor_chair is not None and chair.id != preferences.anchor_chair:
                chair_cost += OTHER_CHAIR_COST
            # Pack chairs: prefer the one that has stood idle the shortest.
            position = bisect_right(busy_ends, starts)
            idle_since = max(busy_ends[position - 1], self.opening) if position else self.opening
            chair_cost += max(starts - idle_since, 0) / 60 * CHAIR_GAP_WEIGHT
            if best_chair is None or chair_cost < best_chair_cost:
                best_chair, best_chair_cost = chair, chair_cost

        best_monitor: StaffInfo | None = None
        best_monitor_cost = 0.0
        for person, mask, theirs in self.monitor_masks:
            if not mask >> index & 1:
                continue
            monitor_cost = 0.0
            if preferences.anchor_monitor is not None and person.id != preferences.anchor_monitor:
                monitor_cost += OTHER_MONITOR_COST
            monitor_cost += MONITOR_RUNNING_COST * theirs.overlapping(
                starts, starts + patient_seconds
            )
            monitor_cost += MONITOR_START_COST * theirs.starts_between(
                starts - 2 * LEVELLING_WINDOW, starts + 2 * LEVELLING_WINDOW
            )
            if best_monitor is None or monitor_cost < best_monitor_cost:
                best_monitor, best_monitor_cost = person, monitor_cost

        best_prescriber: StaffInfo | None = None
        if self.prescriber_masks:
            candidates = sorted(
                (person for person, mask in self.prescriber_masks if mask >> index & 1),
                key=lambda person: (person.id != preferences.anchor_prescriber, person.name),
            )
            best_prescriber = candidates[0] if candidates else None
            if best_prescriber is None:
                return None
            if (
                preferences.anchor_prescriber is not None
                and best_prescriber.id != preferences.anchor_prescriber
            ):
                cost += OTHER_PRESCRIBER_COST
        if best_chair is None or best_monitor is None:
            return None
        return Option(
            starts=starts,
            chair=best_chair,
            monitor=best_monitor,
            prescriber=best_prescriber,
            cost=cost + best_chair_cost + best_monitor_cost,
        )


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
    for option in result.ranked():
        if any(abs(option.starts - other.starts) < apart for other in chosen):
            continue
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
