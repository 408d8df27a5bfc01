"""Input the database cannot store, or that is far too big, is refused before any view."""

from __future__ import annotations

import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import Patient


def patient_count(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Patient)) or 0


def test_a_nul_character_in_a_form_is_refused_with_a_message(app, client, login):
    login("receptionist")
    response = client.post(
        "/patients/new",
        data={
            "mrn": "NUL-1",
            "given_name": "Ada\x00",
            "family_name": "Lovelace",
            "date_of_birth": "1980-01-02",
        },
    )
    assert response.status_code == 400
    assert "control character (NUL)" in response.get_data(as_text=True)
    assert patient_count(app) == 0


def test_a_nul_character_in_a_query_string_is_refused(client, login):
    login("receptionist")
    response = client.get("/patients/?q=Ada%00")
    assert response.status_code == 400
    assert "control character (NUL)" in response.get_data(as_text=True)


def test_the_api_refuses_a_nul_character_itself(client):
    """The API validates its own input (pydantic), answering a problem document, not a 500."""
    response = client.get("/api/v1/patients?q=Ada%00")
    assert response.status_code in (400, 401, 422)
    assert response.mimetype == "application/problem+json"


def test_an_oversized_request_body_is_refused_unread(app, client, login):
    login("receptionist")
    response = client.post("/patients/new", data={"notes": "x" * (2 * 1024 * 1024)})
    assert response.status_code == 413
    assert "shorten it" in response.get_data(as_text=True)
    assert patient_count(app) == 0
