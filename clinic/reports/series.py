"""Series: started, completed, abandoned, still running; how long completed ones took and
how many kept to their protocol's window. Two queries whatever the range: one row per series
that starts in the range (its sessions aggregated in SQL), and the treatment type names.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from ..models import (
    Appointment,
    AppointmentStatus,
    Location,
    Protocol,
    Series,
    SeriesStatus,
    TreatmentType,
)
from . import buckets
from . import figures as f
from .scope import ReportScope
from .table import Cell, Chart, Column, Report, Table, median, percent


@dataclass(frozen=True, slots=True)
class _SeriesRow:
    treatment_type_id: int
    status: SeriesStatus
    window_days: int | None
    days_to_complete: int | None  # completed series only


def _series_rows(session: Session, scope: ReportScope) -> list[_SeriesRow]:
    start, end = scope.utc_bounds()
    in_range = (
        sa.select(Appointment.series_id)
        .where(
            Appointment.series_id.is_not(None),
            Appointment.starts_at >= start,
            Appointment.starts_at < end,
        )
        .distinct()
    )
    given = Appointment.status == AppointmentStatus.DISCHARGED
    sessions = (
        sa.select(
            Appointment.series_id.label("series_id"),
            sa.func.min(Appointment.starts_at).label("first_start"),
            sa.func.max(sa.case((given, Appointment.starts_at))).label("last_given"),
        )
        .where(Appointment.series_id.in_(in_range))
        .group_by(Appointment.series_id)
        .subquery("sessions")
    )
    first = aliased(Appointment, name="first_session")
    rows = session.execute(
        sa.select(
            Series.id,
            Series.treatment_type_id,
            Series.status,
            Protocol.max_span_days,
            buckets.local_day(sessions.c.first_start, Location.timezone),
            buckets.local_day(sessions.c.last_given, Location.timezone),
        )
        .join(sessions, sessions.c.series_id == Series.id)
        .join(
            first,
            sa.and_(first.series_id == Series.id, first.starts_at == sessions.c.first_start),
        )
        .join(Location, Location.id == first.location_id)
        .outerjoin(Protocol, Protocol.id == Series.protocol_id)
        .where(*scope.instant_conditions(sessions.c.first_start, first.location_id))
        # Two sessions at the first start (one released, one rebooked) are one series.
        .distinct()
    )
    result = []
    for _series_id, treatment_type_id, status, window, first_day, last_day in rows:
        days = None
        if status == SeriesStatus.COMPLETED and last_day is not None:
            days = (_date(last_day) - _date(first_day)).days + 1
        result.append(_SeriesRow(int(treatment_type_id), SeriesStatus(status), window, days))
    return result


def _date(text: str) -> dt.date:
    return dt.date.fromisoformat(str(text)[:10])


def _figures(rows: list[_SeriesRow]) -> tuple[Cell, ...]:
    completed = [row for row in rows if row.status is SeriesStatus.COMPLETED]
    with_window = [row for row in completed if row.window_days is not None]
    within = [
        row
        for row in with_window
        if row.days_to_complete is not None
        and row.window_days is not None
        and row.days_to_complete <= row.window_days
    ]
    return (
        len(rows),
        len(completed),
        sum(1 for row in rows if row.status is SeriesStatus.CANCELLED),
        sum(1 for row in rows if row.status is SeriesStatus.ACTIVE),
        median([row.days_to_complete for row in completed if row.days_to_complete is not None]),
        percent(len(within), len(with_window)),
    )


COLUMNS = (
    Column.of(f.SERIES_STARTED),
    Column.of(f.SERIES_COMPLETED),
    Column.of(f.SERIES_ABANDONED),
    Column.of(f.SERIES_RUNNING),
    Column.of(f.MEDIAN_DAYS_TO_COMPLETE),
    Column.of(f.COMPLETED_WITHIN_WINDOW),
)


def series_outcomes(session: Session, *, scope: ReportScope) -> Report:
    buckets.prepare(session)
    rows = _series_rows(session, scope)
    names = dict(session.execute(sa.select(TreatmentType.id, TreatmentType.name)).all())
    by_type: dict[int, list[_SeriesRow]] = defaultdict(list)
    for row in rows:
        by_type[row.treatment_type_id].append(row)
    table = Table(
        "by_treatment",
        "Series by treatment type",
        (Column("Treatment type"), *COLUMNS),
        [
            (names.get(t, f"#{t}"), *_figures(group))
            for t, group in sorted(by_type.items(), key=lambda item: names.get(item[0], ""))
        ]
        + [("All", *_figures(rows))],
        total_rows=1,
    )
    return Report(
        key="series",
        title="Series",
        tables=[table],
        charts=[
            Chart(
                "outcomes",
                "Series started in the range, by outcome",
                "bar",
                "by_treatment",
                "Treatment type",
                (f.SERIES_COMPLETED.label, f.SERIES_ABANDONED.label, f.SERIES_RUNNING.label),
            )
        ],
    )
