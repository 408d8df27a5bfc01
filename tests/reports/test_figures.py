"""Each report's figures on a hand-built world whose answers are worked out by hand (see
``tests.reports.world``), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest

from clinic.errors import Invalid
from clinic.reports import ReportScope, ReportSettings, build_report
from tests.builders import NOW
from tests.reports.world import DAY, NEXT_DAY, day_world, message_world, series_world

DAYS = ReportScope(DAY, NEXT_DAY)


def report(session, key, scope, settings=None):
    return build_report(session, key, scope=scope, settings=settings or ReportSettings(), now=NOW)


def test_chair_utilisation_per_day_counts_booked_and_used_time_over_open_chair_time(session):
    day_world(session)
    table = report(session, "utilisation", DAYS).table("per_day")
    # 5 chairs × 13 h, less IV 1's block 18:00–20:00; booked: two sessions given and the
    # no-show (2 h each); used: the two given. The closure day has no open time.
    assert table.rows == [
        ("2026-02-23", "Mon", 63.0, 6.0, 4.0, pytest.approx(600 / 63), pytest.approx(400 / 63)),
        ("2026-02-24", "Tue", 0.0, 2.0, 2.0, None, None),
        ("All days", "", 63.0, 8.0, 6.0, pytest.approx(800 / 63), pytest.approx(600 / 63)),
    ]


def test_the_heat_map_spreads_chair_time_over_the_clock_hours_it_covers(session):
    day_world(session)
    heat = report(session, "utilisation", DAYS).table("heat_map")
    assert [column.label for column in heat.columns][1:] == [f"{h:02d}:00" for h in range(7, 20)]
    monday = dict(zip([c.label for c in heat.columns], heat.rows[0], strict=True))
    # 09:00–10:00: 60 + 60 + 50 booked minutes of 5 × 60 open ones.
    assert monday["09:00"] == pytest.approx(100 * 170 / 300)
    assert monday["10:00"] == pytest.approx(100 * 180 / 300)
    assert monday["11:00"] == pytest.approx(100 * 10 / 300)
    assert monday["18:00"] == 0.0  # open 4 chairs × 60 (IV 1 blocked), nothing booked
    assert monday["07:00"] == 0.0
    # Tuesday is closed and no other weekday is in the range: no open time, no share.
    assert all(cell is None for row in heat.rows[1:] for cell in row[1:])


def test_attendance_counts_no_shows_and_cancellations_inside_the_window(session):
    day_world(session)
    attendance = report(session, "attendance", DAYS)
    # Due on Monday: two given, the no-show and two late cancellations (the one three days
    # ahead is not due); Tuesday: one given.
    assert attendance.table("by_week").rows == [
        ("2026-02-23", 6, 1, 2, pytest.approx(100 / 6), pytest.approx(200 / 6)),
        ("All", 6, 1, 2, pytest.approx(100 / 6), pytest.approx(200 / 6)),
    ]
    weekdays = attendance.table("by_weekday").rows
    assert weekdays[0] == ("Mon", 5, 1, 2, 20.0, 40.0)
    assert weekdays[1] == ("Tue", 1, 0, 0, 0.0, 0.0)
    assert weekdays[2] == ("Wed", 0, 0, 0, None, None)
    assert attendance.table("by_treatment").rows[0][:4] == ("IV ketamine infusion", 6, 1, 2)


def test_a_shorter_late_cancellation_window_makes_fewer_cancellations_late(session):
    day_world(session)
    # Two hours: the 08:00 cancellation of the 10:00 session is no longer late (nor due).
    rows = (
        report(session, "attendance", DAYS, ReportSettings(late_cancel_hours=1))
        .table("by_weekday")
        .rows
    )
    assert rows[0] == ("Mon", 4, 1, 1, 25.0, 25.0)


def test_sessions_after_now_are_not_yet_due(session):
    day_world(session)
    later = report(session, "attendance", ReportScope(NOW.date(), NOW.date() + dt.timedelta(7)))
    assert later.table("by_week").rows[-1] == ("All", 0, 0, 0, None, None)


def test_series_started_completed_abandoned_and_kept_to_their_window(session):
    series_world(session)
    january = ReportScope(dt.date(2026, 1, 1), dt.date(2026, 1, 31))
    rows = report(session, "series", january).table("by_treatment").rows
    # Four series start in January; the completed ones took 10 and 25 days (median 17.5),
    # one of the two within the induction's 21 days.
    assert rows == [
        ("IV ketamine infusion", 4, 2, 1, 1, 17.5, 50.0),
        ("All", 4, 2, 1, 1, 17.5, 50.0),
    ]


def test_monitor_load_per_day_and_its_peaks(session):
    world = day_world(session)
    rows = report(session, "monitors", DAYS).table("by_monitor").rows
    # Nurse 1: 09:00 and 09:10 on Monday (two at once, two starts within 15 minutes), 09:00 on
    # Tuesday. Nurse 2's sessions were all released (no-show, cancelled): no load.
    assert rows == [
        (world.nurses[0].name, 2, 3, 1.5, 2, 2, 2),
        ("All monitors", 2, 3, 1.5, 2, 2, 2),
    ]


def test_messages_by_kind_and_channel_and_by_week(session):
    message_world(session)
    result = report(session, "messages", ReportScope(DAY, DAY))
    assert result.table("by_kind").rows == [
        ("Invite", "Email", 1, 0, 0, 0, 0.0),
        ("Reminder", "Email", 0, 1, 0, 0, 100.0),
        ("Reminder", "Text", 0, 0, 1, 1, None),
        ("Update", "Email", 0, 0, 0, 1, None),
        ("All", "", 1, 1, 1, 2, 50.0),
    ]
    assert result.table("by_week").rows[0] == ("2026-02-23", 1, 1, 1, 2, 50.0)
    assert "issue 14" in result.notes[0]


def test_a_location_filter_leaves_out_other_locations(session):
    from tests.builders import make_location

    day_world(session)
    other = make_location(session, name="Elsewhere", hours={})
    session.commit()
    rows = report(session, "utilisation", ReportScope(DAY, NEXT_DAY, other.id)).table("per_day")
    assert rows.rows[-1] == ("All days", "", 0.0, 0.0, 0.0, None, None)


@pytest.mark.parametrize(
    ("first", "last", "field"),
    [
        (dt.date(2026, 3, 2), dt.date(2026, 3, 1), "last_day"),
        (dt.date(2020, 1, 1), DAY, "last_day"),
    ],
)
def test_a_range_backwards_or_too_long_is_refused(first, last, field):
    with pytest.raises(Invalid) as raised:
        ReportScope(first, last)
    assert field in raised.value.fields
