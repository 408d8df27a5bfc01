"""Fixtures for the API tests: users with tokens, a client that speaks to ``/api/v1``, the
demo clinic to read and book in, and a session happening "today" for the status changes.

Every test here that uses the app runs at ``NOW`` (the API reads the app clock): the demo
clinic is seeded around ``NOW``, tokens are made at ``NOW``, and the "today" session sits at
a location on UTC, where ``NOW`` is noon, with hours of slack either side of the local day.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from clinic.accounts.tokens import create_token
from clinic.audit import SYSTEM
from clinic.clock import FixedClock
from clinic.demo import DEMO_LOCATION, seed_demo
from clinic.extensions import db
from clinic.models import (
    Appointment,
    AuditEvent,
    Chair,
    Location,
    Patient,
    Staff,
    StaffRole,
    TreatmentType,
    User,
)
from tests.builders import NOW, make_user

PREFIX = "/api/v1"
# Distinct names and MRNs for the "today" sessions (the clock no longer moves between them).
_today_serial = itertools.count(1)


@pytest.fixture(autouse=True)
def fixed_clock(fixed_clock_if_app: FixedClock | None) -> FixedClock | None:
    return fixed_clock_if_app


class ApiClient:
    """Sends requests to the API with one user's bearer token (and never a CSRF token)."""

    def __init__(self, client: FlaskClient, headers: dict[str, str]) -> None:
        self.client = client
        self.headers = headers

    def _options(self, json: Any, options: dict[str, Any]) -> dict[str, Any]:
        if json is not None:
            options["json"] = json
        options["headers"] = {**self.headers, **options.get("headers", {})}
        return options

    def get(self, path: str, **options: Any) -> TestResponse:
        return self.client.get(PREFIX + path, **self._options(None, options))

    def post(self, path: str, json: Any = None, **options: Any) -> TestResponse:
        return self.client.post(PREFIX + path, csrf=False, **self._options(json, options))

    def patch(self, path: str, json: Any = None, **options: Any) -> TestResponse:
        return self.client.patch(PREFIX + path, **self._options(json, options))


def problem(response: TestResponse, status: int) -> dict[str, Any]:
    """Assert the response is a problem document with this status; return it."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = response.get_json(force=True)
    assert body["status"] == status
    assert body["detail"]
    return body


@pytest.fixture
def token_for(app: Flask) -> Callable[..., dict[str, str]]:
    """``token_for("nurse")``: a user of that role (made once) and a fresh token's header."""

    def make(role: str = "receptionist", username: str | None = None) -> dict[str, str]:
        username = username or f"api-{role}"
        with app.app_context():
            if db.session.scalar(sa.select(User.id).where(User.username == username)) is None:
                make_user(db.session, username, role)
            new = create_token(db.session, username=username, actor=SYSTEM, now=NOW)
            return {"Authorization": f"Bearer {new.plain}"}

    return make


@pytest.fixture
def api_as(
    client: FlaskClient, token_for: Callable[..., dict[str, str]]
) -> Callable[..., ApiClient]:
    """``api_as("nurse")``: an API client acting as a user of that role."""

    def make(role: str = "receptionist", username: str | None = None) -> ApiClient:
        return ApiClient(client, token_for(role, username))

    return make


@pytest.fixture
def demo(app: Flask) -> dict[str, Any]:
    """The demo clinic, seeded around ``NOW``."""
    with app.app_context():
        seed_demo(db.session, now=NOW)
        location = db.session.scalar(sa.select(Location).where(Location.name == DEMO_LOCATION))
        assert location is not None
        return {
            "location_id": location.id,
            "today": location.local_today(NOW),
        }


def audit_events(app: Flask, action: str) -> list[AuditEvent]:
    with app.app_context():
        rows = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        ).all()
        db.session.expunge_all()
        return list(rows)


@dataclass(frozen=True)
class TodaySession:
    appointment_id: int
    patient_id: int
    location_id: int
    starts_at: dt.datetime


@pytest.fixture
def today_session(app: Flask) -> Callable[..., TodaySession]:
    """``today_session(minutes=-10)``: a booked IV session starting that many minutes from
    ``NOW``, at a location on UTC, where it is noon. Built directly: booking rules are not
    under test."""

    def make(minutes: int = -10, needs_escort: bool = True) -> TodaySession:
        n = next(_today_serial)
        with app.app_context():
            session = db.session
            location = Location(name=f"Midday clinic {n}", timezone="UTC")
            chair = Chair(location=location, label="IV 1", capabilities=["iv"])
            nurse = Staff(name="Maria Kim", role=StaffRole.NURSE)
            treatment = TreatmentType(
                name=f"IV infusion {n}",
                route="iv",
                prep_minutes=15,
                treatment_minutes=45,
                monitoring_minutes=45,
                turnover_minutes=15,
                chair_capability="iv",
                needs_escort=needs_escort,
            )
            patient = Patient(
                mrn=f"T{n:05d}",
                given_name="Olivia",
                family_name="Garcia",
                date_of_birth=dt.date(1980, 1, 2),
                email="olivia@example.com",
            )
            starts_at = NOW + dt.timedelta(minutes=minutes)
            treatment_ends_at, ends_at, busy_until = treatment.windows(starts_at)
            appointment = Appointment(
                patient=patient,
                treatment_type=treatment,
                location=location,
                chair=chair,
                monitor=nurse,
                starts_at=starts_at,
                treatment_ends_at=treatment_ends_at,
                ends_at=ends_at,
                busy_until=busy_until,
            )
            session.add_all([location, chair, nurse, treatment, patient, appointment])
            session.commit()
            return TodaySession(
                appointment_id=appointment.id,
                patient_id=patient.id,
                location_id=location.id,
                starts_at=starts_at,
            )

    return make
