"""Expanding weekly shift templates into concrete shifts.

Shifts are stored concretely so the scheduler reads one table in one query and a manager can
adjust a single day; templates are the pattern they come from. Expansion is idempotent
(unique staff + start), so the daily job and ``clinic seed-demo`` can run it as often as
they like.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..models import Location, Shift, ShiftTemplate

# How far ahead weekly patterns are kept expanded into concrete shifts: a new pattern at
# once, and the job that runs every few hours keeps extending it.
SHIFT_HORIZON_DAYS = 180


def local_instant(day: dt.date, wall_time: dt.time, tz: ZoneInfo) -> dt.datetime:
    """The UTC instant of a wall-clock time on a day at a location (DST-safe)."""
    return dt.datetime.combine(day, wall_time, tzinfo=tz).astimezone(dt.UTC)


def materialize_shifts(session: Session, *, start: dt.date, end: dt.date) -> int:
    """Create the Shift rows that templates call for on days ``start`` to ``end`` inclusive.

    Returns how many were added. The caller commits.
    """
    templates = session.scalars(
        sa.select(ShiftTemplate).where(
            ShiftTemplate.effective_from <= end,
            sa.or_(ShiftTemplate.effective_until.is_(None), ShiftTemplate.effective_until >= start),
        )
    ).all()
    if not templates:
        return 0
    timezones = {
        location.id: ZoneInfo(location.timezone)
        for location in session.scalars(sa.select(Location)).all()
    }
    window_start = dt.datetime.combine(start, dt.time(0), tzinfo=dt.UTC)
    existing = {
        (staff_id, starts_at)
        for staff_id, starts_at in session.execute(
            sa.select(Shift.staff_id, Shift.starts_at).where(
                Shift.starts_at >= window_start - dt.timedelta(days=1),
                Shift.starts_at < window_start + dt.timedelta(days=(end - start).days + 2),
            )
        )
    }
    added = 0
    day = start
    while day <= end:
        for template in templates:
            if template.weekday != day.weekday():
                continue
            if day < template.effective_from or (
                template.effective_until is not None and day > template.effective_until
            ):
                continue
            tz = timezones[template.location_id]
            starts_at = local_instant(day, template.starts, tz)
            if (template.staff_id, starts_at) in existing:
                continue
            session.add(
                Shift(
                    staff_id=template.staff_id,
                    location_id=template.location_id,
                    starts_at=starts_at,
                    ends_at=local_instant(day, template.ends, tz),
                    template_id=template.id,
                )
            )
            existing.add((template.staff_id, starts_at))
            added += 1
        day += dt.timedelta(days=1)
    return added
