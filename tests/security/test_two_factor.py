"""Two-factor logins (issue 20 point 7): enrolment with a real RFC 6238 code, the code step,
replay, drift, recovery codes, the pending state, role configuration, the admin and CLI
reset, throttling, the audit trail and CSRF on every new form."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pyotp
import pytest
import sqlalchemy as sa

from clinic import create_app
from clinic.accounts.login import ThrottlePolicy
from clinic.accounts.two_factor import (
    PENDING_LIFETIME,
    TwoFactorError,
    TwoFactorPolicy,
    decrypt_secret,
    time_step,
)
from clinic.clock import app_clock
from clinic.config import ConfigError
from clinic.extensions import db
from clinic.models import AuditEvent, LoginAttempt, LoginSession, RecoveryCode, TwoFactor, User
from clinic.security.web import CONTENT_SECURITY_POLICY
from tests.builders import NOW, TEST_PASSWORD, add_user, audit_actions
from tests.testapp import ClinicClient, base_config

POLICY = ThrottlePolicy()


def new_client(app) -> ClinicClient:
    app.test_client_class = ClinicClient
    return app.test_client()  # type: ignore[return-value]


def password_step(client, username: str) -> Any:
    return client.post("/login", data={"username": username, "password": TEST_PASSWORD})


def page_secret(page: str) -> str:
    found = re.search(r'id="two-factor-secret">([A-Z2-7 ]+)<', page)
    assert found, "the enrolment page shows the key as text"
    return found.group(1).replace(" ", "")


def code_at(secret: str, at: dt.datetime) -> str:
    return pyotp.TOTP(secret).at(at)


def enrol(app, client, username: str) -> tuple[str, list[str]]:
    """Enrol through the pages with a real pyotp code; returns (secret, recovery codes)."""
    assert password_step(client, username).headers["Location"] == "/login/enrol"
    secret = page_secret(client.get("/login/enrol").get_data(as_text=True))
    response = client.post("/login/enrol", data={"code": code_at(secret, app_clock(app)())})
    assert response.status_code == 200, response.get_data(as_text=True)
    codes = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", response.get_data(as_text=True))
    return secret, codes


def enrolled_admin(app, clock, username: str = "boss") -> tuple[ClinicClient, str, list[str]]:
    """An admin enrolled at ``NOW`` and logged out again; the clock then moves on 30 s (the
    next code, and failures that come after the enrolment's successful login)."""
    add_user(app, username, "admin")
    client = new_client(app)
    secret, codes = enrol(app, client, username)
    client.post("/logout")
    clock.advance(dt.timedelta(seconds=30))
    return client, secret, codes


def rows(app, model: Any, **where: Any) -> list[Any]:
    with app.app_context():
        found = list(db.session.scalars(sa.select(model).filter_by(**where)))
        db.session.expunge_all()
        return found


def events(app, action: str) -> list[AuditEvent]:
    return rows(app, AuditEvent, action=action)


# --- Enrolment ----------------------------------------------------------------------------


def test_an_admin_enrols_with_a_real_code_and_gets_ten_recovery_codes_once(app, clock):
    user_id = add_user(app, "boss", "admin")
    client = new_client(app)
    response = password_step(client, "boss")
    assert response.status_code == 302 and response.headers["Location"] == "/login/enrol"
    assert not client.is_logged_in()
    page = client.get("/login/enrol")
    html = page.get_data(as_text=True)
    # The QR code is inline SVG drawn on the server: no script, no style, no remote image.
    svg = re.search(r"<svg.*?</svg>", html, re.S)
    assert svg and "<script" not in svg.group(0) and "style=" not in svg.group(0)
    assert page.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    secret = page_secret(html)

    done = client.post("/login/enrol", data={"code": code_at(secret, NOW)})
    assert done.status_code == 200
    codes = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", done.get_data(as_text=True))
    assert len(codes) == 10 and len(set(codes)) == 10
    assert client.is_logged_in()
    assert client.get("/admin/users").status_code == 200
    # Shown once: the next page does not show them again.
    assert codes[0] not in client.get("/").get_data(as_text=True)

    (row,) = rows(app, TwoFactor, user_id=user_id)
    assert row.confirmed_at == NOW and row.last_used_step == time_step(NOW)
    assert secret not in row.secret_encrypted  # encrypted at rest
    stored = {code.code_hash for code in rows(app, RecoveryCode, user_id=user_id)}
    assert len(stored) == 10 and not stored & {c.replace("-", "") for c in codes}
    assert audit_actions(app)[-4:] == [
        "auth.password_ok",
        "auth.two_factor_enrol_start",
        "auth.two_factor_enrol",
        "auth.login",
    ]


def test_a_wrong_enrolment_code_keeps_the_user_out_and_the_secret_waiting(app, clock):
    add_user(app, "boss", "admin")
    client = new_client(app)
    password_step(client, "boss")
    secret = page_secret(client.get("/login/enrol").get_data(as_text=True))
    wrong = code_at(secret, NOW + dt.timedelta(minutes=5))
    response = client.post("/login/enrol", data={"code": wrong})
    assert response.status_code == 401
    assert "not right" in response.get_data(as_text=True)
    assert not client.is_logged_in()
    # Reloading shows the same secret: a phone that scanned it still works.
    assert page_secret(client.get("/login/enrol").get_data(as_text=True)) == secret
    assert [e.summary for e in events(app, "auth.two_factor_enrol_failed")] == ["wrong code"]


def test_an_admin_without_a_second_factor_can_do_nothing_but_enrol(app, clock):
    add_user(app, "boss", "admin")
    client = new_client(app)
    password_step(client, "boss")
    for path in ("/", "/admin/users", "/patients/", "/audit/"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path
    assert rows(app, LoginSession) == []
    assert "auth.login" not in audit_actions(app)
    # The enrolment page is still there for them.
    assert client.get("/login/enrol").status_code == 200


def test_the_pending_login_ends_after_five_minutes(app, clock):
    add_user(app, "boss", "admin")
    client = new_client(app)
    password_step(client, "boss")
    clock.advance(PENDING_LIFETIME + dt.timedelta(seconds=1))
    response = client.get("/login/enrol", follow_redirects=True)
    assert response.request.path == "/login"
    assert "Log in with your username and password first" in response.get_data(as_text=True)


def test_the_second_step_without_a_password_step_goes_to_the_login_page(app, client):
    for path in ("/login/code", "/login/enrol"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"] == "/login"


def test_an_admin_created_on_the_command_line_enrols_at_first_login(app, runner, clock):
    result = runner.invoke(
        args=["create-user", "chief", "--role", "admin", "--password-stdin"],
        input=f"{TEST_PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    client = new_client(app)
    _, codes = enrol(app, client, "chief")
    assert len(codes) == 10 and client.is_logged_in()


# --- The code step ------------------------------------------------------------------------


def test_an_enrolled_admin_logs_in_with_the_next_code(app, clock):
    client, secret, _ = enrolled_admin(app, clock)
    response = client.post(
        "/login?next=/admin/users", data={"username": "boss", "password": TEST_PASSWORD}
    )
    assert response.headers["Location"] == "/login/code"
    assert not client.is_logged_in()
    response = client.post("/login/code", data={"code": code_at(secret, clock())})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/users"
    assert client.is_logged_in()
    (use,) = events(app, "auth.two_factor_use")
    assert use.username == "boss" and use.source_address == "127.0.0.1"
    assert events(app, "auth.login")[-1].summary == "with a one-time code"


def test_a_wrong_code_is_refused_and_counts_as_a_failed_login(app, clock):
    client, secret, _ = enrolled_admin(app, clock)
    password_step(client, "boss")
    response = client.post(
        "/login/code", data={"code": code_at(secret, NOW + dt.timedelta(hours=1))}
    )
    assert response.status_code == 401
    assert not client.is_logged_in()
    assert [e.summary for e in events(app, "auth.two_factor_failed")] == ["wrong code"]
    failed = rows(app, LoginAttempt, username="boss", succeeded=False)
    assert len(failed) == 1


def test_a_code_is_accepted_only_once(app, clock):
    client, secret, _ = enrolled_admin(app, clock)
    # The enrolment used NOW's code: 30 s on it is still within the drift allowed, and
    # refused because it was used.
    password_step(client, "boss")
    response = client.post("/login/code", data={"code": code_at(secret, NOW)})
    assert response.status_code == 401
    assert "already been used" in response.get_data(as_text=True)
    assert [e.summary for e in events(app, "auth.two_factor_failed")] == ["code already used"]
    assert not client.is_logged_in()


def test_one_step_of_clock_drift_either_way_is_allowed_and_two_are_not(app, clock):
    client, secret, _ = enrolled_admin(app, clock)
    clock.advance(dt.timedelta(minutes=2))
    password_step(client, "boss")
    too_far = code_at(secret, clock() + dt.timedelta(seconds=60))
    assert client.post("/login/code", data={"code": too_far}).status_code == 401
    behind = code_at(secret, clock() - dt.timedelta(seconds=30))
    assert client.post("/login/code", data={"code": behind}).status_code == 302
    client.post("/logout")
    password_step(client, "boss")
    ahead = code_at(secret, clock() + dt.timedelta(seconds=30))
    assert client.post("/login/code", data={"code": ahead[:3] + " " + ahead[3:]}).status_code == 302


def test_a_recovery_code_logs_in_once(app, clock):
    client, _, codes = enrolled_admin(app, clock)
    password_step(client, "boss")
    response = client.post("/login/code", data={"code": codes[0].upper()}, follow_redirects=True)
    assert response.status_code == 200
    assert "You logged in with a recovery code; 9 left." in response.get_data(as_text=True)
    assert [e.summary for e in events(app, "auth.recovery_code_use")] == [
        "recovery code used; 9 left"
    ]
    client.post("/logout")
    password_step(client, "boss")
    again = client.post("/login/code", data={"code": codes[0]})
    assert again.status_code == 401
    assert not client.is_logged_in()
    assert [e.summary for e in events(app, "auth.recovery_code_failed")] == [
        "wrong or used recovery code"
    ]
    # Another one still works, typed without its hyphen.
    assert client.post("/login/code", data={"code": codes[1].replace("-", "")}).status_code == 302


def test_wrong_codes_lock_the_account_like_wrong_passwords(app, clock):
    client, secret, _ = enrolled_admin(app, clock)
    password_step(client, "boss")
    for _ in range(POLICY.max_failures):
        assert client.post("/login/code", data={"code": "000000"}).status_code == 401
    response = client.post("/login/code", data={"code": code_at(secret, clock())})
    assert response.status_code == 429
    assert "Too many failed login attempts for this account" in response.get_data(as_text=True)
    assert not client.is_logged_in()
    # The right password does not reset the count, nor get past the lockout.
    assert password_step(client, "boss").status_code == 429
    assert events(app, "auth.login_throttled")
    # Once the lockout has run out the right code logs in.
    clock.advance(POLICY.lockout + dt.timedelta(seconds=1))
    password_step(client, "boss")
    later = code_at(secret, clock())
    assert client.post("/login/code", data={"code": later}).status_code == 302


def test_an_admin_sees_a_second_factor_lockout_and_lifts_it(app, clock):
    client, _, _ = enrolled_admin(app, clock)
    password_step(client, "boss")
    for _ in range(POLICY.max_failures):
        client.post("/login/code", data={"code": "000000"})
    other = new_client(app)
    add_user(app, "chief", "admin")
    enrol(app, other, "chief")
    page = other.get("/admin/lockouts").get_data(as_text=True)
    assert "boss" in page


# --- Configuration ------------------------------------------------------------------------


@pytest.fixture
def app_config(database_url, tmp_path, request) -> dict[str, Any]:
    config = base_config(database_url, tmp_path)
    config.update(getattr(request, "param", {}))
    return config


@pytest.mark.parametrize("app_config", [{"TWO_FACTOR_ROLES": ["nurse"]}], indirect=True)
def test_a_configured_role_must_enrol_and_the_others_need_not(app, clock):
    add_user(app, "nina", "nurse")
    add_user(app, "rita", "receptionist")
    assert password_step(new_client(app), "nina").headers["Location"] == "/login/enrol"
    assert password_step(new_client(app), "rita").headers["Location"] == "/"


def test_by_default_only_admins_need_a_second_factor(app, clock):
    add_user(app, "nina", "nurse")
    client = new_client(app)
    assert password_step(client, "nina").headers["Location"] == "/"
    assert client.is_logged_in()


def test_an_unknown_role_in_the_setting_stops_the_app_at_start(tmp_path):
    config = base_config(f"sqlite:///{tmp_path / 'x.db'}", tmp_path)
    config["TWO_FACTOR_ROLES"] = ["nurse", "janitor"]
    with pytest.raises(ConfigError, match="unknown role 'janitor'"):
        create_app(config)


def test_roles_may_be_given_as_a_comma_separated_environment_value():
    policy = TwoFactorPolicy.from_config(
        {"TWO_FACTOR_ROLES": "nurse, receptionist", "SECRET_KEY": "k"}
    )
    assert {role.value for role in policy.required_roles} == {"admin", "nurse", "receptionist"}


def test_secrets_are_encrypted_with_the_configured_key_and_a_changed_key_says_so(app, clock):
    enrolled_admin(app, clock)
    (row,) = rows(app, TwoFactor)
    policy = TwoFactorPolicy.from_config(app.config)
    secret = decrypt_secret(row, policy)
    assert len(secret) == 32  # base32 of 160 bits
    # The default key is derived from SECRET_KEY; a dedicated TWO_FACTOR_KEY replaces it.
    assert TwoFactorPolicy.from_config({**app.config, "TWO_FACTOR_KEY": "k" * 40}).key != policy.key
    with pytest.raises(TwoFactorError, match="key has changed"):
        decrypt_secret(row, TwoFactorPolicy.from_config({"TWO_FACTOR_KEY": "another-key"}))


# --- Reset --------------------------------------------------------------------------------


def test_an_admin_resets_another_users_second_factor_and_they_enrol_again(app, clock):
    boss, _, _ = enrolled_admin(app, clock, "boss")
    chief_id = add_user(app, "chief", "admin")
    chief = new_client(app)
    enrol(app, chief, "chief")
    boss_id = rows(app, User, username="boss")[0].id
    password_step(boss, "boss")  # boss is mid-login; chief's own session is live
    page = chief.get(f"/admin/users/{boss_id}").get_data(as_text=True)
    assert "Reset two-factor login" in page and "10 recovery codes left" in page

    response = chief.post(f"/admin/users/{boss_id}/two-factor/reset")
    assert response.status_code == 302
    assert rows(app, TwoFactor, user_id=boss_id) == []
    assert rows(app, RecoveryCode, user_id=boss_id) == []
    (reset,) = events(app, "auth.two_factor_reset")
    assert reset.user_id == chief_id and reset.entity_id == str(boss_id)
    # boss must enrol again.
    assert password_step(new_client(app), "boss").headers["Location"] == "/login/enrol"


def test_a_reset_ends_the_users_sessions(app, clock):
    add_user(app, "chief", "admin")
    chief = new_client(app)
    enrol(app, chief, "chief")
    add_user(app, "boss", "admin")
    boss = new_client(app)
    enrol(app, boss, "boss")
    assert boss.get("/admin/users").status_code == 200
    boss_id = rows(app, User, username="boss")[0].id
    chief.post(f"/admin/users/{boss_id}/two-factor/reset")
    assert boss.get("/admin/users").status_code == 302


def test_an_admin_cannot_reset_their_own_and_nothing_changes(app, clock):
    boss_id = add_user(app, "boss", "admin")
    client = new_client(app)
    enrol(app, client, "boss")
    response = client.post(f"/admin/users/{boss_id}/two-factor/reset")
    assert response.status_code == 422
    assert "cannot reset your own" in response.get_data(as_text=True)
    assert len(rows(app, TwoFactor, user_id=boss_id)) == 1
    assert events(app, "auth.two_factor_reset") == []


def test_only_admins_may_reset(app, login, client):
    boss_id = add_user(app, "boss", "admin")
    login("receptionist")
    assert client.post(f"/admin/users/{boss_id}/two-factor/reset").status_code == 403


def test_the_command_line_resets_the_last_admins_second_factor(app, runner, clock):
    enrolled_admin(app, clock)
    result = runner.invoke(args=["reset-two-factor", "boss"])
    assert result.exit_code == 0, result.output
    assert rows(app, TwoFactor) == []
    (reset,) = events(app, "auth.two_factor_reset")
    assert reset.username == "system"
    refused = runner.invoke(args=["reset-two-factor", "boss"])
    assert refused.exit_code != 0 and "no two-factor login to reset" in refused.output


# --- CSRF ---------------------------------------------------------------------------------


def test_every_new_form_needs_its_csrf_token(app, clock):
    client, secret, _ = enrolled_admin(app, clock)
    password_step(client, "boss")
    code = code_at(secret, clock())
    assert client.post("/login/code", data={"code": code}, csrf=False).status_code == 400
    assert not client.is_logged_in()

    add_user(app, "chief", "admin")
    chief = new_client(app)
    password_step(chief, "chief")
    chief_secret = page_secret(chief.get("/login/enrol").get_data(as_text=True))
    chief_code = code_at(chief_secret, clock())
    assert chief.post("/login/enrol", data={"code": chief_code}, csrf=False).status_code == 400
    assert not chief.is_logged_in()
    assert chief.post("/login/enrol", data={"code": chief_code}).status_code == 200

    boss_id = rows(app, User, username="boss")[0].id
    response = chief.post(f"/admin/users/{boss_id}/two-factor/reset", csrf=False)
    assert response.status_code == 400
    assert len(rows(app, TwoFactor, user_id=boss_id)) == 1


def test_production_refuses_a_weak_two_factor_key(tmp_path):
    config = base_config(f"sqlite:///{tmp_path / 'x.db'}", tmp_path)
    config.update(
        PRODUCTION=True,
        SECRET_KEY="Zq8vN2xL5rT9wB3mK7pH4cJ6dF1gS0aYuEiOoPl",
        TWO_FACTOR_KEY="short",
    )
    with pytest.raises(ConfigError, match="TWO_FACTOR_KEY is unfit"):
        create_app(config)
