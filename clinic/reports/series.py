"""Series: started, completed, abandoned, still running; how long completed ones took and
how many kept to their protocol's window. Three queries whatever the range: the locations'
time zones; the series that start in the range, counted by treatment type, status, window
and days to complete (their sessions aggregated in SQL); and the treatment type names.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

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
class _SeriesGroup:
    """Series alike in treatment type, status, window and days to complete, and how many."""

    treatment_type_id: int
    status: SeriesStatus
    window_days: int | None
    days_to_complete: int | None  # completed series only
    count: int


def _series_groups(session: Session, scope: ReportScope) -> list[_SeriesGroup]:
    zones = scope.zones(session)
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
    # A series is booked at one location: all its sessions share it.
    sessions = (
        sa.select(
            Appointment.series_id.label("series_id"),
            sa.func.min(Appointment.location_id).label("location_id"),
            sa.func.min(Appointment.starts_at).label("first_start"),
            sa.func.max(sa.case((given, Appointment.starts_at))).label("last_given"),
        )
        .where(Appointment.series_id.in_(in_range))
        .group_by(Appointment.series_id)
        .subquery("sessions")
    )
    # Both days counted, as the protocol window counts them.
    days = (
        buckets.local_days_between(sessions.c.first_start, sessions.c.last_given, Location.timezone)
        + 1
    )
    days_if_completed = sa.case((Series.status == SeriesStatus.COMPLETED, days))
    rows = session.execute(
        sa.select(
            Series.treatment_type_id,
            Series.status,
            Protocol.max_span_days,
            days_if_completed,
            sa.func.count(),
        )
        .join(sessions, sessions.c.series_id == Series.id)
        .join(Location, Location.id == sessions.c.location_id)
        .outerjoin(Protocol, Protocol.id == Series.protocol_id)
        .where(scope.instant_conditions(sessions.c.first_start, sessions.c.location_id, zones))
        .group_by(
            Series.treatment_type_id, Series.status, Protocol.max_span_days, days_if_completed
        )
    )
    return [
        _SeriesGroup(
            int(treatment_type_id),
            SeriesStatus(status),
            window,
            None if days_to_complete is None else int(days_to_complete),
            int(count),
        )
        for treatment_type_id, status, window, days_to_complete, count in rows
    ]


def _figures(groups: list[_SeriesGroup]) -> tuple[Cell, ...]:
    def total(selected: list[_SeriesGroup]) -> int:
        return sum(group.count for group in selected)

    completed = [group for group in groups if group.status is SeriesStatus.COMPLETED]
    with_window = [group for group in completed if group.window_days is not None]
    within = [
        group
        for group in with_window
        if group.days_to_complete is not None
        and group.window_days is not None
        and group.days_to_complete <= group.window_days
    ]
    days = [
        float(group.days_to_complete)
        for group in completed
        if group.days_to_complete is not None
        for _ in range(group.count)
    ]
    return (
        total(groups),
        total(completed),
        total([group for group in groups if group.status is SeriesStatus.CANCELLED]),
        total([group for group in groups if group.status is SeriesStatus.ACTIVE]),
        median(days),
        percent(total(within), total(with_window)),
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
    rows = _series_groups(session, scope)
    names = dict(session.execute(sa.select(TreatmentType.id, TreatmentType.name)).all())
    by_type: dict[int, list[_SeriesGroup]] = defaultdict(list)
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
