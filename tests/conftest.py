"""Shared fixtures: ``app``, ``client``, ``runner``, ``session``, ``clock``, ``login`` and the
database. Worlds are built with ``tests.builders``; the app's configuration and test client
live in ``tests.testapp``. Nothing is imported from here.

Every test that uses ``app`` runs once on SQLite and, when CLINIC_TEST_DATABASE_URL is set,
once more on PostgreSQL. Each test gets a fresh database: on SQLite a copy of a migrated
template file; on PostgreSQL a per-worker database built by the migrations and truncated
between tests. With CLINIC_REQUIRE_POSTGRES=1 (set by .ci/run) a missing PostgreSQL is a
failure, not a skip.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from clinic import create_app
from clinic.clock import FixedClock, set_clock
from clinic.extensions import db
from clinic.models import User
from tests.builders import NOW, TEST_PASSWORD, make_user
from tests.testapp import ClinicClient, base_config, migrate_to_head, truncate_all

PG_URL = os.environ.get("CLINIC_TEST_DATABASE_URL", "")
REQUIRE_POSTGRES = os.environ.get("CLINIC_REQUIRE_POSTGRES") == "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``postgres_only`` assert PostgreSQL's own guards: run them only with the
    PostgreSQL database (rather than as a SQLite copy that could only skip)."""
    for item in list(items):
        callspec = getattr(item, "callspec", None)
        if (
            item.get_closest_marker("postgres_only")
            and callspec is not None
            and callspec.params.get("database_url") == "sqlite"
        ):
            items.remove(item)


# --- SQLite -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sqlite-template")
    path = folder / "template.db"
    migrate_to_head(f"sqlite:///{path}", folder)
    # Fold the WAL back into the main file so a plain copy is complete.
    with sa.create_engine(f"sqlite:///{path}").connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


# --- PostgreSQL ---------------------------------------------------------------------------


def postgres_unavailable_reason() -> str | None:
    if not PG_URL:
        return "PostgreSQL tests need CLINIC_TEST_DATABASE_URL (e.g. postgresql://postgres@127.0.0.1/postgres)"
    try:
        engine = sa.create_engine(pg_driver_url(PG_URL))
        with engine.connect():
            pass
        engine.dispose()
    except sa.exc.OperationalError as error:
        return f"PostgreSQL at CLINIC_TEST_DATABASE_URL is unreachable: {type(error).__name__}"
    return None


def pg_driver_url(url: str) -> str:
    from clinic.config import normalise_database_url

    return normalise_database_url(url)


def require_postgres() -> None:
    reason = postgres_unavailable_reason()
    if reason is None:
        return
    if REQUIRE_POSTGRES:
        pytest.fail(f"CLINIC_REQUIRE_POSTGRES=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of this test worker's own, migrated to head; dropped at the end."""
    require_postgres()
    admin_url = sa.make_url(pg_driver_url(PG_URL))
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"clinic_test_{worker}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    migrate_to_head(url, tmp_path_factory.mktemp("pg-instance"))
    yield url
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


# --- The app ------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "clinic.db"
        shutil.copyfile(template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_database")
    truncate_all(url)
    return url


@pytest.fixture
def app_config(database_url: str, tmp_path: Path) -> dict[str, Any]:
    """Override in a test module to change settings for its app."""
    return base_config(database_url, tmp_path)


@pytest.fixture
def app(app_config: dict[str, Any], tmp_path: Path) -> Iterator[Flask]:
    application = create_app(app_config)
    yield application
    with application.app_context():
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


@pytest.fixture
def clock(app: Flask) -> FixedClock:
    """The app's clock, fixed at ``NOW``; ``clock.advance(...)`` moves it."""
    fixed = FixedClock(NOW)
    set_clock(app, fixed)
    return fixed


@pytest.fixture
def fixed_clock_if_app(request: pytest.FixtureRequest) -> FixedClock | None:
    """The ``clock`` fixture for a test that uses the app, nothing for one that does not.

    The web, API and security folders make this autouse, so every request there runs at
    ``NOW`` while their pure tests (no app) are not given an app and a database for nothing.
    """
    if "app" not in request.fixturenames:
        return None
    clock: FixedClock = request.getfixturevalue("clock")
    return clock


@pytest.fixture
def session(app: Flask) -> Iterator[Any]:
    """The Flask-SQLAlchemy session inside an app context."""
    with app.app_context():
        yield db.session
        db.session.rollback()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    app.test_client_class = ClinicClient
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> Any:
    return app.test_cli_runner()


@pytest.fixture
def login(app: Flask, client: FlaskClient) -> Callable[..., User]:
    """``login("receptionist")`` creates a user with that role (once) and logs the client in,
    through enrolment or a one-time code where a second factor is due (admins always)."""

    def log_in(role: str = "receptionist", username: str | None = None) -> User:
        username = username or f"{role}-user"
        with app.app_context():
            user = db.session.scalar(sa.select(User).filter_by(username=username))
            if user is None:
                user = make_user(db.session, username, role)
            user_id = user.id
        response = client.log_in(username, TEST_PASSWORD)  # type: ignore[attr-defined]
        # 302 onwards, or 200 with the recovery codes shown once after a first enrolment.
        logged_in = response.status_code == 302 or b'id="recovery-codes"' in response.data
        assert logged_in, response.get_data(as_text=True)
        with app.app_context():
            return db.session.get(User, user_id)  # type: ignore[return-value]

    return log_in
