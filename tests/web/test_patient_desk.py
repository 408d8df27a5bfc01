"""The front desk's patient gaps (issue 16): a second registration of the same person is
flagged, search finds any part of a name, MRN, phone or email whatever the accents, and the
form stops where the service would refuse."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from clinic.models import Patient
from clinic.patients import (
    EMAIL_MAX,
    ESCORT_NAME_MAX,
    MRN_MAX,
    NAME_MAX,
    PatientInput,
    PossibleDuplicate,
    create_patient,
    search_patients,
    update_patient,
)
from clinic.text import fold
from clinic.web.forms import PatientForm
from tests.builders import NOW, count_rows, make_patient
from tests.web.test_patients import DESK, GOOD


def found(session, query: str) -> list[str]:
    return [p.mrn for p in search_patients(session, query=query)]


@pytest.fixture
def desk_patients(session):
    make_patient(session, 1, given_name="José", family_name="Núñez", mrn="A-100")
    make_patient(session, 2, given_name="Marta", family_name="Lopez-Rivera", mrn="B-200")
    make_patient(
        session,
        3,
        given_name="Zoë",
        family_name="Ørsted",
        mrn="C-300",
        email="zoe.orsted@mail.test",
        phone="+12015550177",
    )
    session.commit()


@pytest.mark.parametrize(
    ("query", "mrns"),
    [
        ("rivera", ["B-200"]),  # the middle of a double name
        ("jose", ["A-100"]),
        ("nunez", ["A-100"]),
        ("NÚÑEZ", ["A-100"]),
        ("José Núñez", ["A-100"]),
        ("orsted zoe", ["C-300"]),
        ("300", ["C-300"]),  # any part of the MRN
        ("c-3", ["C-300"]),
        ("mail.test", ["C-300"]),  # the email
        ("555-0177", ["C-300"]),  # the phone as people write it
        ("0177", ["C-300"]),
        ("(201) 555 0177", ["C-300"]),
        ("rivera nunez", []),  # every word must match
        ("100%", []),  # LIKE wildcards are literal
        ("_", []),
    ],
)
def test_search_is_accent_and_case_insensitive_and_matches_any_part(
    session, desk_patients, query, mrns
):
    assert found(session, query) == mrns


def test_search_text_follows_an_edit(session, desk_patients):
    patient = session.scalar(sa.select(Patient).filter_by(mrn="B-200"))
    update_patient(
        session,
        patient_id=patient.id,
        data=PatientInput(
            mrn="B-200", given_name="Marta", family_name="Gómez", date_of_birth="1980-01-03"
        ),
        actor=DESK,
        now=NOW,
    )
    assert found(session, "rivera") == []
    assert found(session, "gomez") == ["B-200"]


def test_fold_drops_accents_and_case():
    assert fold("Núñez-O'Brien ÆSA Łukasz Straße") == "nunez-o'brien aesa lukasz strasse"


def test_registering_the_same_name_and_birth_date_warns_and_saves_nothing(session):
    make_patient(
        session,
        7,
        given_name="Ada",
        family_name="Lovelace",
        date_of_birth=__import__("datetime").date(1985, 12, 10),
        mrn="OLD-1",
    )
    session.commit()
    data = PatientInput(
        mrn="NEW-1", given_name="ada", family_name="LOVELACE", date_of_birth="1985-12-10"
    )
    with pytest.raises(PossibleDuplicate) as refused:
        create_patient(session, data=data, actor=DESK, now=NOW, duplicate_check=True)
    assert "OLD-1" in refused.value.message
    assert count_rows(session, Patient) == 1
    # The receptionist says it is someone else: registered.
    create_patient(session, data=data, actor=DESK, now=NOW, duplicate_check=False)
    assert count_rows(session, Patient) == 2


def test_the_form_warns_links_the_record_and_lets_the_receptionist_continue(app, client, login):
    login("receptionist")
    assert client.post("/patients/new", data=GOOD).status_code == 302
    again = client.post("/patients/new", data={**GOOD, "mrn": "MRN-2002", "given_name": "ADA"})
    page = again.get_data(as_text=True)
    assert again.status_code == 422
    assert "Already registered with this name and date of birth" in page
    assert "MRN-2001" in page and 'href="/patients/' in page
    assert 'name="confirm_new_person"' in page
    confirmed = client.post(
        "/patients/new", data={**GOOD, "mrn": "MRN-2002", "confirm_new_person": "y"}
    )
    assert confirmed.status_code == 302
    with app.app_context():
        from clinic.extensions import db

        assert count_rows(db.session, Patient) == 2


def test_form_length_limits_are_the_services_and_the_columns(app):
    columns = Patient.__table__.c
    assert columns.given_name.type.length == columns.family_name.type.length == NAME_MAX
    assert columns.mrn.type.length == MRN_MAX
    assert columns.escort_name.type.length == ESCORT_NAME_MAX
    assert columns.email.type.length == EMAIL_MAX
    with app.test_request_context():
        form = PatientForm(meta={"csrf": False})
        for name, limit in (
            ("given_name", NAME_MAX),
            ("family_name", NAME_MAX),
            ("mrn", MRN_MAX),
            ("escort_name", ESCORT_NAME_MAX),
            ("email", EMAIL_MAX),
        ):
            assert f'maxlength="{limit}"' in str(form[name]()), name


def test_a_name_one_over_the_limit_is_refused_by_the_form_with_the_limit(client, login):
    login("receptionist")
    page = client.get("/patients/new").get_data(as_text=True)
    given = re.search(r'<input[^>]*name="given_name"[^>]*>', page).group(0)
    assert f'maxlength="{NAME_MAX}"' in given
    response = client.post("/patients/new", data={**GOOD, "given_name": "a" * (NAME_MAX + 1)})
    assert response.status_code == 422
    assert str(NAME_MAX) in response.get_data(as_text=True)


@pytest.mark.postgres_only
def test_postgresql_serves_the_search_from_a_trigram_index(session):
    definition = session.scalar(
        sa.text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_patient_search_text'")
    )
    assert "gin" in definition and "gin_trgm_ops" in definition
