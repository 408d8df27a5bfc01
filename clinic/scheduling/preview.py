"""Read-only services: preview a series and find free slots. They write nothing.

Both load their date range in one snapshot (a constant number of queries, see
``snapshot.load_snapshot``) and evaluate candidate starts in memory. They leave the
session's transaction to the caller (a web request ends it at teardown).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from .errors import InvalidPlan, InvalidRequest
from .plans import SeriesPlan
from .search import (
    Option,
    Preferences,
    SearchContext,
    Slot,
    best_options,
    evaluate_day,
    to_slot,
)
from .settings import DEFAULT_SETTINGS, SchedulingSettings
from .snapshot import Snapshot, load_snapshot, require_bookable, to_instant, to_seconds

MAX_SEARCH_DAYS = 92
ALTERNATIVES = 3
# Alternatives on the same day are offered at least this far apart.
ALTERNATIVE_GAP = 30 * 60


@dataclass(frozen=True, slots=True)
class ProposedSession:
    """One planned session: the proposal (or why there is none) and some alternatives."""

    index: int  # 1-based position in the series
    target_date: dt.date
    slot: Slot | None
    reason: str | None
    alternatives: tuple[Slot, ...]


@dataclass(frozen=True, slots=True)
class SeriesPreview:
    plan: SeriesPlan
    patient_id: int
    location_name: str
    treatment_name: str
    timezone: str
    sessions: tuple[ProposedSession, ...]

    @property
    def complete(self) -> bool:
        return all(proposed.slot is not None for proposed in self.sessions)

    @property
    def slots(self) -> list[Slot]:
        return [proposed.slot for proposed in self.sessions if proposed.slot is not None]

    @property
    def problems(self) -> list[ProposedSession]:
        return [proposed for proposed in self.sessions if proposed.slot is None]


def check_now(now: dt.datetime) -> int:
    if now.tzinfo is None or now.utcoffset() is None:
        raise InvalidRequest("The current time must be timezone-aware.")
    return to_seconds(now)


EARLIEST_PLAN_DATE = dt.date(2000, 1, 1)
LATEST_PLAN_DATE = dt.date(2999, 12, 31)


def validate_plan(plan: SeriesPlan) -> None:
    if not plan.dates:
        raise InvalidPlan("A series needs at least one session.")
    # Keeps date arithmetic (alternatives either side, the snapshot's margins) in range.
    if min(plan.dates) < EARLIEST_PLAN_DATE or max(plan.dates) > LATEST_PLAN_DATE:
        raise InvalidPlan(
            f"Choose dates between {EARLIEST_PLAN_DATE.year} and {LATEST_PLAN_DATE.year}."
        )
    if (max(plan.dates) - min(plan.dates)).days > 366:
        raise InvalidPlan("A series cannot span more than a year.")


def preferences_for(plan: SeriesPlan) -> Preferences:
    def minute(value: dt.time | None) -> int | None:
        return None if value is None else value.hour * 60 + value.minute

    return Preferences(
        preferred_start_minute=minute(plan.preferred_start),
        preferred_end_minute=minute(plan.preferred_end),
        weekdays=plan.weekdays,
    )


def load_for_plan(
    session: Session,
    *,
    patient_id: int,
    plan: SeriesPlan,
    settings: SchedulingSettings,
    now: int,
    extra_dates: Iterable[dt.date] = (),
) -> Snapshot:
    """The snapshot for a plan's dates (and any others, e.g. accepted alternatives), with
    room either side for alternatives; never further back than yesterday."""
    validate_plan(plan)
    dates = [*plan.dates, *extra_dates]
    margin = dt.timedelta(days=settings.alternative_days)
    yesterday = to_instant(now).date() - dt.timedelta(days=1)
    first_day = max(min(dates) - margin, min(min(dates), yesterday))
    snapshot = load_snapshot(
        session,
        location_id=plan.location_id,
        treatment_type_id=plan.treatment_type_id,
        patient_id=patient_id,
        first_day=first_day,
        last_day=max(dates) + margin,
        pad_hours=plan.min_hours_between,
    )
    require_bookable(snapshot)
    return snapshot


def propose_sessions(
    snapshot: Snapshot,
    plan: SeriesPlan,
    *,
    now: int,
    settings: SchedulingSettings,
    with_alternatives: bool = True,
) -> list[ProposedSession]:
    """Choose a slot for each target date in order; each choice is added to the snapshot so
    the next sessions see it (spacing, same chair and monitor, load)."""
    preferences = preferences_for(plan)
    context = SearchContext(
        now=now,
        settings=settings,
        min_spacing_hours=plan.min_hours_between,
        series_starts=[],
        preferences=preferences,
    )
    proposed: list[ProposedSession] = []
    for index, target in enumerate(plan.dates, start=1):
        result = evaluate_day(snapshot, target, context)
        chosen = best_options(
            snapshot,
            result,
            context,
            count=1 + (ALTERNATIVES if with_alternatives else 0),
            apart=ALTERNATIVE_GAP,
        )
        if chosen:
            best = chosen[0]
            proposed.append(
                ProposedSession(
                    index=index,
                    target_date=target,
                    slot=to_slot(snapshot, best),
                    reason=None,
                    alternatives=tuple(to_slot(snapshot, other) for other in chosen[1:]),
                )
            )
            _accept(snapshot, context, best)
            continue
        reason = result.reason or "No chair and monitor are free together on that day."
        alternatives = nearby_alternatives(snapshot, target, context) if with_alternatives else []
        proposed.append(
            ProposedSession(
                index=index,
                target_date=target,
                slot=None,
                reason=reason,
                alternatives=tuple(to_slot(snapshot, option) for option in alternatives),
            )
        )
    return proposed


def _accept(snapshot: Snapshot, context: SearchContext, option: Option) -> None:
    snapshot.add_proposal(
        starts=option.starts,
        chair_id=option.chair.id,
        monitor_id=option.monitor.id,
        prescriber_id=option.prescriber.id if option.prescriber else None,
    )
    context.series_starts.append(option.starts)
    preferences = context.preferences
    if preferences.anchor_minute is None:
        local = to_instant(option.starts).astimezone(snapshot.tz)
        preferences.anchor_minute = local.hour * 60 + local.minute
        preferences.anchor_chair = option.chair.id
        preferences.anchor_monitor = option.monitor.id
        preferences.anchor_prescriber = option.prescriber.id if option.prescriber else None


def nearby_alternatives(
    snapshot: Snapshot, target: dt.date, context: SearchContext
) -> list[Option]:
    """The best slot on each of the nearest bookable days around ``target``."""
    found: list[Option] = []
    for distance in range(1, context.settings.alternative_days + 1):
        for day in (target - dt.timedelta(days=distance), target + dt.timedelta(days=distance)):
            if not snapshot.first_day <= day <= snapshot.last_day:
                continue
            best = best_options(snapshot, evaluate_day(snapshot, day, context), context, count=1)
            found += best
            if len(found) == ALTERNATIVES:
                return found
    return found


def preview_series(
    session: Session,
    *,
    patient_id: int,
    plan: SeriesPlan,
    now: dt.datetime,
    settings: SchedulingSettings | None = None,
) -> SeriesPreview:
    """Propose a start, chair, monitor (and prescriber) for every planned session, or say
    why a date cannot be met and offer the nearest alternatives. Writes nothing."""
    settings = settings or DEFAULT_SETTINGS
    now_seconds = check_now(now)
    snapshot = load_for_plan(
        session, patient_id=patient_id, plan=plan, settings=settings, now=now_seconds
    )
    sessions = propose_sessions(snapshot, plan, now=now_seconds, settings=settings)
    return SeriesPreview(
        plan=plan,
        patient_id=patient_id,
        location_name=snapshot.location.name,
        treatment_name=snapshot.treatment.name,
        timezone=snapshot.location.tz.key,
        sessions=tuple(sessions),
    )


def find_slots(
    session: Session,
    *,
    treatment_type_id: int,
    location_id: int,
    start_date: dt.date,
    end_date: dt.date,
    now: dt.datetime,
    patient_id: int | None = None,
    limit: int = 20,
    per_day: int = 4,
    settings: SchedulingSettings | None = None,
) -> list[Slot]:
    """Free slots for one session from ``start_date`` to ``end_date`` (local dates,
    inclusive): the ``per_day`` best-ranked starts of each day, at least 30 minutes apart,
    in time order, up to ``limit`` in all."""
    settings = settings or DEFAULT_SETTINGS
    now_seconds = check_now(now)
    if end_date < start_date:
        raise InvalidRequest("The search ends before it starts.")
    if (end_date - start_date).days >= MAX_SEARCH_DAYS:
        raise InvalidRequest(f"Search at most {MAX_SEARCH_DAYS} days at a time.")
    if limit < 1 or per_day < 1:
        return []
    snapshot = load_snapshot(
        session,
        location_id=location_id,
        treatment_type_id=treatment_type_id,
        patient_id=patient_id,
        first_day=start_date,
        last_day=end_date,
    )
    require_bookable(snapshot)
    context = SearchContext(now=now_seconds, settings=settings)
    slots: list[Slot] = []
    day = start_date
    while day <= end_date and len(slots) < limit:
        result = evaluate_day(snapshot, day, context)
        chosen = best_options(snapshot, result, context, count=per_day, apart=ALTERNATIVE_GAP)
        slots += sorted((to_slot(snapshot, option) for option in chosen), key=lambda s: s.starts_at)
        day += dt.timedelta(days=1)
    return slots[:limit]
