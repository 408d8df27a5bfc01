"""The board shows each in-clinic patient's next check, due or overdue, in the same constant
number of queries however many sessions the day holds (issue 12, points 5 and 13)."""

from __future__ import annotations

import datetime as dt

from clinic.extensions import db
from clinic.models import AppointmentStatus, EntryKind, RecordEntry, SessionRecord
from clinic.scheduling.board import load_day_board
from tests.builders import TODAY, build_world, fill_day
from tests.unit.querycount import recorded_statements

BOARD_QUERIES = 6  # location, sessions, series positions, shifts, time off, records


def _in_clinic(session, appointments, now):
    """Every session started at its booked time and is being monitored; each has its
    baseline and the 15-minute reading, none has the 30-minute one."""
    for appointment in appointments:
        start = appointment.starts_at
        appointment.status = AppointmentStatus.MONITORING
        appointment.checked_in_at = start - dt.timedelta(minutes=20)
        session.add(SessionRecord(appointment_id=appointment.id, treatment_started_at=start))
        for minutes in (-10, 15):
            session.add(
                RecordEntry(
                    appointment_id=appointment.id,
                    kind=EntryKind.VITALS,
                    taken_at=start + dt.timedelta(minutes=minutes),
                    recorded_by="world",
                    systolic=120,
                    diastolic=80,
                    heart_rate=70,
                    spo2=98,
                )
            )
    session.commit()


def _queries(statements):
    return [
        s
        for s in statements
        if not s.lstrip().upper().startswith(("BEGIN", "SAVEPOINT", "RELEASE", "PRAGMA"))
    ]


def test_the_board_flags_checks_in_the_same_queries_for_3_or_40_sessions(app, session):
    world = build_world(session, today=TODAY, chairs=7, patients=4)
    small_day, big_day = TODAY, TODAY + dt.timedelta(days=1)
    _in_clinic(session, fill_day(session, world, small_day, 3), None)
    _in_clinic(session, fill_day(session, world, big_day, 40), None)
    location_id = world.location.id
    counts = {}
    for day, expected in ((small_day, 3), (big_day, 40)):
        # 07:45 local: the 07:00 sessions' 30-minute check (due 07:30) is overdue.
        now = world.at(day, "07:45")
        session.expunge_all()
        with recorded_statements(db.engine) as statements:
            board = load_day_board(session, location_id=location_id, day=day, now=now)
        assert len(board.sessions) == expected
        counts[expected] = len(_queries(statements))
        first = [s for s in board.sessions if s.starts_at.strftime("%H:%M") == "07:00"]
        assert first and {s.check_state for s in first} == {"overdue"}
        assert {s.check.next_label for s in first} == {"30 min"}
        later = [s for s in board.sessions if s.starts_at.strftime("%H:%M") == "09:00"]
        # Not started yet by 07:40 in real life, but the world says started at 09:00:
        # its checks lie ahead.
        assert {s.check_state for s in later} == {None}
    assert counts == {3: BOARD_QUERIES, 40: BOARD_QUERIES}, counts


def test_the_board_page_shows_the_overdue_check(app, client, login, clock):
    with app.app_context():
        world = build_world(db.session, today=TODAY, chairs=2)
        _in_clinic(db.session, fill_day(db.session, world, TODAY, 2), None)
        location_id, now = world.location.id, world.at(TODAY, "07:45")
    clock.set(now)
    login("nurse")
    page = client.get(f"/board/?location={location_id}&date={TODAY.isoformat()}")
    body = page.get_data(as_text=True)
    assert 'data-check="overdue"' in body and "Check overdue: 30 min" in body
    sheet = client.get(f"/board/sheet?location={location_id}&date={TODAY.isoformat()}")
    assert "Check overdue: 30 min" in sheet.get_data(as_text=True)
