"""Patients over the API: the same validation, audit trail and roles as the web forms."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from tests.api.conftest import ApiClient, audit_events, problem

ADA = {
    "mrn": "API-0001",
    "given_name": "Ada",
    "family_name": "Lovelace",
    "date_of_birth": "1985-12-10",
    "email": "ada@example.com",
    "phone": "(201) 555-0123",
}


@pytest.fixture
def desk(api_as: Callable[..., ApiClient]) -> ApiClient:
    return api_as("receptionist")


def register(api: ApiClient, **fields: Any) -> dict[str, Any]:
    response = api.post("/patients", json={**ADA, **fields})
    assert response.status_code == 201, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    return body


def test_registering_a_patient_normalises_and_audits(app: Flask, desk: ApiClient) -> None:
    response = desk.post("/patients", json=ADA, environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert response.status_code == 201
    patient = response.get_json()
    assert response.headers["Location"] == f"/api/v1/patients/{patient['id']}"
    assert patient["phone"] == "+12015550123"
    assert patient["email_opt_in"] is True and patient["sms_opt_in"] is False
    assert "calendar_token" not in patient

    [event] = audit_events(app, "patient.create")
    assert event.entity_id == str(patient["id"]) and event.patient_id == patient["id"]
    assert event.username == "api-receptionist"
    assert event.source_address == "203.0.113.7"
    assert "Ada" not in event.summary and "Lovelace" not in event.summary


def test_the_services_field_errors_come_back_as_422(desk: ApiClient) -> None:
    body = problem(
        desk.post(
            "/patients",
            json={**ADA, "phone": "12", "email": "not-an-email", "date_of_birth": "2999-01-01"},
        ),
        422,
    )
    fields = {error["field"]: error["message"] for error in body["errors"]}
    assert set(fields) == {"body.phone", "body.email", "body.date_of_birth"}
    assert "past" in fields["body.date_of_birth"]


def test_a_taken_mrn_is_refused_and_nothing_is_saved(desk: ApiClient) -> None:
    register(desk)
    body = problem(desk.post("/patients", json={**ADA, "given_name": "Augusta"}), 422)
    assert body["errors"] == [
        {"field": "body.mrn", "message": "Another patient already has this MRN."}
    ]
    assert [p["given_name"] for p in desk.get("/patients?q=API-0001").get_json()["items"]] == [
        "Ada"
    ]


def test_search_by_name_mrn_and_date_of_birth(desk: ApiClient) -> None:
    ada = register(desk)
    register(
        desk, mrn="API-0002", given_name="Grace", family_name="Hopper", date_of_birth="1906-12-09"
    )

    def found(query: str) -> list[int]:
        response = desk.get("/patients", query_string={"q": query})
        assert response.status_code == 200
        return [item["id"] for item in response.get_json()["items"]]

    assert found("lovelace") == [ada["id"]]
    assert found("ada love") == [ada["id"]]
    assert found("API-0001") == [ada["id"]]
    assert found("1985-12-10") == [ada["id"]]
    assert found("12/10/1985") == [ada["id"]]
    assert found("nobody") == []
    assert len(found("API")) == 2
    problem(desk.get("/patients"), 422)  # q is required
    problem(desk.get("/patients?q=ada&limit=0"), 422)


def test_reading_a_record_is_audited(app: Flask, api_as: Callable[..., ApiClient]) -> None:
    ada = register(api_as("receptionist"))
    nurse = api_as("nurse")

    response = nurse.get(f"/patients/{ada['id']}")
    assert response.status_code == 200
    assert response.get_json() == ada
    [event] = audit_events(app, "patient.view")
    assert event.username == "api-nurse" and event.patient_id == ada["id"]


def test_an_update_changes_only_the_fields_sent(app: Flask, desk: ApiClient) -> None:
    ada = register(desk)

    response = desk.patch(f"/patients/{ada['id']}", json={"sms_opt_in": True, "escort_name": "Bo"})
    assert response.status_code == 200
    updated = response.get_json()
    assert updated["sms_opt_in"] is True and updated["sms_consent_at"] is not None
    assert updated["escort_name"] == "Bo"
    changed = {"sms_opt_in", "sms_consent_at", "escort_name", "updated_at"}
    assert {k: v for k, v in updated.items() if k not in changed} == {
        k: v for k, v in ada.items() if k not in changed
    }
    [event] = audit_events(app, "patient.update")
    assert "sms_opt_in" in event.summary and "escort_name" in event.summary

    cleared = desk.patch(f"/patients/{ada['id']}", json={"email": None}).get_json()
    assert cleared["email"] is None


def test_an_update_is_validated_like_a_new_record(desk: ApiClient) -> None:
    ada = register(desk)
    register(desk, mrn="API-0002")
    problem(desk.patch(f"/patients/{ada['id']}", json={"mrn": None}), 422)
    problem(desk.patch(f"/patients/{ada['id']}", json={"mrn": "API-0002"}), 422)
    body = problem(desk.patch(f"/patients/{ada['id']}", json={"phone": "123"}), 422)
    assert body["errors"][0]["field"] == "body.phone"
    assert desk.get(f"/patients/{ada['id']}").get_json()["phone"] == "+12015550123"


def test_unknown_patients_are_404(desk: ApiClient) -> None:
    assert "no patient with id 4242" in problem(desk.get("/patients/4242"), 404)["detail"]
    problem(desk.patch("/patients/4242", json={"notes": "x"}), 404)


def test_nurses_read_patients_but_do_not_edit_them(api_as: Callable[..., ApiClient]) -> None:
    ada = register(api_as("receptionist"))
    nurse = api_as("nurse")
    assert nurse.get(f"/patients?q={ada['mrn']}").status_code == 200
    problem(nurse.patch(f"/patients/{ada['id']}", json={"notes": "x"}), 403)
    problem(nurse.post("/patients", json={**ADA, "mrn": "API-0009"}), 403)
