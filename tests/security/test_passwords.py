"""Password policy: 12+ characters, not the username, not a common password."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from clinic.accounts import UserError, change_password, create_user
from clinic.accounts.passwords import COMMON_PASSWORDS_FILE, common_passwords, password_problem
from clinic.audit import SYSTEM
from clinic.extensions import db
from clinic.models import LoginSession, User
from tests.builders import NOW, add_user, login_sessions


def test_the_shipped_list_holds_thousands_of_common_passwords():
    listed = common_passwords()
    assert len(listed) > 5000
    assert {"password", "123456", "qwerty", "letmein", "1qaz2wsx3edc4rfv"} <= listed
    assert COMMON_PASSWORDS_FILE.is_file()


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ("short-pass1", "at least 12 characters"),
        ("nurse.jackie", "must not be the username"),
        ("NURSE.JACKIE", "must not be the username"),
        ("nurse.jackie2024!", "must not be the username"),
        ("aaaaaaaaaaaaaaa", "too few characters"),
        ("abababababababab", "too few characters"),
        ("1qaz2wsx3edc4rfv", "commonly used"),  # a listed 16-character password
        ("qazwsxedcrfvtgb", "commonly used"),
        ("password12345678", "commonly used"),  # listed word padded with digits
        ("!!Sunshine2024!!", "commonly used"),
        ("Football123456", "commonly used"),
    ],
)
def test_weak_passwords_are_refused_with_a_reason(password, expected):
    assert expected in (password_problem("nurse.jackie", password) or "")


@pytest.mark.parametrize(
    "password",
    ["correct-horse-battery-staple-9", "tidal quince 47 lantern", "demo-admin-password"],
)
def test_strong_passwords_are_accepted(password):
    assert password_problem("nurse.jackie", password) is None


def test_create_user_applies_the_policy(session):
    with pytest.raises(UserError, match="commonly used"):
        create_user(
            session,
            username="rita",
            role="receptionist",
            password="qazwsxedcrfvtgb",
            actor=SYSTEM,
        )
    with pytest.raises(UserError, match="at least 12"):
        create_user(session, username="rita", role="receptionist", password="short", actor=SYSTEM)
    assert session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_cli_create_user_refuses_a_common_password(runner):
    result = runner.invoke(
        args=["create-user", "rita", "--role", "nurse", "--password-stdin"],
        input="password1234567\n",
    )
    assert result.exit_code != 0
    assert "commonly used" in result.output


def test_changing_a_password_ends_the_users_sessions(app, client, login):
    user = login("receptionist")
    assert client.get("/").status_code == 200
    with app.app_context():
        change_password(
            db.session,
            user_id=user.id,
            password="a brand new passphrase 31",
            actor=SYSTEM,
            now=NOW,
        )
    [row] = login_sessions(app)
    assert row.ended_at is not None
    assert client.get("/").status_code == 302


def test_change_password_refuses_a_weak_one_and_changes_nothing(app):
    user_id = add_user(app, "rita.receptionist", "receptionist")
    with app.app_context():
        before = db.session.get(User, user_id).password_hash
        db.session.add(LoginSession(id="s" * 43, user_id=user_id, source_address=None))
        db.session.commit()
        with pytest.raises(UserError, match="must not be the username"):
            change_password(
                db.session,
                user_id=user_id,
                password="Rita.Receptionist",
                actor=SYSTEM,
                now=NOW,
            )
        db.session.rollback()
        assert db.session.get(User, user_id).password_hash == before
        assert db.session.get(LoginSession, "s" * 43).ended_at is None
