"""What the day sheet, the board and a session page say about a day's check-ins, discharges
and cancellations (issue 16, "Day sheet and board"), and which menu entry they mark."""

from __future__ import annotations

import re

import pytest

from clinic.extensions import db
from tests.builders import TODAY
from tests.fullday import FULL_DAY_NOW, FullDay, build_full_day


@pytest.fixture
def day(app, clock) -> FullDay:
    clock.advance(FULL_DAY_NOW - clock())
    with app.app_context():
        return build_full_day(db.session)


def row_of(html: str, patient: str) -> str:
    """The day sheet's table row that names the patient."""
    rows = re.findall(r"<tr>.*?</tr>", html, flags=re.S)
    return next(row for row in rows if patient in row)


def test_the_day_sheet_fills_arrived_from_the_check_in(app, client, login, day):
    login("receptionist")
    html = client.get(f"/board/sheet?date={TODAY.isoformat()}").get_data(as_text=True)
    # Pat5 checked in at 12:55; Pat1's session at 15:00 is still booked: a line to write on.
    assert re.search(r'<td class="arrived">12:55</td>', row_of(html, "Pat5 Tester5"))
    assert 'aria-label="write arrival time"' in row_of(html, "Pat1 Tester1")


def test_the_day_sheet_says_who_went_home_without_an_escort_and_why(app, client, login, day):
    login("receptionist")
    html = client.get(f"/board/sheet?date={TODAY.isoformat()}").get_data(as_text=True)
    row = row_of(html, "Pat3 Tester3")
    assert "Went home without an escort" in row
    assert "Reason: Clinic taxi arranged; escort delayed" in row
    home_with = row_of(html, "Pat2 Tester2")  # discharged with their confirmed escort
    assert "Escort 2 at" in home_with and "without an escort" not in home_with


def test_the_board_flags_a_discharge_without_an_escort(app, client, login, day):
    login("receptionist")
    html = client.get(f"/board/?date={TODAY.isoformat()}").get_data(as_text=True)
    blocks = re.findall(r'<a class="sess [^"]*".*?</a>', html, flags=re.S)
    no_escort = [block for block in blocks if "Pat3 Tester3" in block]
    assert no_escort and 'data-no-escort="1"' in no_escort[0]
    assert "Home without escort" in no_escort[0]
    escorted = next(block for block in blocks if "Pat2 Tester2" in block)
    assert "data-no-escort" not in escorted


def test_a_board_block_names_its_place_in_the_series(app, client, login, day):
    """The block's accessible name is its text (no aria-label that could leave words out)."""
    login("receptionist")
    html = client.get(f"/board/?date={TODAY.isoformat()}").get_data(as_text=True)
    block = next(b for b in re.findall(r'<a class="sess .*?</a>', html, flags=re.S) if "Pat1" in b)
    assert "aria-label" not in block
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", block))
    assert "session 1 of 6" in text and "15:00 to 16:45" in text


def test_a_cancelled_session_does_not_ask_for_its_escort(app, client, login, day):
    login("receptionist")
    html = client.get(f"/sessions/{day.cancelled}").get_data(as_text=True)
    assert "Not confirmed yet" not in html
    assert "no escort is needed" in html
    booked = client.get(f"/sessions/{day.booked}").get_data(as_text=True)
    assert "Not confirmed yet" in booked  # a live session still asks


@pytest.mark.parametrize(
    ("path", "current"),
    [
        ("/sessions/{booked}", "Day board"),
        ("/sessions/{booked}/reschedule", "Day board"),
        ("/sessions/{booked}/cancel", "Day board"),
        ("/series/{series_id}", "Patients"),
        ("/series/new", "Book a series"),
        ("/board/sheet", "Day board"),
        ("/patients/", "Patients"),
        ("/admin/api-tokens", "Admin"),
    ],
)
def test_the_menu_marks_the_section_a_page_belongs_to(app, client, login, day, path, current):
    login("admin")
    url = path.format(booked=day.booked, series_id=day.series_id)
    response = client.get(url)
    assert response.status_code == 200, url
    html = response.get_data(as_text=True)
    nav = html[html.index('<nav aria-label="Main">') : html.index("</nav>")]
    marked = re.findall(r'<a href="[^"]*" aria-current="page">([^<]*)</a>', nav)
    assert marked == [current], url
