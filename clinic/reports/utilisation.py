"""Chair utilisation: booked and used chair time over open chair time, per day and as a
weekday × hour heat map. Six queries whatever the range: one aggregate over sessions and
five small reads (locations, their opening hours, active chairs, closures, chair
blocks). Sessions that run past midnight count in the hours of their start day only."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from ..models import (
    Appointment,
    AppointmentStatus,
    Chair,
    ChairBlock,
    Closure,
    Location,
)
from . import buckets
from . import figures as f
from .scope import ReportScope
from .table import Chart, Column, Report, Table, percent

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
HOURS = tuple(range(24))
# Minutes of the day: [start, end).
Span = tuple[int, int]


@dataclass(frozen=True, slots=True)
class _Site:
    id: int
    tz: ZoneInfo
    chairs: int
    hours: dict[int, list[Span]]  # weekday -> opening spans


def _minutes(time: dt.time) -> int:
    return time.hour * 60 + time.minute


def _overlap(a: Span, b: Span) -> int:
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


def _hour_minutes(spans: list[Span]) -> list[int]:
    return [sum(_overlap(span, (h * 60, h * 60 + 60)) for span in spans) for h in HOURS]


def _sites(session: Session, scope: ReportScope) -> list[_Site]:
    query = sa.select(Location).options(selectinload(Location.opening_hours))
    if scope.location_id is None:
        query = query.where(Location.active)
    else:
        query = query.where(Location.id == scope.location_id)
    locations = session.scalars(query).all()
    chair_counts = dict(
        session.execute(
            sa.select(Chair.location_id, sa.func.count())
            .where(Chair.active, Chair.location_id.in_([loc.id for loc in locations]))
            .group_by(Chair.location_id)
        ).all()
    )
    sites = []
    for location in locations:
        hours: dict[int, list[Span]] = defaultdict(list)
        for opening in location.opening_hours:
            hours[opening.weekday].append((_minutes(opening.opens), _minutes(opening.closes)))
        sites.append(
            _Site(location.id, location.tz, int(chair_counts.get(location.id, 0)), dict(hours))
        )
    return sites


def _closed_days(
    session: Session, scope: ReportScope, site_ids: list[int]
) -> set[tuple[int, dt.date]]:
    rows = session.execute(
        sa.select(Closure.location_id, Closure.date).where(
            Closure.location_id.in_(site_ids),
            Closure.date >= scope.first_day,
            Closure.date <= scope.last_day,
        )
    )
    return {(location_id, day) for location_id, day in rows}


def _blocked_minutes(
    session: Session, scope: ReportScope, sites: list[_Site], closed: set[tuple[int, dt.date]]
) -> tuple[dict[dt.date, int], dict[tuple[int, int], int]]:
    """Chair-block minutes inside opening hours: per local day, and per (weekday, hour)."""
    start, end = scope.utc_bounds()
    by_id = {site.id: site for site in sites}
    rows = session.execute(
        sa.select(Chair.location_id, ChairBlock.starts_at, ChairBlock.ends_at)
        .join(Chair, Chair.id == ChairBlock.chair_id)
        .where(
            Chair.active,
            Chair.location_id.in_(list(by_id)),
            ChairBlock.starts_at < end,
            ChairBlock.ends_at > start,
        )
    )
    per_day: dict[dt.date, int] = defaultdict(int)
    per_hour: dict[tuple[int, int], int] = defaultdict(int)
    for location_id, starts_at, ends_at in rows:
        site = by_id[location_id]
        local_start, local_end = starts_at.astimezone(site.tz), ends_at.astimezone(site.tz)
        day = max(local_start.date(), scope.first_day)
        while day <= min(local_end.date(), scope.last_day):
            if (site.id, day) not in closed:
                day_start = dt.datetime.combine(day, dt.time(), tzinfo=site.tz)
                block: Span = (
                    max(0, int((local_start - day_start).total_seconds() // 60)),
                    min(1440, int((local_end - day_start).total_seconds() // 60)),
                )
                spans = site.hours.get(day.weekday(), [])
                per_day[day] += sum(_overlap(block, span) for span in spans)
                for hour, minutes in enumerate(
                    _hour_minutes([(max(s[0], block[0]), min(s[1], block[1])) for s in spans])
                ):
                    per_hour[(day.weekday(), hour)] += minutes
            day += dt.timedelta(days=1)
    return per_day, per_hour


@dataclass(frozen=True, slots=True)
class _Booked:
    per_day: dict[str, tuple[float, float]]  # local day -> (booked, used) chair minutes
    per_hour: dict[tuple[int, int], float]  # (weekday, hour) -> booked chair minutes


def _booked(session: Session, scope: ReportScope, zones: dict[int, ZoneInfo]) -> _Booked:
    """Booked and used chair minutes per local day and per weekday × clock hour, from one
    aggregate: sessions counted by (local day, local start minute, chair minutes, used), a
    bounded number of groups whatever the number of sessions; spreading each group over the
    clock hours it covers is done here."""
    used = sa.and_(
        Appointment.checked_in_at.is_not(None),
        Appointment.status.not_in([AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW]),
    )
    used_flag = sa.case((used, 1), else_=0)
    day = buckets.local_day(Appointment.starts_at, Location.timezone)
    start = buckets.local_minute_of_day(Appointment.starts_at, Location.timezone)
    minutes = buckets.minutes_between(Appointment.starts_at, Appointment.busy_until)
    rows = session.execute(
        sa.select(day, start, minutes, used_flag, sa.func.count())
        .join(Location, Location.id == Appointment.location_id)
        .where(
            Appointment.status != AppointmentStatus.CANCELLED,
            scope.instant_conditions(Appointment.starts_at, Appointment.location_id, zones),
        )
        .group_by(day, start, minutes, used_flag)
    )
    per_day: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    per_hour: dict[tuple[int, int], float] = defaultdict(float)
    weekdays: dict[str, int] = {}
    for local_day, first_minute, length, is_used, count in rows:
        day_text = str(local_day)[:10]
        chair_minutes = float(length) * int(count)
        totals = per_day[day_text]
        totals[0] += chair_minutes
        if is_used:
            totals[1] += chair_minutes
        if day_text not in weekdays:
            weekdays[day_text] = dt.date.fromisoformat(day_text).weekday()
        span = (int(first_minute), min(24 * 60, int(first_minute) + round(float(length))))
        for hour in range(span[0] // 60, (span[1] - 1) // 60 + 1):
            if covered := _overlap(span, (hour * 60, hour * 60 + 60)):
                per_hour[(weekdays[day_text], hour)] += covered * int(count)
    return _Booked({d: (b, u) for d, (b, u) in per_day.items()}, per_hour)


def chair_utilisation(session: Session, *, scope: ReportScope) -> Report:
    buckets.prepare(session)
    sites = _sites(session, scope)
    closed = _closed_days(session, scope, [site.id for site in sites])
    blocked_day, blocked_hour = _blocked_minutes(session, scope, sites, closed)
    zones = {site.id: site.tz for site in sites}
    aggregate = _booked(session, scope, zones)
    booked, hour_booked = aggregate.per_day, aggregate.per_hour

    open_day: dict[dt.date, int] = defaultdict(int)
    open_hour: dict[tuple[int, int], int] = defaultdict(int)
    per_weekday = {
        site.id: {w: (spans, _hour_minutes(spans)) for w, spans in site.hours.items()}
        for site in sites
    }
    for day in scope.days:
        weekday = day.weekday()
        for site in sites:
            if (site.id, day) in closed or weekday not in per_weekday[site.id]:
                continue
            spans, by_hour = per_weekday[site.id][weekday]
            open_day[day] += site.chairs * sum(end - start for start, end in spans)
            for hour, minutes in enumerate(by_hour):
                open_hour[(weekday, hour)] += site.chairs * minutes

    day_rows = []
    for day in scope.days:
        open_minutes = max(0, open_day[day] - blocked_day.get(day, 0))
        booked_minutes, used_minutes = booked.get(day.isoformat(), (0.0, 0.0))
        day_rows.append(
            (
                day.isoformat(),
                WEEKDAYS[day.weekday()],
                open_minutes / 60,
                booked_minutes / 60,
                used_minutes / 60,
                percent(booked_minutes, open_minutes),
                percent(used_minutes, open_minutes),
            )
        )
    total_open = sum(row[2] for row in day_rows)
    total_booked = sum(row[3] for row in day_rows)
    total_used = sum(row[4] for row in day_rows)
    totals = (
        "All days",
        "",
        total_open,
        total_booked,
        total_used,
        percent(total_booked, total_open),
        percent(total_used, total_open),
    )
    figure_columns = (
        Column.of(f.OPEN_CHAIR_HOURS),
        Column.of(f.BOOKED_CHAIR_HOURS),
        Column.of(f.USED_CHAIR_HOURS),
        Column.of(f.BOOKED_UTILISATION),
        Column.of(f.USED_UTILISATION),
    )
    per_day = Table(
        "per_day",
        "Chair utilisation per day",
        (Column("Day"), Column("Weekday"), *figure_columns),
        [*day_rows, totals],
        total_rows=1,
    )
    open_hours = sorted(
        {hour for (_, hour), minutes in open_hour.items() if minutes > 0} or set(range(8, 18))
    )
    heat_rows = []
    for weekday, name in enumerate(WEEKDAYS):
        cells: list[float | None] = []
        for hour in open_hours:
            capacity = open_hour.get((weekday, hour), 0) - blocked_hour.get((weekday, hour), 0)
            cells.append(percent(hour_booked.get((weekday, hour), 0.0), max(0, capacity)))
        heat_rows.append((name, *cells))
    heat = Table(
        "heat_map",
        "Booked share of each hour, by weekday",
        (
            Column("Weekday"),
            *(Column(f"{hour:02d}:00", "percent", f.HOURLY_UTILISATION) for hour in open_hours),
        ),
        heat_rows,
    )
    return Report(
        key="utilisation",
        title="Chair utilisation",
        tables=[per_day, heat],
        charts=[
            Chart(
                "per_day",
                "Booked and used share of open chair time, per day",
                "line",
                "per_day",
                "Day",
                (f.BOOKED_UTILISATION.label, f.USED_UTILISATION.label),
                "percent",
            ),
            Chart(
                "heat_map",
                "Booked share of each hour, by weekday (larger dot: busier)",
                "dot",
                "heat_map",
                "Weekday",
                tuple(f"{hour:02d}:00" for hour in open_hours),
                "percent",
            ),
        ],
    )
