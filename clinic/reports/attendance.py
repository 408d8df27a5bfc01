"""No-shows and late cancellations: by week, by treatment type and by weekday, with rates.

Three queries whatever the range: the locations' time zones, one aggregate over sessions
grouped by (week, treatment type, weekday), rolled up three ways here, and the treatment
type names.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Hashable
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..models import Appointment, AppointmentStatus, Location, TreatmentType
from . import buckets
from . import figures as f
from .scope import ReportScope
from .settings import ReportSettings
from .table import Cell, Chart, Column, Report, Table, percent
from .utilisation import WEEKDAYS

# (due, no-shows, late cancellations)
Counts = tuple[int, int, int]
K = TypeVar("K", bound=Hashable)


def _cells(
    session: Session, scope: ReportScope, settings: ReportSettings, now: dt.datetime
) -> list[tuple[str, int, int, Counts]]:
    zones = scope.zones(session)
    window_minutes = settings.late_cancel_hours * 60
    late = sa.and_(
        Appointment.status == AppointmentStatus.CANCELLED,
        Appointment.cancelled_at.is_not(None),
        buckets.minutes_between(Appointment.cancelled_at, Appointment.starts_at) < window_minutes,
    )
    due = sa.or_(Appointment.status != AppointmentStatus.CANCELLED, late)
    week = buckets.local_week(Appointment.starts_at, Location.timezone)
    weekday = buckets.local_weekday(Appointment.starts_at, Location.timezone)
    rows = session.execute(
        sa.select(
            week,
            Appointment.treatment_type_id,
            weekday,
            sa.func.sum(sa.case((due, 1), else_=0)),
            sa.func.sum(sa.case((Appointment.status == AppointmentStatus.NO_SHOW, 1), else_=0)),
            sa.func.sum(sa.case((late, 1), else_=0)),
        )
        .join(Location, Location.id == Appointment.location_id)
        .where(
            Appointment.starts_at < now,
            scope.instant_conditions(Appointment.starts_at, Appointment.location_id, zones),
        )
        .group_by(week, Appointment.treatment_type_id, weekday)
    )
    return [
        (str(w), int(t), int(d), (int(due_n or 0), int(ns or 0), int(lc or 0)))
        for w, t, d, due_n, ns, lc in rows
    ]


def _rollup(
    cells: list[tuple[str, int, int, Counts]], key: Callable[[tuple[str, int, int]], K]
) -> dict[K, Counts]:
    sums: dict[K, list[int]] = defaultdict(lambda: [0, 0, 0])
    for week, treatment, weekday, counts in cells:
        total = sums[key((week, treatment, weekday))]
        for index, value in enumerate(counts):
            total[index] += value
    return {k: (v[0], v[1], v[2]) for k, v in sums.items()}


def _figures(counts: Counts) -> tuple[Cell, ...]:
    due, no_shows, late = counts
    return (due, no_shows, late, percent(no_shows, due), percent(late, due))


COLUMNS = (
    Column.of(f.DUE_SESSIONS),
    Column.of(f.NO_SHOWS),
    Column.of(f.LATE_CANCELLATIONS),
    Column.of(f.NO_SHOW_RATE),
    Column.of(f.LATE_CANCEL_RATE),
)


def attendance(
    session: Session, *, scope: ReportScope, settings: ReportSettings, now: dt.datetime
) -> Report:
    buckets.prepare(session)
    cells = _cells(session, scope, settings, now)
    names = dict(session.execute(sa.select(TreatmentType.id, TreatmentType.name)).all())
    total = _rollup(cells, lambda _: "all").get("all", (0, 0, 0))
    by_week = _rollup(cells, lambda cell: cell[0])
    by_type = _rollup(cells, lambda cell: cell[1])
    by_weekday = _rollup(cells, lambda cell: cell[2])

    first_week = scope.first_day - dt.timedelta(days=scope.first_day.weekday())
    weeks = []
    week = first_week
    last = min(scope.last_day, now.date())
    while week <= last:
        weeks.append(week.isoformat())
        week += dt.timedelta(days=7)
    summary_row = ("All", *_figures(total))
    week_table = Table(
        "by_week",
        "By week (weeks start on Monday)",
        (Column("Week of"), *COLUMNS),
        [(w, *_figures(by_week.get(w, (0, 0, 0)))) for w in weeks] + [summary_row],
        total_rows=1,
    )
    type_table = Table(
        "by_treatment",
        "By treatment type",
        (Column("Treatment type"), *COLUMNS),
        [
            (names.get(t, f"#{t}"), *_figures(counts))
            for t, counts in sorted(by_type.items(), key=lambda item: names.get(item[0], ""))
        ]
        + [summary_row],
        total_rows=1,
    )
    weekday_table = Table(
        "by_weekday",
        "By weekday",
        (Column("Weekday"), *COLUMNS),
        [(name, *_figures(by_weekday.get(n, (0, 0, 0)))) for n, name in enumerate(WEEKDAYS)]
        + [summary_row],
        total_rows=1,
    )
    rates = (f.NO_SHOW_RATE.label, f.LATE_CANCEL_RATE.label)
    return Report(
        key="attendance",
        title="No-shows and late cancellations",
        tables=[week_table, type_table, weekday_table],
        charts=[
            Chart(
                "by_week",
                "No-show and late-cancellation rates by week",
                "line",
                "by_week",
                "Week of",
                rates,
                "percent",
            ),
            Chart(
                "by_weekday",
                "No-show and late-cancellation rates by weekday",
                "bar",
                "by_weekday",
                "Weekday",
                rates,
                "percent",
            ),
        ],
        notes=[
            f"The late-cancellation window is {settings.late_cancel_hours} hours "
            "(REPORTS_LATE_CANCEL_HOURS). Only sessions that started before now count."
        ],
    )
