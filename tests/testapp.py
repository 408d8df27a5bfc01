"""How the tests make the app: its configuration, a migrated database, a clean PostgreSQL
database, and the test client that signs its form posts with a CSRF token.

The fixtures in ``tests/conftest.py`` use these; so do the tests that make an app of their
own (two instances on one database, the browser tests' live server, the worker processes).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer

from clinic import create_app
from clinic.accounts.queries import user_by_name
from clinic.accounts.two_factor import TwoFactorPolicy, decrypt_secret, one_time_code, time_step
from clinic.clock import now
from clinic.extensions import db
from clinic.models import Base, TwoFactor
from tests.builders import TEST_PASSWORD


def base_config(database_url: str, instance_path: Path) -> dict[str, Any]:
    return {
        "TESTING": True,
        "SECRET_KEY": "testing-secret-not-for-production",
        "DATABASE_URL": database_url,
        "INSTANCE_PATH": str(instance_path),
        "MAIL": {"backend": "file"},
        "SMS": {"backend": "file"},
        "OUTBOX_DIR": str(instance_path / "outbox"),
    }


def migrate_to_head(database_url: str, instance_path: Path) -> None:
    from flask_migrate import upgrade

    app = create_app(base_config(database_url, instance_path))
    with app.app_context():
        upgrade()
        db.engine.dispose()


def truncate_all(url: str) -> None:
    engine = sa.create_engine(url)
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    engine.dispose()


class ClinicClient(FlaskClient):
    """A test client that adds a valid CSRF token to form posts unless ``csrf=False``."""

    def csrf_token(self) -> str:
        with self.session_transaction() as flask_session:
            if "csrf_token" not in flask_session:
                flask_session["csrf_token"] = hashlib.sha1(os.urandom(64)).hexdigest()
            raw_token = flask_session["csrf_token"]
        serializer = URLSafeTimedSerializer(self.application.secret_key, salt="wtf-csrf-token")
        return serializer.dumps(raw_token)

    def log_in(self, username: str, password: str = TEST_PASSWORD, **options: Any) -> Any:
        """Log in through every step a real user takes: the password, then enrolment or a
        one-time code from the user's own secret when a second factor is due. Returns the
        last answer (a 302 to the next page when the login worked)."""
        response = self.post("/login", data={"username": username, "password": password}, **options)
        location = response.headers.get("Location", "")
        if response.status_code != 302 or "/login/" not in location:
            return response
        if location.endswith("/login/enrol"):
            self.get("/login/enrol")
        code = current_code(self.application, username)
        path = urlsplit(location).path
        return self.post(path, data={"code": code})

    def is_logged_in(self) -> bool:
        with self.session_transaction() as flask_session:
            return "_user_id" in flask_session

    def post(self, *args: Any, csrf: bool = True, **kwargs: Any) -> Any:
        if csrf and "json" not in kwargs:
            data = kwargs.get("data")
            if data is None:
                data = {}
            if isinstance(data, dict):
                data = {"csrf_token": self.csrf_token(), **data}
                kwargs["data"] = data
        return super().post(*args, **kwargs)


def current_code(app: Any, username: str) -> str:
    """The code ``username``'s authenticator would show now, for a time step the server has
    not yet accepted (±1 step of drift is allowed, so up to three logins at a fixed instant)."""
    with app.app_context():
        user = user_by_name(db.session, username)
        assert user is not None, username
        row = db.session.get(TwoFactor, user.id)
        assert row is not None, f"{username} has not started enrolment"
        secret = decrypt_secret(row, TwoFactorPolicy.from_config(app.config))
        current = time_step(now())
        for step in range(current - 1, current + 2):
            if row.last_used_step is None or step > row.last_used_step:
                db.session.rollback()
                return one_time_code(secret, step)
        raise AssertionError("every code of this instant is used: advance the clock 30 s")
