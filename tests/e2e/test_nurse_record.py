"""A nurse's session in a real browser, on the app's own clock: check-in, the baseline, the
infusion with a reading at each checkpoint, an overdue check on the board, the dose, a
discharge refused as too early, and the proper discharge. Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest

from clinic.clock import FixedClock, set_clock
from clinic.extensions import db
from tests.builders import TEST_PASSWORD, TODAY, add_session, build_world, make_user
from tests.builders import at as at_local
from tests.e2e.conftest import ARTIFACTS, LiveServer

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# A refused step answers 422, which Chromium reports on the console as a failed load: that
# one is expected here; any other console error or page error fails the test.
EXPECTED_REFUSAL = re.compile(r"status of 422")


@pytest.fixture
def nurse_page(browser: Any) -> Iterator[Any]:
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: (
            errors.append(message.text)
            if message.type == "error" and not EXPECTED_REFUSAL.search(message.text)
            else None
        ),
    )
    yield page
    context.close()
    assert not errors, f"browser errors: {errors}"


def flash(page: Any) -> str:
    return page.locator(".flashes").inner_text()


def record_vitals(page: Any, hhmm: str, systolic: int, heart_rate: int) -> None:
    form = page.locator("#record-vitals")
    form.get_by_label("Time").fill(hhmm)
    form.get_by_label("Systolic (mmHg)").fill(str(systolic))
    form.get_by_label("Diastolic (mmHg)").fill("82")
    form.get_by_label("Heart rate (/min)").fill(str(heart_rate))
    form.get_by_label("SpO2 (%)").fill("98")
    form.get_by_role("button", name="Record vitals").click()
    assert "Recorded." in flash(page)


def test_a_nurse_records_the_session_and_discharges_only_when_it_is_safe(
    live_server: LiveServer, nurse_page: Any
) -> None:
    page = nurse_page
    with live_server.app.app_context():
        world = build_world(db.session, today=TODAY, patients=1)
        appointment_id = add_session(
            db.session, world, patient=world.patients[0], starts_at=world.at(TODAY, "10:00")
        ).id
        location_id = world.location.id
        make_user(db.session, "nina", "nurse")

    def local(hhmm: str) -> dt.datetime:
        return at_local(TODAY, hhmm)

    clock = FixedClock(local("09:40"))
    set_clock(live_server.app, clock)

    def at(hhmm: str) -> None:
        clock.set(local(hhmm))

    session_url = f"{live_server.url}/sessions/{appointment_id}"
    page.goto(f"{live_server.url}/login")
    page.get_by_label("Username").fill("nina")
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r".*/$"))

    # 09:40 check-in with the escort; 09:45 the baseline reading.
    page.goto(session_url)
    page.get_by_label("Escort confirmed (will take the patient home)").check()
    page.locator("#check-in").get_by_role("button", name="Check in").click()
    assert "Checked in." in flash(page)
    at("09:45")
    page.goto(session_url)
    record_vitals(page, "09:45", 132, 78)
    assert (
        page.locator("#checkpoints tr", has_text="Baseline").get_attribute("data-state") == "done"
    )

    # 10:00 the infusion starts; 10:15 the first reading.
    at("10:00")
    page.goto(session_url)
    page.get_by_role("button", name="Start treatment").click()
    assert "Treatment started." in flash(page)
    at("10:15")
    page.goto(session_url)
    record_vitals(page, "10:15", 141, 88)

    # 10:42: the 30-minute reading was missed, and the board says so.
    at("10:42")
    page.goto(f"{live_server.url}/board/?location={location_id}&date={TODAY.isoformat()}")
    overdue = page.locator("a.sess [data-check='overdue']")
    overdue.wait_for()
    assert "Check overdue: 30 min" in overdue.inner_text()
    page.screenshot(path=str(ARTIFACTS / "record-board-overdue.png"), full_page=True)
    page.locator("a.sess").first.click()
    record_vitals(page, "10:32", 146, 92)  # taken at 10:32, written up now
    at("10:46")
    page.goto(session_url)
    record_vitals(page, "10:45", 138, 84)

    # 10:46 the dose: 70 kg at 0.5 mg/kg, 35 mg, 10:00–10:45; then monitoring.
    dose = page.locator("#record-dose")
    dose.get_by_label("Weight (kg)").fill("70")
    dose.get_by_label("Dose (mg/kg)").fill("0.5")
    dose.get_by_label("Total (mg)").fill("35")
    dose.get_by_label("Infusion start").fill("10:00")
    dose.get_by_label("Infusion end (when it has ended)").fill("10:45")
    dose.get_by_role("button", name="Record dose").click()
    assert "Recorded." in flash(page)
    page.get_by_role("button", name="Start monitoring").click()
    assert "Monitoring started." in flash(page)
    states = page.locator("#checkpoints tr[data-state]")
    assert [states.nth(i).get_attribute("data-state") for i in range(4)] == ["done"] * 4

    # 10:55 too early: refused, each unmet condition named, still in monitoring.
    at("10:55")
    page.goto(session_url)
    page.get_by_role("button", name="Discharge").click()
    refusal = flash(page)
    assert "Monitoring since the dose has lasted 10 minutes" in refusal
    assert "No discharge assessment (Modified Aldrete) is recorded" in refusal
    assert "Monitoring" in page.locator(".subtitle").inner_text()
    page.screenshot(path=str(ARTIFACTS / "record-discharge-refused.png"), full_page=True)

    # 11:17 the last reading, the assessment, and the discharge.
    at("11:17")
    page.goto(session_url)
    record_vitals(page, "11:16", 128, 76)
    observation = page.locator("#record-observation")
    observation.get_by_label("Time").fill("11:16")
    observation.get_by_label("Dizziness").check()
    observation.get_by_role("button", name="Record observation").click()
    assert "Recorded." in flash(page)
    assessment = page.locator("#record-assessment")
    assessment.get_by_label("Time").fill("11:16")
    assessment.get_by_label("Score").fill("10")
    assessment.get_by_role("button", name="Record assessment").click()
    assert "Recorded." in flash(page)
    assert page.locator("#discharge-unmet").count() == 0
    chart = page.locator("#vitals-chart")
    assert chart.evaluate("img => img.complete && img.naturalWidth > 0")
    page.get_by_role("button", name="Discharge").click()
    assert "Discharged" in flash(page)
    assert "Discharged" in page.locator(".subtitle").inner_text()
    page.screenshot(path=str(ARTIFACTS / "record-discharged.png"), full_page=True)
