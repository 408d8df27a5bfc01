"""Small builders for the notification tests: a clinic with one location, chair and nurse,
patients, and appointments created directly (the booking rules are tested elsewhere)."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from sqlalchemy.orm import Session

from clinic.models import (
    Appointment,
    Chair,
    Location,
    Patient,
    Staff,
    StaffRole,
    TreatmentType,
)

_counter = itertools.count(1)


def make_location(session: Session, **fields: Any) -> Location:
    n = next(_counter)
    location = Location(
        name=fields.pop("name", f"Riverside {n}"),
        address=fields.pop("address", "120 River Street, Hoboken, NJ 07030"),
        email=fields.pop("email", "appointments@riverside.example"),
        phone=fields.pop("phone", "+12015550100"),
        timezone=fields.pop("timezone", "America/New_York"),
        **fields,
    )
    session.add(location)
    return location


def make_treatment_type(session: Session, **fields: Any) -> TreatmentType:
    n = next(_counter)
    treatment_type = TreatmentType(
        name=fields.pop("name", f"IV ketamine infusion {n}"),
        route=fields.pop("route", "iv"),
        prep_minutes=fields.pop("prep_minutes", 15),
        treatment_minutes=fields.pop("treatment_minutes", 45),
        monitoring_minutes=fields.pop("monitoring_minutes", 45),
        turnover_minutes=fields.pop("turnover_minutes", 15),
        chair_capability=fields.pop("chair_capability", "iv"),
        patient_notice=fields.pop("patient_notice", "Eat nothing for 4 hours before."),
        **fields,
    )
    session.add(treatment_type)
    return treatment_type


def make_patient(session: Session, **fields: Any) -> Patient:
    n = next(_counter)
    patient = Patient(
        mrn=fields.pop("mrn", f"MRN-{n:05d}"),
        given_name=fields.pop("given_name", "Olivia"),
        family_name=fields.pop("family_name", f"Garcia{n}"),
        date_of_birth=fields.pop("date_of_birth", dt.date(1980, 1, 2)),
        email=fields.pop("email", f"olivia{n}@example.com"),
        phone=fields.pop("phone", "+12015550123"),
        sms_opt_in=fields.pop("sms_opt_in", True),
        sms_consent_at=fields.pop("sms_consent_at", dt.datetime(2026, 1, 5, tzinfo=dt.UTC)),
        **fields,
    )
    session.add(patient)
    return patient


class Clinic:
    """One location, chair, nurse and treatment type: enough to hang appointments on."""

    def __init__(self, session: Session, **location_fields: Any) -> None:
        self.session = session
        self.location = make_location(session, **location_fields)
        self.chair = Chair(location=self.location, label="IV 1", capabilities=["iv"])
        self.nurse = Staff(name="Maria Kim", role=StaffRole.NURSE, email=None)
        self.treatment_type = make_treatment_type(session)
        session.add_all([self.chair, self.nurse])
        session.flush()

    def new_chair(self) -> Chair:
        """A chair of its own per session, so sessions never collide on a chair."""
        chair = Chair(location=self.location, label=f"IV {next(_counter)}", capabilities=["iv"])
        self.session.add(chair)
        return chair

    def appointment(self, patient: Patient, starts_at: dt.datetime, **fields: Any) -> Appointment:
        treatment_ends_at, ends_at, busy_until = self.treatment_type.windows(starts_at)
        appointment = Appointment(
            patient=patient,
            treatment_type=self.treatment_type,
            location=self.location,
            chair=fields.pop("chair", None) or self.new_chair(),
            monitor=self.nurse,
            starts_at=starts_at,
            treatment_ends_at=treatment_ends_at,
            ends_at=ends_at,
            busy_until=busy_until,
            escort_name=fields.pop("escort_name", "Sam Garcia"),
            escort_phone=fields.pop("escort_phone", "+12015550124"),
            **fields,
        )
        self.session.add(appointment)
        self.session.flush()
        return appointment

    def move(self, appointment: Appointment, new_starts_at: dt.datetime) -> None:
        """Reschedule by hand, as the scheduling service does: new windows, SEQUENCE + 1."""
        treatment_ends_at, ends_at, busy_until = self.treatment_type.windows(new_starts_at)
        appointment.starts_at = new_starts_at
        appointment.treatment_ends_at = treatment_ends_at
        appointment.ends_at = ends_at
        appointment.busy_until = busy_until
        appointment.calendar_sequence += 1


def due_emails(session: Session, count: int, *, now: dt.datetime) -> list[int]:
    """``count`` email invitations, all due at ``now``: one per session, one chair, sessions
    three hours apart so none overlap. Returns the notification ids."""
    from clinic.notify.outbox import ReminderSettings, enqueue_booking

    clinic = Clinic(session)
    patients = [make_patient(session, sms_opt_in=False) for _ in range(10)]
    appointments = [
        clinic.appointment(
            patients[n % len(patients)],
            now + dt.timedelta(days=1, hours=3 * n),
            chair=clinic.chair,
        )
        for n in range(count)
    ]
    added = enqueue_booking(
        session, appointments, now=now, settings=ReminderSettings(email_hours=(), sms_hours=())
    )
    session.commit()
    return [notification.id for notification in added]
