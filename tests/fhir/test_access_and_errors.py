"""Who may read, and how failures are answered: always an OperationOutcome with the right
status, never a 500, for bad parameters, unknown addresses and ids, and missing tokens."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from clinic.extensions import db
from clinic.fhir.capability import SEARCH_PARAMETERS
from clinic.models import User
from tests.fhir.conftest import BASE, bundle, outcome, validated


def test_the_capability_statement_is_public_and_lists_what_is_served(fhir_as):
    answer = fhir_as(None).get("/metadata")
    assert answer.status == 200
    statement = answer.resource
    assert isinstance(statement, CapabilityStatement)
    assert statement.fhirVersion == "4.0.1"
    served = {r.type: r for r in statement.rest[0].resource}
    assert set(served) == {"Patient", "Appointment", "Schedule", "Slot"}
    assert {p.name for p in served["Slot"].searchParam} == set(SEARCH_PARAMETERS["Slot"][1])
    assert [i.code for i in served["Slot"].interaction] == ["search-type"]


@pytest.mark.parametrize(
    "path", ["/Patient", "/Patient/1", "/Appointment", "/Appointment/1", "/Schedule", "/Slot"]
)
def test_reading_without_a_token_is_a_401_with_a_challenge(fhir_as, world, path):
    answer = fhir_as(None).get(path)
    outcome(answer, 401)
    assert answer.response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_browser_session_does_not_authenticate(app, client, login, world):
    login("receptionist")
    outcome(validated(client.get(f"{BASE}/Patient")), 401)


def test_an_unknown_or_deactivated_users_token_is_refused(app, fhir_as, world):
    outcome(fhir_as(None).get("/Patient", headers={"Authorization": "Bearer clinic_nope"}), 401)
    api = fhir_as("nurse")
    assert bundle(api.get("/Patient")).total == 4
    with app.app_context():
        db.session.execute(
            sa.update(User).where(User.username == "fhir-nurse").values(active=False)
        )
        db.session.commit()
    outcome(api.get("/Patient"), 401)


@pytest.mark.parametrize("role", ["admin", "receptionist", "nurse"])
def test_every_role_that_may_view_patients_and_the_schedule_reads_them(fhir_as, world, role):
    api = fhir_as(role)
    for path in ("/Patient", "/Appointment", "/Schedule"):
        assert api.get(path).status == 200


@pytest.mark.parametrize(
    "path",
    [
        "/Patient/0",
        "/Patient/99999",
        "/Patient/99999999999999999999",
        "/Patient/abc",
        "/Appointment/2147483648",
        "/Appointment/-1",
        "/Schedule/chair-0",
        "/Observation",
        "/Patient/1/_history",
    ],
)
def test_unknown_ids_and_addresses_are_404_outcomes(fhir_as, world, path):
    outcome(fhir_as().get(path), 404)


@pytest.mark.parametrize(
    "query",
    [
        "/Patient?birthdate=1980-02-30",
        "/Patient?birthdate=yesterday",
        "/Patient?birthdate=sa1980",
        "/Patient?birthdate=1980-01-01T10:00:00Z",
        "/Patient?_id=99999999999",
        "/Patient?active=maybe",
        "/Patient?nmae=smith",
        "/Patient?name:exact=Smith",
        "/Patient?_count=lots",
        "/Patient?_offset=999999",
        "/Patient?_count=1&_count=2",
        "/Appointment?date=2026-13-01",
        "/Appointment?date=2026-03-03T10:00",
        "/Appointment?date=ge99999-01-01",
        "/Appointment?patient=Practitioner/1",
        "/Appointment?patient=2147483648",
        "/Appointment?location=x",
        "/Slot?start=ne2026-03-03&status=busy",
        "/Patient?name=a%00b",
    ],
)
def test_bad_search_parameters_are_400_outcomes(fhir_as, world, query):
    outcome(fhir_as().get(query), 400)


def test_the_server_is_read_only(fhir_as, world):
    answer = fhir_as().request("POST", "/Patient")
    outcome(answer, 405)
    assert answer.response.headers["Allow"] == "GET, HEAD, OPTIONS"
    outcome(fhir_as().request("DELETE", "/Patient/1"), 405)


def test_count_zero_answers_only_the_total(fhir_as, world):
    found = bundle(fhir_as().get("/Patient?_count=0"))
    assert found.total == 4 and not found.entry


def test_only_json_is_served(fhir_as, world):
    outcome(fhir_as().get("/Patient?_format=xml"), 406)
    assert fhir_as().get("/Patient?_format=json").status == 200


def test_a_slot_window_that_ends_before_now_is_empty_not_an_error(fhir_as, world):
    iv = str(world.iv_id)
    assert bundle(fhir_as().get(f"/Slot?service-type={iv}&start=le2020-01-01")).total == 0
