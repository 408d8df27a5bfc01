"""Login throttling kept in the database, and the audit of every login outcome."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from clinic import create_app
from clinic.accounts.login import ThrottlePolicy, locked_until
from clinic.clock import FixedClock, set_clock
from clinic.extensions import db
from clinic.models import AuditEvent, LoginAttempt
from tests.builders import NOW, TEST_PASSWORD, add_user, audit_actions, make_user
from tests.testapp import ClinicClient, base_config

WRONG = "not-the-password-at-all"


def attempt(client, username: str, password: str):
    return client.post("/login", data={"username": username, "password": password})


def age_attempts(app, by: dt.timedelta) -> None:
    with app.app_context():
        for row in db.session.scalars(sa.select(LoginAttempt)):
            row.at -= by
        db.session.commit()


def test_five_failures_lock_the_account_even_for_the_right_password(app, client):
    add_user(app, "rita", "receptionist")
    for _ in range(5):
        assert attempt(client, "rita", WRONG).status_code == 401
    response = attempt(client, "rita", TEST_PASSWORD)
    assert response.status_code == 429
    assert "Too many failed login attempts" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302  # not logged in


def test_four_failures_do_not_lock(app, client):
    add_user(app, "rita", "receptionist")
    for _ in range(4):
        attempt(client, "rita", WRONG)
    assert attempt(client, "rita", TEST_PASSWORD).status_code == 302


def test_the_lockout_holds_across_app_instances_sharing_the_database(database_url, tmp_path):
    """Two app instances (as two gunicorn workers or machines would be) on one database."""
    first = create_app(base_config(database_url, tmp_path / "one"))
    second = create_app(base_config(database_url, tmp_path / "two"))
    for application in (first, second):  # both at NOW, as the fixture's app would be
        set_clock(application, FixedClock(NOW))
    add_user(first, "rita", "receptionist")
    try:
        first.test_client_class = second.test_client_class = ClinicClient
        for _ in range(5):
            assert attempt(first.test_client(), "rita", WRONG).status_code == 401
        assert attempt(second.test_client(), "rita", TEST_PASSWORD).status_code == 429
    finally:
        for application in (first, second):
            with application.app_context():
                db.engine.dispose()


def test_the_lockout_ends_after_a_while_and_refusals_do_not_extend_it(app, client):
    add_user(app, "rita", "receptionist")
    for _ in range(5):
        attempt(client, "rita", WRONG)
    for _ in range(3):  # someone keeps trying during the lockout
        assert attempt(client, "rita", WRONG).status_code == 429
    age_attempts(app, dt.timedelta(minutes=16))
    assert attempt(client, "rita", TEST_PASSWORD).status_code == 302


def test_failures_spread_over_more_than_the_window_do_not_lock(app, client):
    add_user(app, "rita", "receptionist")
    for _ in range(3):
        attempt(client, "rita", WRONG)
    age_attempts(app, dt.timedelta(minutes=16))
    for _ in range(2):
        attempt(client, "rita", WRONG)
    assert attempt(client, "rita", TEST_PASSWORD).status_code == 302


def test_a_successful_login_resets_the_count(app, client):
    add_user(app, "rita", "receptionist")
    for _ in range(4):
        attempt(client, "rita", WRONG)
    assert attempt(client, "rita", TEST_PASSWORD).status_code == 302
    client.post("/logout")
    for _ in range(4):
        assert attempt(client, "rita", WRONG).status_code == 401
    assert attempt(client, "rita", TEST_PASSWORD).status_code == 302


def test_unknown_usernames_are_throttled_alike_so_existence_is_not_revealed(app, client):
    for _ in range(5):
        assert attempt(client, "nobody", WRONG).status_code == 401
    assert attempt(client, "nobody", WRONG).status_code == 429


def test_throttling_one_account_leaves_others_alone(app, client):
    add_user(app, "rita", "receptionist")
    add_user(app, "nina", "nurse")
    for _ in range(5):
        attempt(client, "rita", WRONG)
    assert attempt(client, "nina", TEST_PASSWORD).status_code == 302


def test_failed_refused_and_successful_logins_are_audited(app, client):
    user_id = add_user(app, "rita", "receptionist")
    attempt(client, "rita", WRONG)
    attempt(client, "ghost", WRONG)
    attempt(client, "rita", TEST_PASSWORD)
    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)).all()
        rows = [(e.action, e.user_id, e.username, e.summary) for e in events]
    assert rows == [
        ("auth.login_failed", user_id, "rita", "wrong password"),
        ("auth.login_failed", None, "ghost", "unknown username"),
        ("auth.login", user_id, "rita", ""),
    ]
    for event in events:
        assert WRONG not in event.summary and TEST_PASSWORD not in event.summary


def test_throttled_attempts_are_audited(app, client):
    add_user(app, "rita", "receptionist")
    for _ in range(6):
        attempt(client, "rita", WRONG)
    assert audit_actions(app)[-1] == "auth.login_throttled"


def test_deactivated_account_cannot_log_in_even_with_its_password(app, client):
    add_user(app, "rita", "receptionist", active=False)
    assert attempt(client, "rita", TEST_PASSWORD).status_code == 401
    with app.app_context():
        assert db.session.scalars(sa.select(AuditEvent.summary)).all() == ["account deactivated"]


@pytest.mark.parametrize("failures", [4, 5])
def test_locked_until_counts_failures_in_the_window(session, failures):
    now = NOW
    for minute in range(failures):
        session.add(LoginAttempt(username="rita", at=now - dt.timedelta(minutes=minute)))
    session.commit()
    until = locked_until(session, username="rita", now=now, policy=ThrottlePolicy())
    assert until == (now + dt.timedelta(minutes=15) if failures == 5 else None)


def test_throttle_limits_are_settings(tmp_path, database_url):
    app = create_app(
        {**base_config(database_url, tmp_path), "LOGIN": {"max_failures": 3, "lockout_minutes": 5}}
    )
    policy = ThrottlePolicy.from_config(app.config)
    assert (policy.max_failures, policy.lockout) == (3, dt.timedelta(minutes=5))
    with app.app_context():
        db.engine.dispose()


def test_old_login_records_can_be_pruned_while_recent_ones_stay(session):
    from clinic.accounts.login import prune_login_attempts
    from clinic.accounts.sessions import prune_login_sessions
    from clinic.models import LoginSession

    now = NOW
    old, recent = now - dt.timedelta(days=100), now - dt.timedelta(days=1)
    user_id = make_user_row(session)
    session.add_all(
        [
            LoginAttempt(username="rita", at=old),
            LoginAttempt(username="rita", at=recent),
            LoginSession(id="old", user_id=user_id, created_at=old, last_seen_at=old),
            LoginSession(id="new", user_id=user_id, created_at=recent, last_seen_at=recent),
        ]
    )
    session.commit()
    keep = dt.timedelta(days=90)
    assert prune_login_attempts(session, now=now, keep=keep) == 1
    assert prune_login_sessions(session, now=now, keep=keep) == 1
    session.commit()
    assert session.scalars(sa.select(LoginSession.id)).all() == ["new"]
    assert session.scalar(sa.select(sa.func.count()).select_from(LoginAttempt)) == 1


def make_user_row(session) -> int:
    return make_user(session, "rita", "receptionist").id


def test_the_daily_job_prunes_login_records_older_than_90_days(app, session):
    from clinic.jobs import prune_login_records

    now = NOW  # the job reads the app clock, fixed there
    session.add_all(
        [
            LoginAttempt(username="rita", at=now - dt.timedelta(days=91)),
            LoginAttempt(username="rita", at=now - dt.timedelta(days=2)),
        ]
    )
    session.commit()
    prune_login_records(app)
    session.expire_all()
    remaining = session.scalars(sa.select(LoginAttempt.at)).all()
    assert len(remaining) == 1
    assert remaining[0] > now - dt.timedelta(days=3)
