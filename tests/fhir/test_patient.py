"""Patient: read and search by MRN, name and birth date, paged, audited like page views."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from fhir.resources.R4B.patient import Patient as FhirPatient

from clinic.extensions import db
from clinic.fhir.mapping import MRN_SYSTEM
from tests.builders import make_patient
from tests.fhir.conftest import audit_rows, bundle, entries, outcome


def test_a_patient_is_read_with_identity_and_contact_only(app, fhir_as, world):
    patient_id = world.patient_ids[0]
    answer = fhir_as("nurse").get(f"/Patient/{patient_id}")
    assert answer.status == 200
    patient = answer.resource
    assert isinstance(patient, FhirPatient)
    assert patient.id == str(patient_id)
    assert patient.identifier[0].system == MRN_SYSTEM
    assert patient.identifier[0].value == world.mrns[0]
    assert patient.name[0].family == "Tester1" and patient.name[0].given == ["Pat1"]
    assert patient.birthDate == dt.date(1980, 1, 2)
    body = answer.response.get_data(as_text=True)
    # The escort on file and the notes are not part of the FHIR record.
    assert "Escort" not in body and "notes" not in body


def test_reading_a_patient_is_audited_like_opening_the_record(app, fhir_as, world):
    patient_id = world.patient_ids[1]
    fhir_as("receptionist").get(f"/Patient/{patient_id}")
    rows = audit_rows(app, "patient.view")
    assert [(r.patient_id, r.entity_id, r.username) for r in rows] == [
        (patient_id, str(patient_id), "fhir-receptionist")
    ]
    assert "Pat2" not in rows[0].summary and "W-0002" not in rows[0].summary
    assert rows[0].at is not None and rows[0].source_address == "127.0.0.1"


def test_search_by_identifier_finds_the_mrn_with_or_without_its_system(fhir_as, world):
    api = fhir_as("receptionist")
    for value in (world.mrns[2], f"{MRN_SYSTEM}|{world.mrns[2].lower()}"):
        found = entries(api.get("/Patient", query_string={"identifier": value}))
        assert [p.id for p in found] == [str(world.patient_ids[2])]
    assert entries(api.get("/Patient", query_string={"identifier": "W-9999"})) == []


def test_an_identifier_of_another_system_is_refused(fhir_as, world):
    answer = fhir_as().get("/Patient", query_string={"identifier": "urn:other|W-0001"})
    assert "system" in outcome(answer, 400).issue[0].diagnostics


def test_search_by_name_matches_the_start_of_any_name_part(app, fhir_as, world):
    with app.app_context():
        make_patient(db.session, 77, given_name="Olivia", family_name="Garcia")
        make_patient(db.session, 78, given_name="Oliver", family_name="Twist")
        make_patient(db.session, 79, given_name="Ana", family_name="Olivares")
        db.session.commit()
    api = fhir_as()
    names = {p.name[0].family for p in entries(api.get("/Patient?name=oliv"))}
    assert names == {"Garcia", "Twist", "Olivares"}
    both = entries(api.get("/Patient", query_string={"name": "olivia garcia"}))
    assert [p.name[0].family for p in both] == ["Garcia"]
    either = entries(api.get("/Patient?name=twist,olivares"))
    assert {p.name[0].family for p in either} == {"Twist", "Olivares"}


def test_search_by_birthdate_takes_prefixes_and_ranges(app, fhir_as, world):
    with app.app_context():
        make_patient(db.session, 90, date_of_birth=dt.date(1950, 6, 15))
        make_patient(db.session, 91, date_of_birth=dt.date(1999, 12, 31))
        db.session.commit()
    api = fhir_as()
    exact = entries(api.get("/Patient?birthdate=1950-06-15"))
    assert [p.birthDate for p in exact] == [dt.date(1950, 6, 15)]
    older = entries(api.get("/Patient?birthdate=lt1960"))
    assert [p.birthDate for p in older] == [dt.date(1950, 6, 15)]
    window = entries(api.get("/Patient?birthdate=ge1980-01&birthdate=le1980-01-03"))
    assert sorted(p.birthDate for p in window) == [dt.date(1980, 1, 2), dt.date(1980, 1, 3)]
    assert [p.birthDate for p in entries(api.get("/Patient?birthdate=gt1999-12"))] == []


def test_patient_search_pages_with_count_next_links_and_total(app, fhir_as, world):
    with app.app_context():
        for n in range(10, 17):
            make_patient(db.session, n)
        db.session.commit()
    api = fhir_as()
    first = bundle(api.get("/Patient?_count=5&active=true"))
    assert first.total == 11 and len(first.entry) == 5
    links = {link.relation: link.url for link in first.link}
    assert "previous" not in links
    seen = [e.resource.id for e in first.entry]
    url = links["next"]
    while url:
        assert urlsplit(url).path == "/fhir/R4/Patient"
        assert "active=true" in url
        page = bundle(api.get(url))
        assert page.total == 11
        seen += [e.resource.id for e in page.entry]
        url = next((link.url for link in page.link if link.relation == "next"), None)
    assert len(seen) == 11 and len(set(seen)) == 11


def test_every_patient_a_search_returns_is_audited(app, fhir_as, world):
    fhir_as().get("/Patient?_count=3")
    rows = audit_rows(app, "patient.view")
    assert len(rows) == 3
    assert {r.patient_id for r in rows} <= set(world.patient_ids)
    assert all("search" in r.summary for r in rows)
