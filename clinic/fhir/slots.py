"""Slot search: free slots are the front desk's availability search (``find_slots``, every
rule applied) and busy slots the time live sessions hold a chair or a monitor.

The work is bounded by configuration, not by results: one ``find_slots`` call (a few bulk
queries) per active location searched, and one query for the busy time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from fhir.resources.R4B.slot import Slot as FhirSlot
from sqlalchemy.orm import Session

from .. import scheduling
from ..models import Chair, Location, Staff, TreatmentType
from . import mapping as m
from . import resources
from .params import DateBound, FhirError, bad_parameter
from .search import active_locations, busy_appointments

DEFAULT_WINDOW = dt.timedelta(days=7)
MAX_WINDOW = dt.timedelta(days=31)
# Up to this many starts a day per location (at least 30 minutes apart, best first), and
# in all: enough for a referrer to choose from, bounded so a search stays quick.
STARTS_PER_DAY = 12
MAX_FREE_SLOTS = 1000
UTC = ZoneInfo("UTC")


@dataclass(frozen=True, slots=True)
class SlotQuery:
    statuses: frozenset[str]
    starts: Sequence[DateBound]
    chair_id: int | None = None
    monitor_id: int | None = None
    # The schedule asked for does not exist (or is not a chair's or a monitor's).
    no_schedule: bool = False
    treatment_type_id: int | None = None


def _window(
    bounds: Sequence[DateBound], tz: ZoneInfo, now: dt.datetime
) -> tuple[dt.datetime, dt.datetime]:
    low: dt.datetime | None = None
    high: dt.datetime | None = None
    for bound in bounds:
        start, end = bound.instants(tz)
        if bound.prefix == "ne":
            raise bad_parameter("start", "the prefix 'ne' is not supported here.")
        if bound.prefix in ("eq", "ge", "gt"):
            edge = end if bound.prefix == "gt" else start
            low = edge if low is None else max(low, edge)
        if bound.prefix in ("eq", "le", "lt"):
            edge = start if bound.prefix == "lt" else end
            high = edge if high is None else min(high, edge)
    low = low or now
    high = high or low + DEFAULT_WINDOW
    if high - low > MAX_WINDOW:
        raise bad_parameter("start", f"search at most {MAX_WINDOW.days} days of slots at a time.")
    return low, high


def _inside(value: dt.datetime, window: tuple[dt.datetime, dt.datetime]) -> bool:
    return window[0] <= value < window[1]


def search_slots(session: Session, *, query: SlotQuery, now: dt.datetime) -> list[FhirSlot]:
    """The slots, in start order."""
    if query.no_schedule:
        return []
    # Checked up front whatever the time zones: a malformed window is refused even when
    # no location exists yet.
    _window(query.starts, UTC, now)
    found: list[tuple[dt.datetime, str, FhirSlot]] = []
    if m.SLOT_FREE in query.statuses:
        found += _free(session, query=query, now=now)
    if m.SLOT_BUSY in query.statuses:
        found += _busy(session, query=query, now=now)
    found.sort(key=lambda item: (item[0], item[1]))
    return [slot for _, _, slot in found]


def _free(
    session: Session, *, query: SlotQuery, now: dt.datetime
) -> list[tuple[dt.datetime, str, FhirSlot]]:
    if query.treatment_type_id is None:
        raise FhirError(
            400,
            "Search parameter 'service-type': free slots are computed for one treatment type; "
            "give its code (the serviceType of a Schedule), or ask for status=busy only.",
            code="required",
        )
    treatment = session.get(TreatmentType, query.treatment_type_id)
    if treatment is None:
        return []
    locations: list[Location]
    if query.chair_id is not None:
        chair = session.get(Chair, query.chair_id)
        locations = [chair.location] if chair is not None else []
    else:
        locations = active_locations(session)
    if query.monitor_id is not None and session.get(Staff, query.monitor_id) is None:
        return []
    results = []
    for location in locations:
        results += _free_at(session, query=query, treatment=treatment, location=location, now=now)
    return results


def _free_at(
    session: Session,
    *,
    query: SlotQuery,
    treatment: TreatmentType,
    location: Location,
    now: dt.datetime,
) -> list[tuple[dt.datetime, str, FhirSlot]]:
    window = _window(query.starts, location.tz, now)
    if window[1] <= window[0]:
        return []
    first_day = window[0].astimezone(location.tz).date()
    last_day = (window[1] - dt.timedelta(microseconds=1)).astimezone(location.tz).date()
    try:
        offered = scheduling.find_slots(
            session,
            treatment_type_id=treatment.id,
            location_id=location.id,
            start_date=first_day,
            end_date=last_day,
            now=now,
            limit=MAX_FREE_SLOTS,
            per_day=STARTS_PER_DAY,
        )
    except (scheduling.NotFound, scheduling.TreatmentUnavailable):
        # Not bookable there (an inactive location or treatment): no free time, not an error.
        return []
    results = []
    for slot in offered:
        if not _inside(slot.starts_at, window):
            continue
        if query.chair_id is not None and slot.chair_id != query.chair_id:
            continue
        if query.monitor_id is not None and slot.monitor_id != query.monitor_id:
            continue
        schedule_id = (
            m.monitor_schedule_id(slot.monitor_id)
            if query.monitor_id is not None
            else m.chair_schedule_id(slot.chair_id)
        )
        fhir_slot = resources.free_slot(slot, schedule_id=schedule_id, treatment=treatment)
        results.append((slot.starts_at, str(fhir_slot.id), fhir_slot))
    return results


def _busy(
    session: Session, *, query: SlotQuery, now: dt.datetime
) -> list[tuple[dt.datetime, str, FhirSlot]]:
    # A coarse window (local dates read as UTC, a day either side), refined per location.
    coarse_low, coarse_high = _window(query.starts, UTC, now)
    appointments = busy_appointments(
        session,
        start=coarse_low - dt.timedelta(days=1),
        end=coarse_high + dt.timedelta(days=1),
        chair_id=query.chair_id,
        monitor_id=query.monitor_id,
        treatment_type_id=query.treatment_type_id,
    )
    results = []
    windows: dict[str, tuple[dt.datetime, dt.datetime]] = {}
    for appointment in appointments:
        tz = appointment.location.tz
        window = windows.get(tz.key) or windows.setdefault(tz.key, _window(query.starts, tz, now))
        if not _inside(appointment.starts_at, window):
            continue
        views: list[tuple[str, bool]] = []
        if query.monitor_id is None:
            views.append((m.chair_schedule_id(appointment.chair_id), True))
        if query.chair_id is None:
            views.append((m.monitor_schedule_id(appointment.monitor_id), False))
        for schedule_id, is_chair in views:
            fhir_slot = resources.busy_slot(appointment, schedule_id=schedule_id, chair=is_chair)
            results.append((appointment.starts_at, str(fhir_slot.id), fhir_slot))
    return results
