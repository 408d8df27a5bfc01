"""Small helpers shared by the security tests."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from clinic.extensions import db
from clinic.models import AuditEvent, LoginSession


def flask_session(app: Flask, client: FlaskClient) -> dict[str, Any]:
    """The decoded (signed, not encrypted) Flask session cookie the client holds."""
    cookie = client.get_cookie("session")
    if cookie is None:
        return {}
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    return dict(serializer.loads(cookie.value))


def login_sessions(app: Flask) -> list[LoginSession]:
    with app.app_context():
        rows = db.session.scalars(sa.select(LoginSession).order_by(LoginSession.created_at))
        result = list(rows)
        db.session.expunge_all()
        return result


def audit_actions(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))


def add_user(app: Flask, username: str, role: str, **fields: Any) -> int:
    """Create a user in a context of its own and return the id.

    (The ``session`` fixture keeps an app context pushed, which requests then share: its
    open transaction would hold SQLite's write lock across them.)
    """
    from tests.conftest import make_user

    with app.app_context():
        return make_user(db.session, username, role, **fields).id
