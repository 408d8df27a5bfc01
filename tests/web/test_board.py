"""The day board, the week board and the printable day sheet."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from clinic.audit import SYSTEM
from clinic.extensions import db
from clinic.models import AppointmentStatus, Certification, ChairBlock, Closure, TimeOff
from clinic.scheduling.board import load_day_board, load_week_board
from clinic.web.timeline import Axis, grid_css
from tests.builders import NOW, TODAY, add_session, build_world, fill_day

TEN_AM = NOW + dt.timedelta(hours=3)  # Monday 10:00 in New York, the clinic's morning


@contextlib.contextmanager
def counting_queries(engine: sa.Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        if not statement.lstrip().upper().startswith(("BEGIN", "SAVEPOINT", "RELEASE", "PRAGMA")):
            statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def test_the_day_board_runs_the_same_few_queries_for_3_or_40_sessions(app, session):
    world = build_world(session, chairs=7, patients=4)
    fill_day(session, world, TODAY, 3)
    fill_day(session, world, TODAY + dt.timedelta(days=1), 40)
    session.add(Closure(location_id=world.location.id, date=TODAY + dt.timedelta(days=1)))
    session.add(
        TimeOff(
            staff_id=world.nurses[1].id,
            starts_at=world.at(TODAY, "12:00"),
            ends_at=world.at(TODAY, "13:00"),
        )
    )
    session.commit()
    location_id = world.location.id
    counts = {}
    for day, expected in ((TODAY, 3), (TODAY + dt.timedelta(days=1), 40)):
        session.expunge_all()
        with counting_queries(db.engine) as statements:
            board = load_day_board(session, location_id=location_id, day=day, now=TEN_AM)
        assert len(board.sessions) == expected
        counts[expected] = len(statements)
    print("board queries", counts)
    assert counts[3] <= 6 and counts[40] <= 6, counts
    assert counts[3] == counts[40]


def test_the_board_page_query_count_does_not_grow_with_sessions(app, client, login):
    with app.app_context():
        world = build_world(db.session, chairs=7)
        fill_day(db.session, world, TODAY, 3)
        fill_day(db.session, world, TODAY + dt.timedelta(days=1), 40)
        location_id = world.location.id
    login("receptionist")
    counts = []
    for day in (TODAY, TODAY + dt.timedelta(days=1)):
        url = f"/board/?location={location_id}&date={day.isoformat()}"
        client.get(url)  # warm up: the first request of a login touches its session row
        with app.app_context(), counting_queries(db.engine) as statements:
            response = client.get(url)
        assert response.status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1], counts


def test_week_board_queries_stay_constant_too(app, session):
    world = build_world(session, chairs=7)
    location_id = world.location.id
    fill_day(session, world, TODAY, 3)
    next_week = TODAY + dt.timedelta(days=7)
    for offset in range(4):
        fill_day(session, world, next_week + dt.timedelta(days=offset), 30)
    session.expunge_all()
    with counting_queries(db.engine) as few:
        quiet = load_week_board(session, location_id=location_id, first_day=TODAY, now=TEN_AM)
    session.expunge_all()
    with counting_queries(db.engine) as many:
        busy = load_week_board(session, location_id=location_id, first_day=next_week, now=TEN_AM)
    assert sum(len(d.sessions) for d in quiet.days) == 3
    assert sum(len(d.sessions) for d in busy.days) == 120
    assert len(few) == len(many) <= 6


def test_board_shows_lanes_phases_status_staff_and_flags(app, session):
    world = build_world(session)
    patient = world.patients[0]
    booked = add_session(session, world, patient=patient, starts_at=world.at(TODAY, "09:00"))
    add_session(
        session,
        world,
        patient=world.patients[1],
        starts_at=world.at(TODAY, "09:30"),
        chair=world.chairs[1],
        status=AppointmentStatus.IN_TREATMENT,
    )
    add_session(
        session,
        world,
        patient=world.patients[2],
        starts_at=world.at(TODAY, "11:00"),
        status=AppointmentStatus.CANCELLED,
    )
    cert = session.scalar(
        sa.select(Certification).where(
            Certification.staff_id == world.nurses[0].id, Certification.kind == "ACLS"
        )
    )
    cert.expires_on = TODAY + dt.timedelta(days=12)
    session.add(
        ChairBlock(
            chair_id=world.chairs[2].id,
            starts_at=world.at(TODAY, "13:00"),
            ends_at=world.at(TODAY, "15:00"),
            reason="Pump repair",
        )
    )
    session.commit()

    board = load_day_board(session, location_id=world.location.id, day=TODAY, now=TEN_AM)

    assert [lane.label for lane in board.lanes][:3] == ["IV 1", "IV 2", "IV 3"]
    first = board.lanes[0].sessions[0]
    assert first.appointment_id == booked.id
    assert first.starts_at.strftime("%H:%M") == "09:00"
    assert first.treatment_ends_at.strftime("%H:%M") == "10:00"
    assert first.ends_at.strftime("%H:%M") == "10:45"
    assert first.busy_until.strftime("%H:%M") == "11:00"
    assert first.status_label == "Booked"
    assert [s.status_label for s in board.released] == ["Cancelled"]
    assert board.lanes[2].blocks[0].reason == "Pump repair"
    nurse = next(m for m in board.staff if m.staff_id == world.nurses[0].id)
    assert nurse.sessions == 2 and nurse.peak_patients == 2
    assert nurse.patients_now == 2  # 10:00 local: both sessions are running
    assert [(f.kind, f.days_left) for f in nurse.certification_flags] == [("ACLS", 12)]
    assert board.now is not None and board.now.hour == 10


def test_day_board_page_draws_blocks_with_classes_not_inline_styles(app, client, login):
    with app.app_context():
        world = build_world(db.session)
        add_session(
            db.session, world, patient=world.patients[0], starts_at=world.at(TODAY, "09:00")
        )
        location_id = world.location.id
    login("nurse")
    response = client.get(f"/board/?location={location_id}&date={TODAY.isoformat()}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "style=" not in html
    assert "<script>" not in html and "onclick" not in html
    # 07:00 to 20:00 is 156 five-minute columns; 09:00 starts at line 25, the chair is busy
    # until 11:00 (line 49).
    assert "tl-cols-156" in html
    assert re.search(r'class="sess status-booked tl-s-25 tl-e-49"', html)
    for phase in ("ph-treatment", "ph-monitoring", "ph-turnover"):
        assert phase in html
    assert "Pat1 Tester1" in html and "Booked" in html and "Nurse Number1" in html


def test_board_date_navigation_and_bad_dates(app, client, login):
    with app.app_context():
        world = build_world(db.session)
        location_id = world.location.id
    login("receptionist")
    response = client.get(f"/board/?location={location_id}&date=2026-03-04")
    html = response.get_data(as_text=True)
    assert "Wednesday 4 March 2026" in html
    assert "date=2026-03-03" in html and "date=2026-03-05" in html
    for bad in ("not-a-date", "9999-12-31", "2026-02-30"):
        response = client.get(f"/board/?location={location_id}&date={bad}")
        assert response.status_code == 200
        assert "is not a date the board can show" in response.get_data(as_text=True)
    assert client.get("/board/?location=99999").status_code == 404
    assert client.get("/board/?location=abc").status_code == 200


def test_board_without_a_location_explains_what_to_do(client, login):
    login("receptionist")
    response = client.get("/board/")
    assert response.status_code == 200
    assert "No location yet" in response.get_data(as_text=True)


def test_week_view_and_printable_day_sheet(app, client, login):
    monday = TODAY - dt.timedelta(days=TODAY.weekday())
    with app.app_context():
        world = build_world(db.session)
        add_session(
            db.session, world, patient=world.patients[0], starts_at=world.at(monday, "09:00")
        )
        db.session.add(
            Closure(location_id=world.location.id, date=monday + dt.timedelta(2), reason="Audit")
        )
        db.session.commit()
        location_id = world.location.id
    login("nurse")
    week = client.get(f"/board/week?location={location_id}&date={TODAY.isoformat()}")
    html = week.get_data(as_text=True)
    assert week.status_code == 200
    assert f"Week of {monday.strftime('%-d %B')}" in html
    assert "Pat1 Tester1" in html and "Closed: Audit" in html
    sheet = client.get(f"/board/sheet?location={location_id}&date={monday.isoformat()}")
    text = sheet.get_data(as_text=True)
    assert sheet.status_code == 200
    assert "Day sheet" in text and "Pat1 Tester1" in text and "Escort 1" in text
    assert "must not drive" in text


def test_timeline_css_matches_its_generator():
    from clinic.paths import STATIC_DIR

    assert (STATIC_DIR / "timeline.css").read_text() == grid_css()


@pytest.mark.parametrize(
    ("start", "end", "classes"),
    [
        ("08:00", "09:00", "tl-s-13 tl-e-25"),
        ("07:00", "07:01", "tl-s-1 tl-e-2"),  # never narrower than a column
        ("05:00", "23:00", "tl-s-1 tl-e-157"),  # clamped to the window
    ],
)
def test_axis_places_blocks_on_five_minute_lines(start, end, classes):
    def at(hhmm: str) -> dt.datetime:
        return dt.datetime.combine(TODAY, dt.time.fromisoformat(hhmm), tzinfo=dt.UTC)

    axis = Axis(at("07:00"), at("20:00"))
    assert axis.columns == 156
    assert axis.span(at(start), at(end)) == classes


def test_board_is_read_only_and_writes_no_audit(app, session):
    from clinic.models import AuditEvent

    world = build_world(session)
    fill_day(session, world, TODAY, 3)
    load_day_board(session, location_id=world.location.id, day=TODAY, now=TEN_AM)
    session.commit()
    assert session.scalar(sa.select(sa.func.count(AuditEvent.id))) == 0
    assert SYSTEM.user_id is None
