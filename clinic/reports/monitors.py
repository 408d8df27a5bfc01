"""Monitor load: sessions per monitor per day, the most patients a monitor had at once, and
the most starts in any 15 minutes (what the scheduler's levelling keeps down).

Four queries whatever the range: the locations' time zones, sessions per monitor-day
(aggregated twice in SQL), the peaks (window functions over each monitor's sessions), and
the monitors' names.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..models import RELEASED_STATUSES, Appointment, Location, Staff
from ..scheduling.settings import LEVELLING_WINDOW_MINUTES
from . import buckets
from . import figures as f
from .scope import ReportScope
from .table import Cell, Chart, Column, Report, Table

# No session keeps a patient for a day: the peak query reads this far before the range.
LOOKBACK_MINUTES = 24 * 60


def _per_day(
    session: Session, scope: ReportScope, zones: dict[int, ZoneInfo]
) -> dict[int, tuple[int, int, int]]:
    """Monitor id -> (days monitoring, sessions, busiest day's sessions)."""
    day = buckets.local_day(Appointment.starts_at, Location.timezone)
    daily = (
        sa.select(
            Appointment.monitor_id.label("monitor_id"),
            day.label("day"),
            sa.func.count().label("sessions"),
        )
        .join(Location, Location.id == Appointment.location_id)
        .where(
            Appointment.status.not_in(RELEASED_STATUSES),
            scope.instant_conditions(Appointment.starts_at, Appointment.location_id, zones),
        )
        .group_by(Appointment.monitor_id, day)
        .subquery("daily")
    )
    rows = session.execute(
        sa.select(
            daily.c.monitor_id,
            sa.func.count(),
            sa.func.sum(daily.c.sessions),
            sa.func.max(daily.c.sessions),
        ).group_by(daily.c.monitor_id)
    )
    return {int(m): (int(d), int(s), int(b)) for m, d, s, b in rows}


def _peaks(
    session: Session, scope: ReportScope, zones: dict[int, ZoneInfo]
) -> dict[int, tuple[int, int]]:
    """Monitor id -> (peak simultaneous patients, peak starts in any 15 minutes).

    Window functions over each monitor's sessions in time order: a running sum of +1 at each
    start and -1 at each end of monitoring (an end before a start at the same instant) gives
    the patients at once; a count over the starts of the 15 minutes up to each start gives
    the levelling. Sessions of the day before the range are read too, so a session still
    running at the range's start counts; the peaks are taken at starts inside the scope.
    """
    start, end = scope.utc_bounds()
    lookback = start - dt.timedelta(minutes=LOOKBACK_MINUTES)
    in_scope = sa.case(
        (scope.instant_conditions(Appointment.starts_at, Appointment.location_id, zones), 1),
        else_=0,
    )
    live = sa.and_(
        Appointment.status.not_in(RELEASED_STATUSES),
        # A monitor is at one place at a time: the scope's locations hold all their load.
        Appointment.location_id.in_(sorted(zones) or [0]),
        Appointment.starts_at >= lookback,
        Appointment.starts_at < end,
    )
    seconds = buckets.epoch_seconds(Appointment.starts_at)
    starts = sa.select(
        Appointment.monitor_id.label("monitor_id"),
        seconds.label("at"),
        sa.literal(1).label("delta"),
        in_scope.label("in_scope"),
        sa.func.count()
        .over(
            partition_by=Appointment.monitor_id,
            order_by=seconds,
            range_=(-(LEVELLING_WINDOW_MINUTES * 60 - 1), 0),
        )
        .label("recent"),
    ).where(live)
    ends = sa.select(
        Appointment.monitor_id,
        buckets.epoch_seconds(Appointment.ends_at),
        sa.literal(-1),
        sa.literal(0),
        sa.literal(0),
    ).where(live)
    events = sa.union_all(starts, ends).subquery("events")
    running = (
        sa.select(
            events.c.monitor_id,
            events.c.in_scope,
            events.c.recent,
            sa.func.sum(events.c.delta)
            .over(
                partition_by=events.c.monitor_id,
                order_by=(events.c.at, events.c.delta),
                rows=(None, 0),
            )
            .label("running"),
        )
    ).subquery("running")
    rows = session.execute(
        sa.select(
            running.c.monitor_id,
            sa.func.max(running.c.running),
            sa.func.max(running.c.recent),
        )
        .where(running.c.in_scope == 1)
        .group_by(running.c.monitor_id)
    )
    return {int(m): (int(r), int(s)) for m, r, s in rows}


def monitor_load(session: Session, *, scope: ReportScope) -> Report:
    buckets.prepare(session)
    zones = scope.zones(session)
    per_day = _per_day(session, scope, zones)
    peaks = _peaks(session, scope, zones)
    names = dict(
        session.execute(
            sa.select(Staff.id, Staff.name).where(Staff.id.in_(list(per_day) or [0]))
        ).all()
    )
    rows: list[tuple[Cell, ...]] = []
    for monitor_id in sorted(per_day, key=lambda m: (names.get(m, ""), m)):
        days, sessions, busiest = per_day[monitor_id]
        simultaneous, starts = peaks.get(monitor_id, (0, 0))
        rows.append(
            (
                names.get(monitor_id, f"#{monitor_id}"),
                days,
                sessions,
                sessions / days if days else None,
                busiest,
                simultaneous,
                starts,
            )
        )
    if rows:
        days_total = sum(int(row[1] or 0) for row in rows)
        sessions_total = sum(int(row[2] or 0) for row in rows)
        rows.append(
            (
                "All monitors",
                days_total,
                sessions_total,
                sessions_total / days_total if days_total else None,
                max(int(row[4] or 0) for row in rows),
                max(int(row[5] or 0) for row in rows),
                max(int(row[6] or 0) for row in rows),
            )
        )
    table = Table(
        "by_monitor",
        "Load per monitor",
        (
            Column("Monitor"),
            Column.of(f.MONITOR_DAYS),
            Column.of(f.MONITOR_SESSIONS),
            Column.of(f.SESSIONS_PER_DAY),
            Column.of(f.BUSIEST_DAY),
            Column.of(f.PEAK_SIMULTANEOUS),
            Column.of(f.PEAK_STARTS_PER_15),
        ),
        rows,
        total_rows=1 if rows else 0,
    )
    return Report(
        key="monitors",
        title="Monitor load",
        tables=[table],
        charts=[
            Chart(
                "by_monitor",
                "Sessions per day and peaks, per monitor",
                "bar",
                "by_monitor",
                "Monitor",
                (f.SESSIONS_PER_DAY.label, f.PEAK_SIMULTANEOUS.label, f.PEAK_STARTS_PER_15.label),
            )
        ],
    )
