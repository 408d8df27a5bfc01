"""Server-side sessions: new id at login, real logout, idle and absolute timeouts, cookies."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from clinic import create_app
from clinic.accounts.sessions import TOUCH_INTERVAL
from clinic.extensions import db
from clinic.models import LoginSession, User
from tests.builders import (
    NOW,
    TEST_PASSWORD,
    add_user,
    audit_actions,
    flask_session,
    login_sessions,
)


def shift_session_clock(app, *, created_by=None, last_seen_by=None) -> None:
    """Move every live session's timestamps into the past, as if time had passed."""
    with app.app_context():
        for row in db.session.scalars(sa.select(LoginSession)):
            if created_by is not None:
                row.created_at -= created_by
                row.last_seen_at = min(row.last_seen_at, row.created_at + created_by)
            if last_seen_by is not None:
                row.last_seen_at -= last_seen_by
        db.session.commit()


def test_login_starts_a_fresh_session_with_a_new_server_side_id(app, client, login):
    client.get("/login")
    with client.session_transaction() as planted:
        planted["planted_by_attacker"] = "x"
    login("receptionist")
    first = flask_session(app, client)
    assert "planted_by_attacker" not in first
    rows = login_sessions(app)
    assert len(rows) == 1 and first["login_session"] == rows[0].id
    assert len(rows[0].id) >= 40  # 256 random bits

    client.post("/logout")
    login("receptionist")
    second = flask_session(app, client)
    assert second["login_session"] != first["login_session"]
    assert len(login_sessions(app)) == 2


