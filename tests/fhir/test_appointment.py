"""Appointment: read and search by patient, date range, status and location; the status
mapping; audited reads."""

from __future__ import annotations

import datetime as dt

import pytest
from fhir.resources.R4B.appointment import Appointment as FhirAppointment

from clinic.extensions import db
from clinic.fhir.mapping import APPOINTMENT_STATUS, LOCATION_SYSTEM, STAFF_SYSTEM
from clinic.models import AppointmentStatus, Chair, Location, Patient, Staff, TreatmentType
from tests.builders import TODAY, World, add_session, at, make_chair, make_location
from tests.fhir.conftest import audit_rows, bundle, entries, outcome

TOMORROW = TODAY + dt.timedelta(days=1)


def load_world(ids) -> World:
    """The built world's rows again, in the current app context."""
    session = db.session
    return World(
        location=session.get(Location, ids.location_id),
        iv=session.get(TreatmentType, ids.iv_id),
        nasal=session.get(TreatmentType, ids.nasal_id),
        iv_protocol=None,  # type: ignore[arg-type]
        chairs=[session.get(Chair, i) for i in ids.chair_ids],
        nurses=[session.get(Staff, i) for i in ids.nurse_ids],
        patients=[session.get(Patient, i) for i in ids.patient_ids],
    )


def add(app, ids, *, patient: int = 0, day=TOMORROW, hhmm="09:00", chair: int = 0, **fields):
    with app.app_context():
        built = load_world(ids)
        appointment = add_session(
            db.session,
            built,
            patient=built.patients[patient],
            starts_at=built.at(day, hhmm),
            chair=built.chairs[chair],
            **fields,
        )
        return appointment.id


def test_an_appointment_reads_with_patient_monitor_chair_and_location(app, fhir_as, world):
    appointment_id = add(app, world, hhmm="10:00")
    answer = fhir_as("nurse").get(f"/Appointment/{appointment_id}")
    appointment = answer.resource
    assert isinstance(appointment, FhirAppointment)
    assert appointment.status == "booked"
    assert appointment.start == at(TOMORROW, "10:00")
    assert appointment.serviceType[0].coding[0].code == str(world.iv_id)
    actors = [p.actor for p in appointment.participant]
    assert actors[0].reference == f"Patient/{world.patient_ids[0]}"
    assert actors[1].identifier.system == STAFF_SYSTEM
    assert actors[1].identifier.value == str(world.nurse_ids[0])
    assert actors[3].identifier.system == LOCATION_SYSTEM
    assert actors[3].identifier.value == str(world.location_id)
    # The escort and the patient's name stay out of the appointment.
    assert "Escort" not in answer.response.get_data(as_text=True)


def test_reading_an_appointment_is_audited_with_ids_only(app, fhir_as, world):
    appointment_id = add(app, world, patient=1)
    fhir_as().get(f"/Appointment/{appointment_id}")
    rows = audit_rows(app, "appointment.view")
    assert [(r.entity_id, r.patient_id) for r in rows] == [
        (str(appointment_id), world.patient_ids[1])
    ]
    assert "Pat" not in rows[0].summary


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (AppointmentStatus.BOOKED, "booked"),
        (AppointmentStatus.CHECKED_IN, "arrived"),
        (AppointmentStatus.IN_TREATMENT, "arrived"),
        (AppointmentStatus.MONITORING, "arrived"),
        (AppointmentStatus.DISCHARGED, "fulfilled"),
        (AppointmentStatus.CANCELLED, "cancelled"),
        (AppointmentStatus.NO_SHOW, "noshow"),
    ],
)
def test_each_status_is_answered_and_found_by_its_fhir_code(app, fhir_as, world, status, code):
    assert APPOINTMENT_STATUS[status] == code
    appointment_id = add(app, world, status=status)
    add(app, world, hhmm="13:00", chair=1)  # booked: found only by "booked"
    api = fhir_as()
    assert api.get(f"/Appointment/{appointment_id}").resource.status == code
    found = entries(api.get("/Appointment", query_string={"status": code}))
    assert str(appointment_id) in [a.id for a in found]
    assert {a.status for a in found} == {code}


def test_a_status_code_the_clinic_never_uses_finds_nothing_and_a_wrong_one_is_refused(
    app, fhir_as, world
):
    add(app, world)
    api = fhir_as()
    assert entries(api.get("/Appointment?status=proposed")) == []
    outcome(api.get("/Appointment?status=done"), 400)


def test_search_by_patient_and_date_range(app, fhir_as, world):
    first = add(app, world, patient=0, day=TODAY, hhmm="09:00")
    second = add(app, world, patient=0, day=TOMORROW, hhmm="09:00")
    later = add(app, world, patient=0, day=TODAY + dt.timedelta(days=5), hhmm="09:00")
    other = add(app, world, patient=1, day=TOMORROW, hhmm="11:00", chair=1)
    api = fhir_as()
    patient = f"Patient/{world.patient_ids[0]}"
    everything = entries(api.get("/Appointment", query_string={"patient": patient}))
    assert [a.id for a in everything] == [str(first), str(second), str(later)]
    window = entries(
        api.get(
            "/Appointment",
            query_string=[
                ("patient", str(world.patient_ids[0])),
                ("date", f"ge{TOMORROW.isoformat()}"),
                ("date", f"le{(TODAY + dt.timedelta(days=4)).isoformat()}"),
            ],
        )
    )
    assert [a.id for a in window] == [str(second)]
    # A local date is the location's day: 09:00 in New York is 14:00 UTC the same day.
    one_day = entries(api.get("/Appointment", query_string={"date": TODAY.isoformat()}))
    assert [a.id for a in one_day] == [str(first)]
    instant = at(TOMORROW, "10:00").strftime("%Y-%m-%dT%H:%M:%SZ")
    after = entries(api.get("/Appointment", query_string={"date": f"gt{instant}"}))
    assert [a.id for a in after] == [str(other), str(later)]


def test_search_by_location(app, fhir_as, world):
    appointment_id = add(app, world)
    with app.app_context():
        elsewhere = make_location(db.session, name="Elsewhere")
        make_chair(db.session, elsewhere, "E 1")
        db.session.commit()
        elsewhere_id = elsewhere.id
    api = fhir_as()
    here = entries(api.get(f"/Appointment?location=Location/{world.location_id}"))
    assert [a.id for a in here] == [str(appointment_id)]
    by_token = entries(api.get(f"/Appointment?location={LOCATION_SYSTEM}|{world.location_id}"))
    assert [a.id for a in by_token] == [str(appointment_id)]
    assert entries(api.get(f"/Appointment?location={elsewhere_id}")) == []


def test_appointment_search_pages_and_audits_each_appointment_shown(app, fhir_as, world):
    for n in range(7):  # two-hour sessions that overlap in no chair and for no patient
        add(app, world, patient=n % 4, hhmm=f"{7 + 2 * (n // 4):02d}:00", chair=n % 4)
    first = bundle(fhir_as().get("/Appointment?_count=4"))
    assert first.total == 7 and len(first.entry) == 4
    assert any(link.relation == "next" for link in first.link)
    starts = [e.resource.start for e in first.entry]
    assert starts == sorted(starts)
    assert len(audit_rows(app, "appointment.view")) == 4
