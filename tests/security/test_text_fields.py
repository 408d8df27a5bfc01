"""ASVS 5.1.4: control and text-direction characters are refused in text fields, on the
pages, the API and the CLI, with a clear message and nothing saved; ordinary Unicode names
are kept as typed."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from clinic.accounts.tokens import create_token
from clinic.audit import SYSTEM
from clinic.extensions import db
from clinic.models import Location, Patient, Role, User
from clinic.text import TEXT_MESSAGE, text_problem
from tests.builders import make_user

BAD = ["Zed\x07\x1b[2J", "\u202eavotsetnep", "Ann\u2066e", "Bo\x85b", "Cy\x00d", "Di\u2028x"]
GOOD_NAMES = ["Zoë Núñez-O'Brien", "محمد", "李小龙", "Şükrü Öztürk", "Zoe\u200dy"]
PATIENT = {
    "mrn": "MRN-3001",
    "given_name": "Ada",
    "family_name": "Lovelace",
    "date_of_birth": "1985-12-10",
    "email_opt_in": "y",
    "notes": "",
}
MESSAGE_START = "This text contains an invisible control or text-direction character"


@pytest.mark.parametrize("value", BAD)
def test_the_rule_refuses_control_and_direction_characters(value):
    assert text_problem(value) == TEXT_MESSAGE


@pytest.mark.parametrize("value", GOOD_NAMES)
def test_the_rule_keeps_ordinary_unicode_names(value):
    assert text_problem(value) is None


def test_notes_may_have_line_breaks_but_not_other_controls():
    assert text_problem("line one\r\nline two\tend", multiline=True) is None
    assert text_problem("line one\x1b[2J", multiline=True) == TEXT_MESSAGE


@pytest.mark.parametrize(
    "field,value", [("given_name", BAD[0]), ("family_name", BAD[1]), ("notes", "x\x1b[2J")]
)
def test_the_patient_form_refuses_them_and_saves_nothing(app, client, login, field, value):
    login("receptionist")
    response = client.post("/patients/new", data={**PATIENT, field: value})
    assert response.status_code == 422
    assert MESSAGE_START in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Patient)) == 0


@pytest.mark.parametrize("given,family", [("Zoë", "Núñez-O'Brien"), ("محمد", "عبد الله")])
def test_the_patient_form_keeps_unicode_names(app, client, login, given, family):
    login("receptionist")
    response = client.post(
        "/patients/new", data={**PATIENT, "given_name": given, "family_name": family}
    )
    assert response.status_code == 302
    with app.app_context():
        patient = db.session.scalar(sa.select(Patient))
        assert (patient.given_name, patient.family_name) == (given, family)


def test_a_setup_page_refuses_them(app, client, login):
    login("admin")
    response = client.post(
        "/admin/locations", data={"name": "North\u202e", "timezone": "America/Denver"}
    )
    assert response.status_code == 422
    assert MESSAGE_START in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Location)) == 0


def api_client(app):
    with app.app_context():
        make_user(db.session, "api-desk", Role.RECEPTIONIST)
        plain = create_token(
            db.session, username="api-desk", actor=SYSTEM, now=dt.datetime.now(dt.UTC)
        ).plain
    return app.test_client(), {"Authorization": f"Bearer {plain}"}


@pytest.mark.parametrize("field", ["given_name", "family_name", "escort_name", "notes"])
def test_the_api_refuses_them_with_a_problem_naming_the_field(app, field):
    client, headers = api_client(app)
    body = {
        "mrn": "API-3001",
        "given_name": "Ada",
        "family_name": "Lovelace",
        "date_of_birth": "1985-12-10",
        field: "Zed\x07\x1b[2J",
    }
    response = client.post("/api/v1/patients", json=body, headers=headers)
    assert response.status_code == 422
    problem = response.get_json()
    assert MESSAGE_START in str(problem)
    assert field in str(problem)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Patient)) == 0


def test_the_api_keeps_unicode_names(app):
    client, headers = api_client(app)
    body = {
        "mrn": "API-3002",
        "given_name": "محمد",
        "family_name": "Núñez-O'Brien",
        "date_of_birth": "1985-12-10",
    }
    response = client.post("/api/v1/patients", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()


def test_the_cli_refuses_them_in_a_username(app, runner):
    result = runner.invoke(
        args=["create-user", "rita\u202e", "--role", "nurse", "--password-stdin"],
        input="violet kettle harbour 42\n",
    )
    assert result.exit_code != 0
    assert MESSAGE_START in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0
