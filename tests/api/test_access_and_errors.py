"""Who may call the API, and how it says no: bearer tokens only, roles as in the UI, and
``application/problem+json`` for every failure (never an HTML page, never a 500)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from clinic.accounts.tokens import revoke_token
from clinic.api import URL_PREFIX
from clinic.audit import SYSTEM
from clinic.extensions import db
from clinic.models import ApiToken, User
from tests.api.conftest import ApiClient, problem
from tests.builders import NOW

PATIENT = {
    "mrn": "API-0001",
    "given_name": "Ada",
    "family_name": "Lovelace",
    "date_of_birth": "1985-12-10",
}


def test_a_request_without_a_token_is_refused(client: FlaskClient) -> None:
    response = client.get("/api/v1/patients?q=ada")
    body = problem(response, 401)
    assert "Authorization: Bearer" in body["detail"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header",
    ["Basic YWRtaW46YWRtaW4=", "Bearer", "Bearer nonsense", "Token clinic_abc", "bearer  "],
)
def test_malformed_or_unknown_credentials_are_refused(client: FlaskClient, header: str) -> None:
    problem(client.get("/api/v1/locations", headers={"Authorization": header}), 401)


def test_a_revoked_token_is_refused(app: Flask, client: FlaskClient, token_for: Any) -> None:
    headers = token_for("admin")
    assert client.get("/api/v1/locations", headers=headers).status_code == 200
    with app.app_context():
        token_id = db.session.scalar(sa.select(ApiToken.id))
        revoke_token(db.session, token_id=token_id, actor=SYSTEM, now=NOW)
    body = problem(client.get("/api/v1/locations", headers=headers), 401)
    assert "revoked" in body["detail"]


def test_a_browser_session_cookie_does_not_authenticate_the_api(
    client: FlaskClient, login: Callable[..., User]
) -> None:
    login("admin")
    assert client.get("/").status_code == 200  # logged in to the web UI
    problem(client.get("/api/v1/locations"), 401)
    problem(client.post("/api/v1/patients", json=PATIENT), 401)


def test_token_requests_need_no_csrf_token(api_as: Callable[..., ApiClient]) -> None:
    # The test app has CSRF protection on, as in production; the API is exempt.
    response = api_as("receptionist").post("/patients", json=PATIENT)
    assert response.status_code == 201, response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("role", "method", "path", "body"),
    [
        ("nurse", "post", "/patients", PATIENT),
        ("nurse", "patch", "/patients/1", {"notes": "x"}),
        ("nurse", "post", "/series/preview", {}),
        ("nurse", "post", "/appointments/1/cancel", {"reason": "ill"}),
        (
            "nurse",
            "get",
            "/availability?treatment_type_id=1&location_id=1&start_date=2030-01-01",
            None,
        ),
        ("receptionist", "post", "/appointments/1/discharge", {"escort_confirmed": True}),
        ("receptionist", "post", "/appointments/1/start-treatment", None),
    ],
)
def test_roles_govern_access_as_in_the_ui(
    api_as: Callable[..., ApiClient], role: str, method: str, path: str, body: Any
) -> None:
    api = api_as(role)
    response = getattr(api, method)(path, json=body)
    assert "does not allow" in problem(response, 403)["detail"]


def test_every_api_view_declares_its_permission(app: Flask) -> None:
    """The route walk for the API: each view is marked the way ``require`` marks UI views,
    and only the self-description is public."""
    public = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(URL_PREFIX):
            continue
        view = app.view_functions[rule.endpoint]
        assert hasattr(view, "required_permission"), rule.rule
        if view.required_permission is None:
            public.add(rule.endpoint)
    assert public == {"api.openapi_json", "api.reference"}


def test_public_pages_need_no_token(client: FlaskClient) -> None:
    assert client.get("/api/v1/openapi.json").status_code == 200
    assert client.get("/api/v1/docs").status_code == 200


# --- errors -------------------------------------------------------------------------------


def test_unknown_addresses_and_methods_get_problems(api_as: Callable[..., ApiClient]) -> None:
    api = api_as("admin")
    problem(api.get("/no-such-thing"), 404)
    problem(api.get("/patients/999999"), 404)
    problem(api.get("/patients/99999999999"), 404)  # beyond any id the database can hold
    problem(api.get("/patients/0"), 404)
    response = api.client.delete("/api/v1/patients/1", headers=api.headers)
    problem(response, 405)
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "PATCH"}
    problem(api.client.put("/api/v1/locations", headers=api.headers), 405)


def test_malformed_json_is_a_400(api_as: Callable[..., ApiClient]) -> None:
    api = api_as("admin")
    response = api.post("/patients", data='{"mrn": ', headers={"Content-Type": "application/json"})
    assert "not valid JSON" in problem(response, 400)["detail"]


def test_a_body_that_is_not_json_is_a_415(api_as: Callable[..., ApiClient]) -> None:
    api = api_as("admin")
    response = api.client.post(
        "/api/v1/patients", data={"mrn": "x"}, headers=api.headers, csrf=False
    )
    assert "application/json" in problem(response, 415)["detail"]


def test_invalid_fields_are_a_422_naming_each_field(api_as: Callable[..., ApiClient]) -> None:
    api = api_as("admin")
    body = problem(
        api.post("/patients", json={**PATIENT, "date_of_birth": "yesterday", "colour": "red"}), 422
    )
    fields = {error["field"] for error in body["errors"]}
    assert fields == {"body.date_of_birth", "body.colour"}
    assert "date_of_birth" in body["detail"]


def test_nul_characters_are_refused_not_stored(api_as: Callable[..., ApiClient]) -> None:
    body = problem(api_as("admin").post("/patients", json={**PATIENT, "notes": "a\x00b"}), 422)
    assert body["errors"][0]["field"] == "body.notes"


def test_unknown_query_parameters_are_refused(api_as: Callable[..., ApiClient]) -> None:
    api = api_as("admin")
    body = problem(api.get("/chairs?locationid=1"), 422)
    assert "'locationid'" in body["detail"] and "location_id" in body["detail"]
    problem(api.get("/locations/1?verbose=1"), 422)
    problem(api.get("/chairs?location_id=abc"), 422)
    problem(api.get("/chairs?location_id=1&location_id=2"), 422)


def test_a_huge_body_is_refused(api_as: Callable[..., ApiClient]) -> None:
    problem(api_as("admin").post("/patients", json={**PATIENT, "notes": "x" * 300_000}), 413)