def test_logout_ends_the_session_server_side_so_a_copied_cookie_stops_working(app, client, login):
    login("nurse")
    stolen = client.get_cookie("session").value
    assert client.get("/").status_code == 200

    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert thief.get("/").status_code == 200  # the copy works while the session lives

    assert client.post("/logout").status_code == 302
    [row] = login_sessions(app)
    assert row.ended_at is not None

    response = thief.get("/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    assert "auth.logout" in audit_actions(app)


def test_idle_session_is_logged_out_with_a_message(app, client, login):
    login("receptionist")
    assert client.get("/").status_code == 200
    shift_session_clock(app, last_seen_by=dt.timedelta(minutes=31))

    response = client.get("/", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.request.path == "/login"
    assert "logged out after 30 minutes without activity" in page
    assert "Please log in to continue" not in page  # one clear message, not two
    [row] = login_sessions(app)
    assert row.ended_at is not None
    assert "auth.session_timeout" in audit_actions(app)


def test_activity_within_the_idle_limit_keeps_the_session(app, client, login):
    login("receptionist")
    shift_session_clock(app, last_seen_by=dt.timedelta(minutes=29))
    assert client.get("/").status_code == 200
    [row] = login_sessions(app)
    assert NOW - row.last_seen_at < dt.timedelta(minutes=1)


def test_session_older_than_the_absolute_limit_is_logged_out_even_if_active(app, client, login):
    login("receptionist")
    shift_session_clock(app, created_by=dt.timedelta(hours=12, minutes=1))
    # Active a moment ago: only the absolute limit applies.
    with app.app_context():
        for row in db.session.scalars(sa.select(LoginSession)):
            row.last_seen_at = NOW
        db.session.commit()
    response = client.get("/", follow_redirects=True)
    assert response.request.path == "/login"
    assert "logged in for 12 hours" in response.get_data(as_text=True)


class TestShorterLimits:
    @pytest.fixture
    def app_config(self, app_config):
        return {**app_config, "SESSION": {"idle_minutes": 5, "absolute_hours": 1}}

    def test_timeouts_are_settings(self, app, client, login):
        assert app.config["SESSION_IDLE_MINUTES"] == 5
        login("receptionist")
        shift_session_clock(app, last_seen_by=dt.timedelta(minutes=6))
        response = client.get("/", follow_redirects=True)
        assert "logged out after 5 minutes without activity" in response.get_data(as_text=True)


def test_last_seen_is_written_at_most_once_a_minute(app, client, login):
    login("receptionist")
    [before] = login_sessions(app)
    for _ in range(3):
        assert client.get("/").status_code == 200
    [after] = login_sessions(app)
    assert after.last_seen_at == before.last_seen_at  # no write per request

    shift_session_clock(app, last_seen_by=TOUCH_INTERVAL + dt.timedelta(seconds=1))
    [aged] = login_sessions(app)
    assert client.get("/").status_code == 200
    [touched] = login_sessions(app)
    assert touched.last_seen_at > aged.last_seen_at


def test_deactivated_user_is_logged_out_on_the_next_request(app, client, login):
    user = login("receptionist")
    with app.app_context():
        db.session.get(User, user.id).active = False
        db.session.commit()
    assert client.get("/").status_code == 302


def test_a_forged_session_id_is_not_accepted(app, client, login):
    login("receptionist")
    with client.session_transaction() as cookie_session:
        cookie_session["login_session"] = "not-a-real-session-id"
    response = client.get("/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_no_remember_me_cookie_is_set_at_login(app, client):
    add_user(app, "rita", "receptionist")
    response = client.post("/login", data={"username": "rita", "password": TEST_PASSWORD})
    assert response.status_code == 302
    cookies = response.headers.getlist("Set-Cookie")
    assert not any(cookie.startswith("remember_token=") for cookie in cookies)
    # Even a ticked "remember" box sent by a crafted form changes nothing.
    client.post("/logout")
    response = client.post(
        "/login", data={"username": "rita", "password": TEST_PASSWORD, "remember": "y"}
    )
    assert not any(c.startswith("remember_token=") for c in response.headers.getlist("Set-Cookie"))


def session_cookie_header(client, username: str) -> str:
    response = client.post("/login", data={"username": username, "password": TEST_PASSWORD})
    assert response.status_code == 302
    return next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))


def test_session_cookie_is_httponly_samesite_lax_and_not_secure_in_the_embedded_default(
    app, client, session
):
    add_user(app, "rita", "receptionist")
    cookie = session_cookie_header(client, "rita")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # http://127.0.0.1 must still work


class TestSecureCookiesSetting:
    @pytest.fixture
    def app_config(self, app_config):
        return {**app_config, "SECURE_COOKIES": True}

    def test_session_cookie_is_secure_when_configured(self, app, client):
        add_user(app, "rita", "receptionist")
        response = client.post(
            "/login",
            data={"username": "rita", "password": TEST_PASSWORD},
            base_url="https://localhost",
            # Over HTTPS Flask-WTF also wants a same-origin Referer.
            headers={"Referer": "https://localhost/login"},
        )
        assert response.status_code == 302
        cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_production_always_sends_secure_cookies(tmp_path):
    app = create_app(
        {
            "PRODUCTION": True,
            "SECURE_COOKIES": False,
            "SECRET_KEY": "Zq8-w3_rT0pLmN5vB2xC9kH4jG7fD1sA6eR0tY3u",
            "INSTANCE_PATH": str(tmp_path),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}",
        }
    )
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_login_and_logout_are_audited_with_the_source_address(app, client, login):
    user = login("admin")
    client.post("/logout")
    with app.app_context():
        from clinic.models import AuditEvent

        events = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)).all()
        assert [event.action for event in events] == [
            "auth.password_ok",
            "auth.two_factor_enrol_start",
            "auth.two_factor_enrol",
            "auth.login",
            "auth.logout",
        ]
        assert all(event.user_id == user.id for event in events)
        assert all(event.source_address == "127.0.0.1" for event in events)


@pytest.mark.parametrize(
    "next_url", ["/\\evil.example/", "https://evil.example/", "//evil.example", "javascript:x"]
)
def test_login_never_redirects_off_site(app, client, next_url):
    add_user(app, "rita", "receptionist")
    response = client.post(
        "/login",
        query_string={"next": next_url},
        data={"username": "rita", "password": TEST_PASSWORD},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
