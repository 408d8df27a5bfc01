"""Patients: search, register and edit with validation, and the patient page."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from clinic.audit import Actor
from clinic.extensions import db
from clinic.models import (
    AppointmentStatus,
    AuditEvent,
    Channel,
    Notification,
    NotificationKind,
    NotificationStatus,
    Patient,
    Series,
)
from clinic.patients import (
    PatientError,
    PatientInput,
    create_patient,
    load_patient_record,
    search_patients,
    update_patient,
)
from tests.builders import NOW, TODAY, add_session, build_world, count_rows, make_patient

TEN_AM = NOW + dt.timedelta(hours=3)  # Monday 10:00 in New York, the clinic's morning
DESK = Actor(user_id=None, username="desk")

GOOD = {
    "mrn": "MRN-2001",
    "given_name": "Ada",
    "family_name": "Lovelace",
    "date_of_birth": "1985-12-10",
    "email": "ada@example.com",
    "phone": "(201) 555-0123",
    "email_opt_in": "y",
    "sms_opt_in": "y",
    "escort_name": "Charles Babbage",
    "escort_phone": "+1 201 555 0188",
    "rems_enrolled_on": "",
    "notes": "",
}


def test_create_normalises_phone_and_email_and_audits(session):
    patient = create_patient(
        session,
        data=PatientInput(
            mrn=" MRN-1 ",
            given_name="  Ada ",
            family_name="Lovelace",
            date_of_birth="1985-12-10",
            email="Ada@Example.COM",
            phone="201-555-0123",
            sms_opt_in=True,
        ),
        actor=DESK,
        now=TEN_AM,
    )
    assert patient.mrn == "MRN-1" and patient.given_name == "Ada"
    assert patient.phone == "+12015550123"
    assert patient.email == "Ada@example.com"
    assert patient.sms_consent_at == TEN_AM
    event = session.scalar(sa.select(AuditEvent))
    assert (event.action, event.patient_id) == ("patient.create", patient.id)
    assert "Ada" not in event.summary and "Lovelace" not in event.summary


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("mrn", "", "Enter the medical record number"),
        ("mrn", "has space", "The MRN may use letters"),
        ("given_name", "   ", "Enter the first name"),
        ("date_of_birth", "", "Enter the date of birth"),
        ("date_of_birth", "10/12/1985", "YYYY-MM-DD"),
        ("date_of_birth", "2026-03-02", "must be in the past"),
        ("date_of_birth", "2030-01-01", "must be in the past"),
        ("date_of_birth", "1850-01-01", "after 1900"),
        ("email", "not-an-email", "This email address is not valid"),
        ("phone", "555-0123", "not a valid phone number"),
        ("phone", "+15551234567", "not a valid phone number"),
        ("phone", "call me", "country code"),
        ("escort_phone", "12", "phone"),
        ("rems_enrolled_on", "2031-01-01", "cannot be in the future"),
    ],
)
def test_each_bad_field_gets_its_own_message(session, field, value, message):
    values = {
        "mrn": "MRN-1",
        "given_name": "Ada",
        "family_name": "Lovelace",
        "date_of_birth": "1985-12-10",
    }
    values[field] = value
    with pytest.raises(PatientError) as raised:
        create_patient(session, data=PatientInput(**values), actor=DESK, now=TEN_AM)
    assert message in raised.value.fields[field]
    session.rollback()
    assert count_rows(session, Patient) == 0
    assert count_rows(session, AuditEvent) == 0


def test_all_problems_are_reported_together(session):
    with pytest.raises(PatientError) as raised:
        create_patient(
            session,
            data=PatientInput(
                mrn="", given_name="", family_name="", date_of_birth="x", email="@", phone="1"
            ),
            actor=DESK,
            now=TEN_AM,
        )
    assert set(raised.value.fields) == {
        "mrn",
        "given_name",
        "family_name",
        "date_of_birth",
        "email",
        "phone",
    }


def test_mrn_must_be_unique_ignoring_case(session):
    create_patient(
        session,
        data=PatientInput(
            mrn="ABC-1", given_name="A", family_name="B", date_of_birth=dt.date(1990, 1, 1)
        ),
        actor=DESK,
        now=TEN_AM,
    )
    with pytest.raises(PatientError) as raised:
        create_patient(
            session,
            data=PatientInput(
                mrn="abc-1", given_name="C", family_name="D", date_of_birth=dt.date(1991, 1, 1)
            ),
            actor=DESK,
            now=TEN_AM,
        )
    assert raised.value.fields == {"mrn": "Another patient already has this MRN."}


def test_update_records_changed_fields_and_consent(session):
    patient = make_patient(session, 1, sms_opt_in=True, sms_consent_at=TEN_AM)
    session.commit()
    update_patient(
        session,
        patient_id=patient.id,
        data=PatientInput(
            mrn="W-0001",
            given_name="Pat1",
            family_name="Tester1",
            date_of_birth=patient.date_of_birth,
            email="new@example.com",
            phone=patient.phone,
            sms_opt_in=False,
            escort_name=patient.escort_name,
            escort_phone=patient.escort_phone,
        ),
        actor=DESK,
        now=TEN_AM,
    )
    assert patient.email == "new@example.com"
    assert patient.sms_consent_at is None  # withdrawn with the opt-out
    summary = session.scalar(
        sa.select(AuditEvent.summary).where(AuditEvent.action == "patient.update")
    )
    assert "email" in summary and "sms_opt_in" in summary and "new@example.com" not in summary


def test_search_by_name_mrn_birth_date_and_phone(session):
    ada = make_patient(session, 1, given_name="Ada", family_name="Lovelace", mrn="MRN-77")
    make_patient(session, 2, given_name="Alan", family_name="Turing")
    grace = make_patient(
        session, 3, given_name="Grace", family_name="Hopper", date_of_birth=dt.date(1906, 12, 9)
    )
    make_patient(session, 4, given_name="Old", family_name="Lovelace", active=False)
    session.commit()

    def found(query: str) -> list[str]:
        return [p.given_name for p in search_patients(session, query=query, limit=20)]

    assert found("lovelace") == ["Ada"]  # inactive patients are not offered
    assert found("ada love") == ["Ada"]
    assert found("A") == ["Ada", "Alan"]
    assert found("mrn-77") == ["Ada"]
    assert found("1906-12-09") == ["Grace"] == found("12/09/1906")
    assert found(grace.phone[-7:]) == ["Grace"]
    assert found("201 555 0001") == ["Ada"]
    assert found("100%_") == []
    assert found("") == []
    assert ada.id


def test_patient_record_has_sessions_series_progress_and_messages(session):
    world = build_world(session)
    patient = world.patients[0]
    series = Series(patient=patient, treatment_type=world.iv, protocol=world.iv_protocol)
    session.add(series)
    days = [dt.date(2026, 2, 23), dt.date(2026, 2, 25), dt.date(2026, 3, 4), dt.date(2026, 3, 6)]
    statuses = [
        AppointmentStatus.DISCHARGED,
        AppointmentStatus.CANCELLED,
        AppointmentStatus.BOOKED,
        AppointmentStatus.BOOKED,
    ]
    appointments = [
        add_session(
            session,
            world,
            patient=patient,
            starts_at=world.at(day, "09:00"),
            series=series,
            status=status,
        )
        for day, status in zip(days, statuses, strict=True)
    ]
    session.add(
        Notification(
            appointment_id=appointments[2].id,
            kind=NotificationKind.INVITE,
            channel=Channel.EMAIL,
            due_at=TEN_AM,
            status=NotificationStatus.SENT,
            idempotency_key="k1",
        )
    )
    session.commit()
    record = load_patient_record(session, patient_id=patient.id, actor=DESK, now=TEN_AM)
    assert [a.id for a in record.upcoming] == [appointments[2].id, appointments[3].id]
    assert [a.id for a in record.past] == [appointments[1].id, appointments[0].id]
    (progress,) = record.series
    assert (progress.done, progress.planned, progress.label) == (1, 3, "1 of 3")
    assert record.position_in_series[appointments[3].id] == (3, 3)
    assert [n.idempotency_key for n in record.notifications] == ["k1"]
    view = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "patient.view"))
    assert view.patient_id == patient.id


# --- through the web ----------------------------------------------------------------------


def test_register_a_patient_through_the_form(app, client, login):
    login("receptionist")
    form = client.get("/patients/new").get_data(as_text=True)
    for label in ("MRN", "First name", "Last name", "Date of birth", "Mobile phone", "Escort"):
        assert label in form
    response = client.post("/patients/new", data=GOOD)
    assert response.status_code == 302
    with app.app_context():
        patient = db.session.scalar(sa.select(Patient))
        assert patient.phone == "+12015550123" and patient.escort_phone == "+12015550188"
        assert patient.sms_consent_at is not None
        assert patient.active  # the new-patient form has no "active" box; new means active
        assert response.headers["Location"] == f"/patients/{patient.id}"


def test_bad_form_shows_messages_by_the_fields_and_saves_nothing(app, client, login):
    login("receptionist")
    response = client.post(
        "/patients/new",
        data={**GOOD, "date_of_birth": "2999-01-01", "phone": "12345", "email": "x@"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "The date of birth must be in the past." in html
    assert "not a valid phone number" in html or "country code" in html
    assert "This email address is not valid" in html
    assert 'aria-invalid="true"' in html
    assert 'value="Lovelace"' in html  # what was typed is kept
    with app.app_context():
        assert count_rows(db.session, Patient) == 0
        assert not db.session.scalar(
            sa.select(AuditEvent.id).where(AuditEvent.action == "patient.create")
        )


def test_duplicate_mrn_through_the_form(app, client, login):
    login("receptionist")
    assert client.post("/patients/new", data=GOOD).status_code == 302
    again = client.post("/patients/new", data={**GOOD, "mrn": "mrn-2001"})
    assert again.status_code == 422
    assert "Another patient already has this MRN." in again.get_data(as_text=True)
    with app.app_context():
        assert count_rows(db.session, Patient) == 1


def test_overlong_input_is_refused_not_a_500(app, client, login):
    login("receptionist")
    response = client.post("/patients/new", data={**GOOD, "notes": "n" * 20000})
    assert response.status_code == 422
    with app.app_context():
        assert count_rows(db.session, Patient) == 0


def test_edit_and_search_pages(app, client, login):
    with app.app_context():
        patient = make_patient(db.session, 5, given_name="Ada", family_name="Lovelace")
        db.session.commit()
        patient_id = patient.id
    login("receptionist")
    found = client.get("/patients/?q=lovel").get_data(as_text=True)
    assert f"/patients/{patient_id}" in found
    empty = client.get("/patients/?q=zzz").get_data(as_text=True)
    assert "No patient matches" in empty and "/patients/new?q=zzz" in empty
    edit = client.get(f"/patients/{patient_id}/edit").get_data(as_text=True)
    assert 'value="W-0005"' in edit
    response = client.post(
        f"/patients/{patient_id}/edit",
        data={**GOOD, "mrn": "W-0005", "active": "y", "family_name": "King"},
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Patient, patient_id).family_name == "King"
    assert client.get("/patients/999999").status_code == 404
    assert client.get("/patients/999999/edit").status_code == 404


def test_patient_page_shows_the_record_and_audits_the_view(app, client, login):
    with app.app_context():
        world = build_world(db.session)
        patient = world.patients[0]
        patient.rems_enrolled_on = TODAY - dt.timedelta(days=3)
        patient.calendar_token = "tok-" + "x" * 30
        add_session(
            db.session, world, patient=patient, starts_at=world.at(TODAY + dt.timedelta(2), "09:00")
        )
        patient_id = patient.id
    user = login("nurse")
    response = client.get(f"/patients/{patient_id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    for text in ("Pat1 Tester1", "Escort 1", "Enrolled", "Upcoming sessions", "IV 1"):
        assert text in html
    assert "/calendar/tok-" in html
    assert "Create link" not in html  # nurses cannot change the calendar link
    with app.app_context():
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "patient.view"))
        assert (event.user_id, event.patient_id) == (user.id, patient_id)
