"""Login, logout, CSRF and the pages that need a login."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import Patient
from tests.builders import TEST_PASSWORD, make_user


def test_healthz_answers_ok_when_the_database_is_reachable(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_answers_503_when_the_database_is_unreachable(tmp_path):
    from clinic import create_app
    from tests.testapp import base_config

    # A directory cannot be opened as an SQLite database.
    unreachable = create_app(base_config(f"sqlite:///{tmp_path}", tmp_path))
    response = unreachable.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "unavailable"


@pytest.mark.parametrize("path", ["/", "/logout"])
def test_pages_need_a_login(client, path):
    response = client.get(path)
    if path == "/logout":
        assert response.status_code == 405  # logout is POST-only
        return
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_login_and_logout(client, login):
    login("receptionist")
    home = client.get("/")
    assert home.status_code == 200
    assert "Today at" in home.get_data(as_text=True) or "No location" in home.get_data(as_text=True)
    response = client.post("/logout")
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(app, client, session):
    make_user(session, "rita", "receptionist")
    response = client.post("/login", data={"username": "rita", "password": "not-the-password"})
    assert response.status_code == 401
    assert "Unknown username or wrong password" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_post_without_csrf_token_is_refused_and_changes_nothing(app, client, session):
    make_user(session, "rita", "receptionist")
    response = client.post(
        "/login", data={"username": "rita", "password": TEST_PASSWORD}, csrf=False
    )
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("/healthz", "/healthz"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
    ],
)
def test_login_redirects_only_to_same_site_paths(app, client, session, next_url, expected):
    make_user(session, "rita", "receptionist")
    response = client.post(
        f"/login?next={next_url}", data={"username": "rita", "password": TEST_PASSWORD}
    )
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location == expected
    assert "evil.example" not in location


def test_passwords_are_hashed_with_scrypt(session):
    user = make_user(session, "rita", "receptionist")
    assert user.password_hash.startswith("scrypt:")
    assert TEST_PASSWORD not in user.password_hash


def test_cookies_are_httponly_and_samesite_lax(app, client, session):
    make_user(session, "rita", "receptionist")
    response = client.post("/login", data={"username": "rita", "password": TEST_PASSWORD})
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_error_pages_never_show_patient_data(app, client, login):
    login("receptionist")
    with app.app_context():
        db.session.execute(sa.select(Patient)).all()
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "There is nothing at this address" in response.get_data(as_text=True)
