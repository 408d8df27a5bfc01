"""Monitor load: sessions per monitor per day, the most patients a monitor had at once, and
the most starts in any 15 minutes (what the scheduler's levelling keeps down).

Three queries whatever the range: sessions per monitor-day (aggregated twice in SQL), the
peaks (each session against the same monitor's sessions of the 24 hours before it), and the
monitors' names.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from ..models import RELEASED_STATUSES, Appointment, Location, Staff
from ..scheduling.settings import LEVELLING_WINDOW_MINUTES
from . import buckets
from . import figures as f
from .scope import ReportScope
from .table import Cell, Chart, Column, Report, Table

# No session keeps a patient for a day: the peak query looks back this far from each start.
LOOKBACK_MINUTES = 24 * 60


def _per_day(session: Session, scope: ReportScope) -> dict[int, tuple[int, int, int]]:
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
            *scope.instant_conditions(Appointment.starts_at, Appointment.location_id),
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


def _peaks(session: Session, scope: ReportScope) -> dict[int, tuple[int, int]]:
    """Monitor id -> (peak simultaneous patients, peak starts in any 15 minutes)."""
    other = aliased(Appointment, name="other")
    gap = buckets.minutes_between(other.starts_at, Appointment.starts_at)
    running = sa.case((other.ends_at > Appointment.starts_at, 1), else_=0)
    recent = sa.case((gap < LEVELLING_WINDOW_MINUTES, 1), else_=0)
    per_session = (
        sa.select(
            Appointment.monitor_id.label("monitor_id"),
            sa.func.sum(running).label("running"),
            sa.func.sum(recent).label("recent"),
        )
        .join(Location, Location.id == Appointment.location_id)
        .join(
            other,
            sa.and_(
                other.monitor_id == Appointment.monitor_id,
                other.starts_at <= Appointment.starts_at,
                other.starts_at >= buckets.shifted(Appointment.starts_at, -LOOKBACK_MINUTES),
                other.status.not_in(RELEASED_STATUSES),
            ),
        )
        .where(
            Appointment.status.not_in(RELEASED_STATUSES),
            *scope.instant_conditions(Appointment.starts_at, Appointment.location_id),
        )
        .group_by(Appointment.id, Appointment.monitor_id)
        .subquery("per_session")
    )
    rows = session.execute(
        sa.select(
            per_session.c.monitor_id,
            sa.func.max(per_session.c.running),
            sa.func.max(per_session.c.recent),
        ).group_by(per_session.c.monitor_id)
    )
    return {int(m): (int(r), int(s)) for m, r, s in rows}


def monitor_load(session: Session, *, scope: ReportScope) -> Report:
    buckets.prepare(session)
    per_day = _per_day(session, scope)
    peaks = _peaks(session, scope)
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
