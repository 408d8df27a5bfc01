"""Fixtures for the FHIR tests: a client that sends a role's bearer token and validates
every answer with the ``fhir.resources`` model of its ``resourceType``, and the standard
clinic world (``tests.builders.build_world``) around the fixed ``NOW``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import sqlalchemy as sa
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.resource import Resource
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from clinic.accounts.tokens import create_token
from clinic.audit import SYSTEM
from clinic.clock import FixedClock
from clinic.extensions import db
from clinic.models import AuditEvent, User
from tests.builders import NOW, TODAY, build_world, make_user

BASE = "/fhir/R4"
MEDIA_TYPE = "application/fhir+json"


@dataclass
class Answer:
    """A response and its body, parsed and validated by the FHIR model library."""

    response: TestResponse
    resource: Resource

    @property
    def status(self) -> int:
        return self.response.status_code


def validated(response: TestResponse) -> Answer:
    """Every FHIR answer is JSON of the FHIR media type that its model class accepts."""
    assert response.mimetype == MEDIA_TYPE, (response.status_code, response.get_data(as_text=True))
    body = response.get_json(force=True)
    model = get_fhir_model_class(body["resourceType"])
    return Answer(response, model.model_validate(body))


def outcome(answer: Answer, status: int) -> OperationOutcome:
    assert answer.status == status, answer.response.get_data(as_text=True)
    assert isinstance(answer.resource, OperationOutcome)
    assert answer.resource.issue[0].severity == "error"
    assert answer.resource.issue[0].diagnostics
    return answer.resource


def bundle(answer: Answer) -> Bundle:
    assert answer.status == 200, answer.response.get_data(as_text=True)
    assert isinstance(answer.resource, Bundle)
    assert answer.resource.type == "searchset"
    return answer.resource


def entries(answer: Answer) -> list[Any]:
    return [entry.resource for entry in bundle(answer).entry or []]


class FhirClient:
    def __init__(self, client: FlaskClient, headers: dict[str, str]) -> None:
        self.client = client
        self.headers = headers

    def get(self, path: str, **options: Any) -> Answer:
        headers = {**self.headers, **options.pop("headers", {})}
        url = path if path.startswith("http") else BASE + path
        return validated(self.client.get(url, headers=headers, **options))

    def request(self, method: str, path: str) -> Answer:
        return validated(self.client.open(BASE + path, method=method, headers=self.headers))


@pytest.fixture
def fhir_as(app: Flask, client: FlaskClient, clock: FixedClock) -> Callable[..., FhirClient]:
    """``fhir_as("nurse")``: a FHIR client with a fresh token of a user of that role;
    ``fhir_as(None)`` sends no token. The app's clock stands at ``NOW``."""

    def make(role: str | None = "receptionist") -> FhirClient:
        if role is None:
            return FhirClient(client, {})
        username = f"fhir-{role}"
        with app.app_context():
            if db.session.scalar(sa.select(User.id).where(User.username == username)) is None:
                make_user(db.session, username, role)
            token = create_token(db.session, username=username, actor=SYSTEM, now=NOW)
        return FhirClient(client, {"Authorization": f"Bearer {token.plain}"})

    return make


@dataclass
class WorldIds:
    location_id: int
    iv_id: int
    nasal_id: int
    chair_ids: list[int]
    nasal_chair_id: int
    nurse_ids: list[int]
    prescriber_id: int
    patient_ids: list[int]
    mrns: list[str] = field(default_factory=list)


@pytest.fixture
def world(app: Flask) -> WorldIds:
    """``build_world`` around ``TODAY``: Harbour Clinic, 4 IV chairs and a nasal one, two
    nurses and a prescriber on shift 07:00–20:00 every day, four patients."""
    with app.app_context():
        built = build_world(db.session, today=TODAY)
        assert built.prescriber is not None and built.nasal_chair is not None
        return WorldIds(
            location_id=built.location.id,
            iv_id=built.iv.id,
            nasal_id=built.nasal.id,
            chair_ids=[c.id for c in built.chairs],
            nasal_chair_id=built.nasal_chair.id,
            nurse_ids=[n.id for n in built.nurses],
            prescriber_id=built.prescriber.id,
            patient_ids=[p.id for p in built.patients],
            mrns=[p.mrn for p in built.patients],
        )


def audit_rows(app: Flask, action: str) -> list[AuditEvent]:
    with app.app_context():
        rows = list(
            db.session.scalars(
                sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
            )
        )
        db.session.expunge_all()
        return rows
