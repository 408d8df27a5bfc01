"""ASVS 2.1.2 and 2.1.7: passwords of 12 to 128 characters, refused when common, breached or
easy to guess (zxcvbn), by the same rule in the CLI, the admin pages and a password change;
a password of the longest allowed length can log in."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from clinic.accounts import UserError, change_password, create_user
from clinic.accounts.passwords import MAX_PASSWORD_LENGTH, password_problem
from clinic.audit import SYSTEM
from clinic.extensions import db
from clinic.models import User
from tests.builders import NOW, make_user

LONGEST = ("violet kettle harbour 42 " * 6)[:MAX_PASSWORD_LENGTH]
TOO_LONG = "q" + LONGEST


@pytest.mark.parametrize("password", ["123456789012", "passwordpassword", "qwertyuiopasdf"])
def test_guessable_passwords_are_refused(password):
    assert "easy to guess" in (password_problem("rita", password) or "") or "commonly" in (
        password_problem("rita", password) or ""
    )


def test_the_length_limits_are_12_to_128():
    assert len(LONGEST) == 128 and password_problem("rita", LONGEST) is None
    assert "at most 128" in (password_problem("rita", TOO_LONG) or "")


def test_create_user_refuses_a_password_over_128_and_saves_nothing(session):
    with pytest.raises(UserError) as refused:
        create_user(session, username="rita", role="nurse", password=TOO_LONG, actor=SYSTEM)
    assert "at most 128" in refused.value.fields["password"]
    assert session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


@pytest.mark.parametrize("password", ["123456789012", "passwordpassword", TOO_LONG])
def test_the_cli_applies_the_same_rule(app, runner, password):
    result = runner.invoke(
        args=["create-user", "rita", "--role", "nurse", "--password-stdin"],
        input=password + "\n",
    )
    assert result.exit_code != 0
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_the_admin_page_applies_the_same_rule(app, client, login):
    login("admin")
    response = client.post(
        "/admin/users",
        data={"username": "rita", "role": "nurse", "password": "passwordpassword"},
    )
    assert response.status_code == 422
    assert "easy to guess" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(User).filter_by(username="rita")) is None


def test_a_password_change_applies_the_same_rule(app):
    with app.app_context():
        user = make_user(db.session, "rita", "receptionist")
        before = user.password_hash
        with pytest.raises(UserError):
            change_password(
                db.session, user_id=user.id, password="123456789012", actor=SYSTEM, now=NOW
            )
        assert db.session.get(User, user.id).password_hash == before


def test_a_128_character_password_can_log_in(app, client):
    with app.app_context():
        create_user(db.session, username="rita", role="nurse", password=LONGEST, actor=SYSTEM)
    response = client.post("/login", data={"username": "rita", "password": LONGEST})
    assert response.status_code == 302
