"""Messages to patients: sent, failed, waiting and not sent, by kind and channel and by
week. Two queries whatever the range (the locations' time zones, and one aggregate by
week, kind, channel and status).

Opt-outs, confirmations by patients and the time from invitation to confirmation are not
recorded by the app yet: they arrive with the patient links and two-way texts of issue 14.
The report says so on the page rather than showing a zero.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..models import Appointment, Location, Notification, NotificationStatus
from . import buckets
from . import figures as f
from .scope import ReportScope
from .table import Cell, Chart, Column, Report, Table, percent

PENDING_ON_ISSUE_14 = (
    "Not recorded yet: patients who opted out, sessions confirmed by patients, and the median "
    "time from invitation to confirmation. The app keeps no confirmation or opt-out events "
    "until the patient links and two-way texts (issue 14) are in; these figures will be added "
    "here then."
)

_GROUPS: dict[NotificationStatus, int] = {
    NotificationStatus.SENT: 0,
    NotificationStatus.FAILED: 1,
    NotificationStatus.PENDING: 2,
    NotificationStatus.SENDING: 2,
    NotificationStatus.WITHDRAWN: 3,
    NotificationStatus.SKIPPED: 3,
}


def _figures(counts: list[int]) -> tuple[Cell, ...]:
    sent, failed, waiting, not_sent = counts
    return (sent, failed, waiting, not_sent, percent(failed, sent + failed))


COLUMNS = (
    Column.of(f.MESSAGES_SENT),
    Column.of(f.MESSAGES_FAILED),
    Column.of(f.MESSAGES_WAITING),
    Column.of(f.MESSAGES_NOT_SENT),
    Column.of(f.MESSAGES_FAILURE_RATE),
)


def messages(session: Session, *, scope: ReportScope) -> Report:
    buckets.prepare(session)
    zones = scope.zones(session)
    start, end = scope.utc_bounds()
    week = buckets.local_week(Notification.due_at, Location.timezone)
    by_kind: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    by_week: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for week_start, kind, channel, status, count in session.execute(
        sa.select(
            week, Notification.kind, Notification.channel, Notification.status, sa.func.count()
        )
        .join(Appointment, Appointment.id == Notification.appointment_id)
        .join(Location, Location.id == Appointment.location_id)
        .where(
            Notification.due_at >= start,  # the index's range; the exact one per location:
            Notification.due_at < end,
            scope.instant_conditions(Notification.due_at, Appointment.location_id, zones),
        )
        .group_by(week, Notification.kind, Notification.channel, Notification.status)
    ):
        group = _GROUPS[NotificationStatus(status)]
        by_kind[(str(kind.value), str(channel.value))][group] += int(count)
        by_week[str(week_start)[:10]][group] += int(count)

    totals = [sum(counts[i] for counts in by_kind.values()) for i in range(4)]
    kind_table = Table(
        "by_kind",
        "By kind and channel",
        (Column("Kind"), Column("Channel"), *COLUMNS),
        [
            (kind.capitalize(), "Email" if channel == "email" else "Text", *_figures(counts))
            for (kind, channel), counts in sorted(by_kind.items())
        ]
        + [("All", "", *_figures(totals))],
        total_rows=1,
    )
    weeks = []
    day = scope.first_day - dt.timedelta(days=scope.first_day.weekday())
    while day <= scope.last_day:
        weeks.append(day.isoformat())
        day += dt.timedelta(days=7)
    week_table = Table(
        "by_week",
        "By week (weeks start on Monday)",
        (Column("Week of"), *COLUMNS),
        [(w, *_figures(by_week.get(w, [0, 0, 0, 0]))) for w in weeks]
        + [("All", *_figures(totals))],
        total_rows=1,
    )
    return Report(
        key="messages",
        title="Messages",
        tables=[kind_table, week_table],
        charts=[
            Chart(
                "by_week",
                "Messages sent and failed, by week",
                "bar",
                "by_week",
                "Week of",
                (f.MESSAGES_SENT.label, f.MESSAGES_FAILED.label),
            )
        ],
        notes=[PENDING_ON_ISSUE_14],
    )
