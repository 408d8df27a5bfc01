"""Locations, their opening hours and closures; chairs and their out-of-service blocks.

Each function validates first, applies the change, audits it and commits once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import available_timezones

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..audit import Actor
from ..models import (
    LIVE_STATUSES,
    Appointment,
    Capability,
    Chair,
    ChairBlock,
    Closure,
    Location,
    OpeningHours,
)
from ..notify.phone import normalise_phone
from ..patients import normalise_email
from ..scheduling import impact
from ..scheduling.impact import CHOICE, Scope
from ..scheduling.shifts import local_instant
from .common import (
    WEEKDAYS,
    SetupError,
    apply_changes,
    audit,
    clean_text,
    commit_or_conflict,
    get_or_fail,
    local_to_utc,
    require_text,
)


@dataclass(frozen=True, slots=True)
class LocationInput:
    name: str
    timezone: str
    address: str = ""
    phone: str | None = None
    email: str | None = None
    active: bool = True


def _clean_location(
    session: Session, data: LocationInput, location_id: int | None
) -> dict[str, Any]:
    errors: dict[str, str] = {}
    name = clean_text(data.name, 120)
    require_text(errors, "name", name, "location name", 120)
    address = (data.address or "").strip()
    if len(address) > 300:
        errors["address"] = "Use at most 300 characters."
    timezone = (data.timezone or "").strip()
    if timezone not in available_timezones():
        errors["timezone"] = "Choose a time zone from the list, e.g. America/New_York."
    phone = email = None
    try:
        phone = normalise_phone(data.phone)
    except ValueError as error:
        errors["phone"] = str(error)
    try:
        email = normalise_email(data.email)
    except ValueError as error:
        errors["email"] = str(error)
    if name and "name" not in errors:
        query = sa.select(Location.id).where(sa.func.lower(Location.name) == name.lower())
        if location_id is not None:
            query = query.where(Location.id != location_id)
        if session.scalar(query) is not None:
            errors["name"] = "Another location already has this name."
    if errors:
        raise SetupError(errors)
    return {
        "name": name,
        "address": address,
        "timezone": timezone,
        "phone": phone,
        "email": email,
        "active": bool(data.active),
    }


def save_location(
    session: Session,
    *,
    location_id: int | None,
    data: LocationInput,
    actor: Actor,
    now: dt.datetime,
    proceed: bool = False,
) -> Location:
    """Add or change a location; deactivating one with sessions booked is an impact
    choice (refused with the sessions unless ``proceed``)."""
    values = _clean_location(session, data, location_id)
    if location_id is None:
        location = Location(**values)
        session.add(location)
        session.flush()
        audit(session, actor, "location.create", "location", location.id)
    else:
        location = get_or_fail(session, Location, location_id, "location")
        if location.timezone != values["timezone"] and has_future_sessions(session, location.id):
            raise SetupError(
                {"timezone": "This location has sessions booked; its time zone cannot change."}
            )
        watch = impact.watch(session, Scope(location_ids={location.id}), now=now)
        changed = apply_changes(location, values)
        if not changed:
            return location
        impact.settle(
            session,
            watch,
            change="location.update",
            kind=CHOICE,
            proceed=proceed,
            actor=actor,
            now=now,
        )
        audit(
            session,
            actor,
            "location.update",
            "location",
            location.id,
            "changed: " + ", ".join(changed),
        )
    commit_or_conflict(session, {"name": "Another location already has this name."})
    return location


def has_future_sessions(session: Session, location_id: int) -> bool:
    return (
        session.scalar(
            sa.select(Appointment.id)
            .where(
                Appointment.location_id == location_id,
                Appointment.status.in_(LIVE_STATUSES),
            )
            .limit(1)
        )
        is not None
    )


@dataclass(frozen=True, slots=True)
class OpeningInterval:
    weekday: int
    opens: dt.time
    closes: dt.time


def set_opening_hours(
    session: Session,
    *,
    location_id: int,
    intervals: Sequence[OpeningInterval],
    actor: Actor,
    now: dt.datetime,
    proceed: bool = False,
) -> Location:
    """Replace the weekly opening hours. A day without intervals is a closed day. Hours
    that leave booked sessions outside them are refused with the list unless ``proceed``."""
    location = get_or_fail(session, Location, location_id, "location")
    errors: dict[str, str] = {}
    by_day: dict[int, list[OpeningInterval]] = {}
    for interval in intervals:
        if not 0 <= interval.weekday <= 6:
            errors[""] = "A weekday must be between Monday and Sunday."
            continue
        if interval.closes <= interval.opens:
            errors[f"day{interval.weekday}"] = (
                f"{WEEKDAYS[interval.weekday]}: the closing time must be after the opening time."
            )
        by_day.setdefault(interval.weekday, []).append(interval)
    for weekday, items in by_day.items():
        items.sort(key=lambda i: i.opens)
        for before, after in zip(items, items[1:], strict=False):
            if after.opens < before.closes:
                errors[f"day{weekday}"] = f"{WEEKDAYS[weekday]}: the two opening times overlap."
    if errors:
        raise SetupError(errors)
    watch = impact.watch(session, Scope(location_ids={location.id}), now=now)
    location.opening_hours.clear()
    session.flush()
    for interval in sorted(intervals, key=lambda i: (i.weekday, i.opens)):
        location.opening_hours.append(
            OpeningHours(weekday=interval.weekday, opens=interval.opens, closes=interval.closes)
        )
    impact.settle(
        session, watch, change="location.hours", kind=CHOICE, proceed=proceed, actor=actor, now=now
    )
    audit(
        session,
        actor,
        "location.hours",
        "location",
        location.id,
        f"location {location.id} opening hours set ({len(intervals)} intervals)",
    )
    session.commit()
    return location


def add_closure(
    session: Session,
    *,
    location_id: int,
    date: dt.date | None,
    reason: str,
    actor: Actor,
    now: dt.datetime,
    proceed: bool = False,
) -> Closure:
    """Close a day; sessions booked on it are listed and the closure refused unless
    ``proceed`` (they then go onto the Needs rebooking list)."""
    location = get_or_fail(session, Location, location_id, "location")
    errors: dict[str, str] = {}
    reason = clean_text(reason, 200)
    if date is None:
        errors["date"] = "Enter the date the location is closed."
    elif date < location.local_today(now):
        errors["date"] = "The closure date is in the past."
    if len(reason) > 200:
        errors["reason"] = "Use at most 200 characters."
    if date is not None and "date" not in errors:
        if session.scalar(
            sa.select(Closure.id).where(Closure.location_id == location_id, Closure.date == date)
        ):
            errors["date"] = "The location is already closed on this day."
    if errors:
        raise SetupError(errors)
    assert date is not None
    scope = Scope(
        location_ids={location_id},
        since=local_instant(date, dt.time(0), location.tz),
        until=local_instant(date + dt.timedelta(days=1), dt.time(0), location.tz),
    )
    watch = impact.watch(session, scope, now=now)
    closure = Closure(location_id=location_id, date=date, reason=reason)
    session.add(closure)
    session.flush()
    impact.settle(
        session, watch, change="closure.create", kind=CHOICE, proceed=proceed, actor=actor, now=now
    )
    audit(
        session,
        actor,
        "closure.create",
        "closure",
        closure.id,
        f"location {location_id} closed {date}",
    )
    commit_or_conflict(session, {"date": "The location is already closed on this day."})
    return closure


def remove_closure(session: Session, *, closure_id: int, actor: Actor, now: dt.datetime) -> int:
    """Reopen the day; returns the location id."""
    closure = get_or_fail(session, Closure, closure_id, "closure")
    location_id = closure.location_id
    watch = impact.watch(session, Scope(location_ids={location_id}), now=now)
    audit(
        session,
        actor,
        "closure.delete",
        "closure",
        closure.id,
        f"location {closure.location_id} reopened {closure.date}",
    )
    session.delete(closure)
    impact.settle(
        session, watch, change="closure.delete", kind=CHOICE, proceed=True, actor=actor, now=now
    )
    session.commit()
    return location_id


def sessions_between(
    session: Session,
    *,
    start: dt.datetime,
    end: dt.datetime,
    location_id: int | None = None,
    chair_id: int | None = None,
    monitor_id: int | None = None,
) -> int:
    query = sa.select(sa.func.count(Appointment.id)).where(
        Appointment.status.in_(LIVE_STATUSES),
        Appointment.starts_at < end,
        Appointment.busy_until > start,
    )
    if location_id is not None:
        query = query.where(Appointment.location_id == location_id)
    if chair_id is not None:
        query = query.where(Appointment.chair_id == chair_id)
    if monitor_id is not None:
        query = query.where(Appointment.monitor_id == monitor_id, Appointment.ends_at > start)
    return int(session.scalar(query) or 0)


# --- chairs -------------------------------------------------------------------------------


def save_chair(
    session: Session,
    *,
    chair_id: int | None,
    location_id: int,
    label: str,
    capabilities: Sequence[str],
    active: bool,
    actor: Actor,
    now: dt.datetime,
    proceed: bool = False,
) -> Chair:
    """Add or change a chair; taking it out of service or removing a capability its
    sessions need is refused with the sessions unless ``proceed``."""
    get_or_fail(session, Location, location_id, "location")
    errors: dict[str, str] = {}
    label = clean_text(label, 40)
    require_text(errors, "label", label, "chair label", 40)
    known = {c.value for c in Capability}
    chosen = sorted({c for c in capabilities if c})
    if not chosen:
        errors["capabilities"] = "Tick at least one treatment route the chair can take."
    elif unknown := [c for c in chosen if c not in known]:
        errors["capabilities"] = f"Unknown capability: {', '.join(unknown)}."
    if label and "label" not in errors:
        query = sa.select(Chair.id).where(
            Chair.location_id == location_id, sa.func.lower(Chair.label) == label.lower()
        )
        if chair_id is not None:
            query = query.where(Chair.id != chair_id)
        if session.scalar(query) is not None:
            errors["label"] = "This location already has a chair with this label."
    if errors:
        raise SetupError(errors)
    values = {"label": label, "capabilities": chosen, "active": bool(active)}
    if chair_id is None:
        chair = Chair(location_id=location_id, **values)
        session.add(chair)
        session.flush()
        audit(session, actor, "chair.create", "chair", chair.id)
    else:
        chair = get_or_fail(session, Chair, chair_id, "chair")
        watch = impact.watch(session, Scope(chair_ids={chair.id}), now=now)
        changed = apply_changes(chair, values)
        if not changed:
            return chair
        impact.settle(
            session,
            watch,
            change="chair.update",
            kind=CHOICE,
            proceed=proceed,
            actor=actor,
            now=now,
        )
        audit(session, actor, "chair.update", "chair", chair.id, "changed: " + ", ".join(changed))
    commit_or_conflict(session, {"label": "This location already has a chair with this label."})
    return chair


def add_chair_block(
    session: Session,
    *,
    chair_id: int,
    starts_at: dt.datetime | None,
    ends_at: dt.datetime | None,
    reason: str,
    actor: Actor,
    now: dt.datetime,
    proceed: bool = False,
) -> ChairBlock:
    """Take a chair out of service. Naive datetimes are the location's wall-clock time.

    Sessions booked in the chair in the window are listed and the block refused unless
    ``proceed``: it would otherwise leave patients booked into a broken chair unnoticed.
    """
    chair = get_or_fail(session, Chair, chair_id, "chair")
    tz = chair.location.tz
    errors: dict[str, str] = {}
    reason = clean_text(reason, 200)
    if starts_at is None:
        errors["starts_at"] = "Enter when the chair goes out of service."
    if ends_at is None:
        errors["ends_at"] = "Enter when the chair is back in service."
    if len(reason) > 200:
        errors["reason"] = "Use at most 200 characters."
    if errors:
        raise SetupError(errors)
    assert starts_at is not None and ends_at is not None
    start, end = local_to_utc(starts_at, tz), local_to_utc(ends_at, tz)
    if end <= start:
        raise SetupError({"ends_at": "The end must be after the start."})
    if end <= now:
        raise SetupError({"ends_at": "This window is already over."})
    watch = impact.watch(session, Scope(chair_ids={chair_id}, since=start, until=end), now=now)
    block = ChairBlock(chair_id=chair_id, starts_at=start, ends_at=end, reason=reason)
    session.add(block)
    session.flush()
    impact.settle(
        session,
        watch,
        change="chair_block.create",
        kind=CHOICE,
        proceed=proceed,
        actor=actor,
        now=now,
    )
    audit(
        session, actor, "chair_block.create", "chair_block", block.id, f"chair {chair_id} blocked"
    )
    session.commit()
    return block


def remove_chair_block(session: Session, *, block_id: int, actor: Actor, now: dt.datetime) -> int:
    """Put the chair back in service for that window; returns the chair id."""
    block = get_or_fail(session, ChairBlock, block_id, "out-of-service block")
    chair_id = block.chair_id
    watch = impact.watch(session, Scope(chair_ids={chair_id}), now=now)
    audit(
        session,
        actor,
        "chair_block.delete",
        "chair_block",
        block.id,
        f"chair {block.chair_id} block removed",
    )
    session.delete(block)
    impact.settle(
        session,
        watch,
        change="chair_block.delete",
        kind=CHOICE,
        proceed=True,
        actor=actor,
        now=now,
    )
    session.commit()
    return chair_id
