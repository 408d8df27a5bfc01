"""Two-factor login in a real browser: an administrator's first login enrols an
authenticator (QR code on the page, the key as text), sees the recovery codes once, and the
next login asks for a one-time code. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pyotp
import pytest

from clinic.extensions import db
from tests.builders import TEST_PASSWORD, make_user
from tests.e2e.conftest import ARTIFACTS, LiveServer

pytestmark = [pytest.mark.e2e]


def password_step(page: Any, server: LiveServer, username: str) -> None:
    page.goto(f"{server.url}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_an_admin_enrols_at_first_login_and_then_logs_in_with_a_code(
    live_server: LiveServer, page: Any
):
    with live_server.app.app_context():
        make_user(db.session, "boss", "admin")

    password_step(page, live_server, "boss")
    page.wait_for_url(re.compile(r".*/login/enrol$"))
    # The QR code is drawn inline: the page loads nothing the CSP refuses (the page fixture
    # fails the test on any console error, CSP violations included).
    assert page.locator("svg.qr-code").is_visible()
    page.screenshot(path=str(ARTIFACTS / "two-factor-enrol.png"), full_page=True)
    # Nothing else opens before enrolment.
    page.goto(f"{live_server.url}/admin/users")
    page.wait_for_url(re.compile(r".*/login\?next=.*"))
    page.goto(f"{live_server.url}/login/enrol")
    secret = page.locator("#two-factor-secret").inner_text().replace(" ", "")
    totp = pyotp.TOTP(secret)
    page.get_by_label("Code shown by the app").fill(totp.at(live_server.clock()))
    page.get_by_role("button", name="Confirm and log in").click()
    codes = page.locator("#recovery-codes li")
    assert codes.count() == 10
    page.screenshot(path=str(ARTIFACTS / "two-factor-recovery-codes.png"), full_page=True)
    page.get_by_role("link", name="I have saved them, continue").click()
    page.wait_for_url(re.compile(r".*/$"))
    page.get_by_role("button", name="Log out").click()

    live_server.clock.advance(dt.timedelta(seconds=30))
    password_step(page, live_server, "boss")
    page.wait_for_url(re.compile(r".*/login/code$"))
    page.get_by_label("Code from your authenticator app, or a recovery code").fill(
        totp.at(live_server.clock())
    )
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r".*/$"))
    page.goto(f"{live_server.url}/admin/users")
    assert page.get_by_role("heading", name="Users").is_visible()
