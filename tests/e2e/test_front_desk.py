"""The front desk's day in a real browser: register a patient, book an IV induction series,
see it on the board, reschedule one session, cancel another, check in, and a nurse
discharges the patient with their escort. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import re
from typing import Any

import pytest

from clinic.extensions import db
from tests.builders import TEST_PASSWORD, TODAY, add_session, build_world, make_user
from tests.e2e.conftest import ARTIFACTS, LiveServer

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def log_in(page: Any, server: LiveServer, username: str) -> None:
    page.goto(f"{server.url}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r".*/$"))


def flash(page: Any) -> str:
    return page.locator(".flashes").inner_text()


def test_front_desk_books_a_series_and_the_nurse_discharges(live_server: LiveServer, page: Any):
    with live_server.app.app_context():
        build_world(db.session, chairs=4, nurses=2, patients=2)
        make_user(db.session, "rita", "receptionist")
        make_user(db.session, "nina", "nurse")

    # --- the receptionist registers a patient and goes straight on to booking ----------
    log_in(page, live_server, "rita")
    page.get_by_role("link", name="Patients").first.click()
    page.get_by_role("link", name="Register a patient").click()
    page.get_by_label("MRN").fill("E2E-0001")
    page.get_by_label("First name").fill("Ada")
    page.get_by_label("Last name").fill("Lovelace")
    page.get_by_label("Date of birth").fill("1985-12-10")
    page.get_by_label("Email", exact=True).fill("ada@example.com")
    page.get_by_label("Mobile phone").fill("+1 201 555 0123")
    page.get_by_label("Usual escort's name").fill("Charles Babbage")
    page.get_by_label("Usual escort's phone").fill("+1 201 555 0188")
    page.get_by_role("button", name="Register and book a series").click()
    assert "Ada Lovelace is registered" in flash(page)

    # --- the series wizard: protocol, first date today, preview, confirm ----------------
    protocol = page.locator("#protocol_id option", has_text="IV ketamine induction")
    page.get_by_label("Protocol", exact=True).select_option(protocol.get_attribute("value"))
    page.get_by_label("First date").fill(TODAY.isoformat())
    page.get_by_role("button", name="Show the preview").click()
    preview = page.locator(".preview")
    preview.wait_for()
    assert "every date can be met" in preview.inner_text()
    assert page.locator(".preview-table tbody tr").count() == 6
    page.screenshot(path=str(ARTIFACTS / "wizard-preview.png"), full_page=True)
    page.get_by_role("button", name="Confirm and book").click()
    assert "Booked 6 sessions for Ada Lovelace" in flash(page)
    assert "0 of 6 sessions done" in page.locator("main").inner_text()
    session_links = page.locator("table.data tbody a")
    assert session_links.count() == 6
    session_urls = [session_links.nth(i).get_attribute("href") for i in range(6)]

    # --- the board shows today's session -------------------------------------------------
    page.get_by_role("link", name="Day board").click()
    block = page.locator("a.sess", has_text="Ada Lovelace")
    block.wait_for()
    assert "Booked" in block.inner_text()
    page.screenshot(path=str(ARTIFACTS / "board.png"), full_page=True)

    # --- reschedule the second session by an hour ---------------------------------------
    page.goto(live_server.url + session_urls[1])
    page.get_by_role("link", name="Reschedule").click()
    time_input = page.get_by_label("New start time")
    hour, minute = (int(part) for part in time_input.input_value().split(":"))
    time_input.fill(f"{(hour + 1) % 24:02d}:{minute:02d}")
    page.get_by_role("button", name="Reschedule").click()
    assert "Moved 1 session" in flash(page)
    assert f"at {(hour + 1) % 24:02d}:{minute:02d}" in page.locator("h1").inner_text()

    # --- cancel the third -----------------------------------------------------------------
    page.goto(live_server.url + session_urls[2])
    page.get_by_role("link", name="Cancel session").click()
    page.get_by_label("Reason for cancelling").fill("Patient travelling that week")
    page.get_by_role("button", name=re.compile("Cancel the session")).click()
    assert "Cancelled 1 session" in flash(page)
    assert "Cancelled" in page.locator(".subtitle").inner_text()

    # --- check in today's session with the escort confirmed -------------------------------
    page.goto(live_server.url + session_urls[0])
    page.get_by_label("Escort confirmed (will take the patient home)").check()
    page.locator("#check-in").get_by_role("button", name="Check in").click()
    assert "Checked in." in flash(page)
    page.get_by_role("button", name="Log out").click()

    # --- the nurse runs the session and discharges with the escort ------------------------
    with live_server.app.app_context():
        # The record a discharge needs (issue 12's gates have their own walk-through in
        # test_nurse_record.py).
        from tests.monitoring.walk import prefill_ready_record

        appointment_id = int(session_urls[0].rstrip("/").rsplit("/", 1)[-1])
        prefill_ready_record(db.session, appointment_id, live_server.clock())
    log_in(page, live_server, "nina")
    page.goto(live_server.url + session_urls[0])
    page.get_by_role("button", name="Start treatment").click()
    assert "Treatment started." in flash(page)
    page.get_by_role("button", name="Start monitoring").click()
    assert "Monitoring started." in flash(page)
    page.get_by_label("The escort is here to take the patient home").check()
    page.get_by_role("button", name="Discharge").click()
    assert "Discharged" in flash(page)
    assert "Discharged" in page.locator(".subtitle").inner_text()

    # --- the patient page tells the story -------------------------------------------------
    page.get_by_role("link", name="Ada Lovelace").first.click()
    main = page.locator("main").inner_text()
    assert "1 of 5 sessions done" in main  # six booked, one cancelled, one discharged
    assert "Charles Babbage" in main
    assert "Patient travelling that week" in main
    page.screenshot(path=str(ARTIFACTS / "patient.png"), full_page=True)

    # The board on a tablet: lanes scroll sideways, nothing overlaps.
    page.set_viewport_size({"width": 1024, "height": 768})
    page.get_by_role("link", name="Day board").click()
    page.locator("a.sess").first.wait_for()
    page.screenshot(path=str(ARTIFACTS / "board-tablet.png"), full_page=True)


def test_keyboard_reaches_the_board_blocks_with_a_visible_focus(live_server: LiveServer, page: Any):
    with live_server.app.app_context():
        world = build_world(db.session, patients=1)
        add_session(
            db.session, world, patient=world.patients[0], starts_at=world.at(TODAY, "15:00")
        )
        make_user(db.session, "nina", "nurse")
    log_in(page, live_server, "nina")
    page.goto(f"{live_server.url}/board/")
    for _ in range(60):
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.className")
        if "sess" in focused:
            break
    else:
        pytest.fail("Tab never reached a session block on the board")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
