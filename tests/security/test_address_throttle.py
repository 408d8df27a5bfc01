"""ASVS 2.2.1: failed logins are limited per source address as well as per account, in the
database, without locking out a front desk that shares one address; administrators see
the current lockouts and can lift one (audited)."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from clinic import create_app
from clinic.accounts.login import ThrottlePolicy
from clinic.extensions import db
from clinic.models import AuditEvent, LoginAttempt
from tests.builders import NOW, TEST_PASSWORD, add_user
from tests.testapp import ClinicClient, base_config

WRONG = "not-the-password-at-all"
DESK = "10.1.2.3"
ELSEWHERE = "10.9.9.9"
POLICY = ThrottlePolicy()


def from_address(app, address: str) -> ClinicClient:
    app.test_client_class = ClinicClient
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client  # type: ignore[return-value]


def attempt(client, username: str, password: str):
    return client.post("/login", data={"username": username, "password": password})


def spray(client, count: int, *, start: int = 0) -> list[int]:
    return [attempt(client, f"user{n}", WRONG).status_code for n in range(start, start + count)]


def test_password_spraying_from_one_address_is_slowed(app, clock):
    """The review's attack: 30 usernames from one address in 80 ms, then an admin's login."""
    add_user(app, "boss", "admin")
    desk = from_address(app, DESK)
    answers = spray(desk, 30)
    assert answers[: POLICY.address_slow_after] == [401] * POLICY.address_slow_after
    assert set(answers[POLICY.address_slow_after :]) == {429}
    response = attempt(desk, "boss", TEST_PASSWORD)
    assert response.status_code == 429
    assert "Too many failed logins from this network" in response.get_data(as_text=True)
    assert desk.get("/").status_code == 302  # not logged in
    # Another address is not affected.
    assert attempt(from_address(app, ELSEWHERE), "boss", TEST_PASSWORD).status_code == 302


def test_the_delay_doubles_and_a_desk_gets_back_in_after_it(app, clock):
    add_user(app, "rita", "receptionist")
    desk = from_address(app, DESK)
    assert set(spray(desk, POLICY.address_slow_after)) == {401}
    assert attempt(desk, "rita", TEST_PASSWORD).status_code == 429
    clock.advance(dt.timedelta(seconds=1))
    assert attempt(desk, "user99", WRONG).status_code == 401  # the 11th failure
    clock.advance(dt.timedelta(seconds=1))
    assert attempt(desk, "rita", TEST_PASSWORD).status_code == 429  # now 2 s to wait
    clock.advance(dt.timedelta(seconds=1))
    assert attempt(desk, "rita", TEST_PASSWORD).status_code == 302


def test_a_busy_front_desk_with_a_few_typos_is_never_slowed(app, clock):
    for name in ("rita", "nina", "omar"):
        add_user(app, name, "receptionist")
    desk = from_address(app, DESK)
    for name in ("rita", "nina", "omar"):
        for _ in range(3):
            assert attempt(desk, name, WRONG).status_code == 401
        assert attempt(desk, name, TEST_PASSWORD).status_code == 302
        desk.post("/logout", data={"csrf_token": desk.csrf_token()})


def test_an_address_is_locked_after_the_higher_limit(app, clock):
    add_user(app, "rita", "receptionist")
    desk = from_address(app, DESK)
    # A patient attacker who waits out every delay reaches the limit within the window.
    for n in range(POLICY.address_max_failures):
        clock.advance(POLICY.address_delay(n))
        assert attempt(desk, f"user{n}", WRONG).status_code == 401, n
    clock.advance(POLICY.address_max_delay)
    assert clock() - NOW < POLICY.window
    response = attempt(desk, "rita", TEST_PASSWORD)
    assert response.status_code == 429
    assert "ask an administrator to lift the lockout" in response.get_data(as_text=True)


def test_the_address_limit_holds_across_app_instances(database_url, tmp_path):
    first = create_app(base_config(database_url, tmp_path / "one"))
    second = create_app(base_config(database_url, tmp_path / "two"))
    add_user(first, "rita", "receptionist")
    try:
        assert set(spray(from_address(first, DESK), POLICY.address_slow_after)) == {401}
        assert attempt(from_address(second, DESK), "rita", TEST_PASSWORD).status_code == 429
    finally:
        for application in (first, second):
            with application.app_context():
                db.engine.dispose()


def admin_client(app) -> ClinicClient:
    add_user(app, "boss", "admin")
    client = from_address(app, ELSEWHERE)
    client.log_in("boss")
    assert client.is_logged_in()
    return client


def test_the_lockout_page_lists_and_lifts_an_account_lockout(app, clock):
    add_user(app, "rita", "receptionist")
    desk = from_address(app, DESK)
    for _ in range(POLICY.max_failures):
        attempt(desk, "rita", WRONG)
    assert attempt(desk, "rita", TEST_PASSWORD).status_code == 429
    admin = admin_client(app)
    page = admin.get("/admin/lockouts").get_data(as_text=True)
    assert "rita" in page and "Account locked" in page
    response = admin.post(
        "/admin/lockouts/lift",
        data={"throttle": "account", "key": "rita", "csrf_token": admin.csrf_token()},
    )
    assert response.status_code == 302
    after = admin.get("/admin/lockouts").get_data(as_text=True)
    assert "Lockout of rita lifted (5 failed attempts cleared)." in after
    assert "No account or address is locked out right now." in after
    assert attempt(desk, "rita", TEST_PASSWORD).status_code == 302
    with app.app_context():
        lift = db.session.scalar(
            sa.select(AuditEvent).where(AuditEvent.action == "auth.lockout_lift")
        )
        assert lift is not None and lift.username == "boss"
        assert lift.summary == "account rita: 5 failed attempts cleared"
        # The trail still holds every failed attempt.
        failed = sa.select(sa.func.count()).where(AuditEvent.action == "auth.login_failed")
        assert db.session.scalar(failed) == 5


def test_lifting_an_address_lockout_lets_the_desk_back_in(app, clock):
    add_user(app, "rita", "receptionist")
    desk = from_address(app, DESK)
    spray(desk, POLICY.address_slow_after)
    admin = admin_client(app)
    assert "Address slowed" in admin.get("/admin/lockouts").get_data(as_text=True)
    admin.post(
        "/admin/lockouts/lift",
        data={"throttle": "slowed", "key": DESK, "csrf_token": admin.csrf_token()},
    )
    assert attempt(desk, "rita", TEST_PASSWORD).status_code == 302


@pytest.mark.parametrize(
    "data",
    [{"throttle": "account", "key": "nobody"}, {"throttle": "bogus", "key": "rita"}],
)
def test_lifting_what_is_not_locked_is_refused_and_changes_nothing(app, clock, data):
    admin = admin_client(app)
    with app.app_context():
        before = db.session.scalar(sa.select(sa.func.count()).select_from(LoginAttempt))
    response = admin.post("/admin/lockouts/lift", data={**data, "csrf_token": admin.csrf_token()})
    assert response.status_code == 302
    page = admin.get("/admin/lockouts").get_data(as_text=True)
    assert "already ended" in page or "Choose a lockout" in page
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginAttempt)) == before
        assert not db.session.scalar(
            sa.select(AuditEvent.id).where(AuditEvent.action == "auth.lockout_lift")
        )


def test_only_user_managers_see_lockouts(app, client, login):
    login("receptionist")
    assert client.get("/admin/lockouts").status_code == 403
