"""Database constraints hold whatever the application does."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from clinic.extensions import db
from clinic.models import (
    Appointment,
    AppointmentStatus,
    Certification,
    Patient,
    TreatmentType,
)
from tests.builders import (
    NOW,
    make_chair,
    make_location,
    make_patient,
    make_staff,
    make_treatment,
    make_user,
)

START = NOW + dt.timedelta(days=1)


def make_world(session):
    location = make_location(session, name="Test clinic")
    chairs = [make_chair(session, location, f"IV {n}") for n in (1, 2)]
    nurse = make_staff(session, "Nurse Kim", certifications=(), email="kim@example.test")
    iv = make_treatment(session)
    patients = [make_patient(session, n, mrn=f"M{n}") for n in (1, 2)]
    session.commit()
    return location, chairs, nurse, iv, patients


def appointment(location, chair, nurse, iv, patient, starts_at, **fields):
    treatment_ends_at, ends_at, busy_until = iv.windows(starts_at)
    return Appointment(
        location=location,
        chair=chair,
        monitor=nurse,
        treatment_type=iv,
        patient=patient,
        starts_at=starts_at,
        treatment_ends_at=treatment_ends_at,
        ends_at=ends_at,
        busy_until=busy_until,
        **fields,
    )


def test_mrn_is_unique(session):
    make_world(session)
    session.add(
        Patient(mrn="M1", given_name="Other", family_name="X", date_of_birth=dt.date(1990, 1, 1))
    )
    with pytest.raises(IntegrityError):
        session.commit()


def test_username_is_unique(session):
    make_user(session, "rita", "receptionist")
    with pytest.raises(IntegrityError):
        make_user(session, "rita", "nurse")


def test_certification_cannot_expire_before_it_starts(session):
    _, _, nurse, _, _ = make_world(session)
    session.add(
        Certification(
            staff=nurse, kind="ACLS", valid_from=dt.date(2026, 5, 1), expires_on=dt.date(2026, 4, 1)
        )
    )
    with pytest.raises(IntegrityError):
        session.commit()


def test_negative_durations_are_refused(session):
    session.add(
        TreatmentType(
            name="Bad", route="iv", treatment_minutes=45, prep_minutes=-5, chair_capability="iv"
        )
    )
    with pytest.raises(IntegrityError):
        session.commit()


def test_appointment_windows_must_be_ordered(session):
    location, chairs, nurse, iv, patients = make_world(session)
    bad = appointment(location, chairs[0], nurse, iv, patients[0], START)
    bad.busy_until = START - dt.timedelta(minutes=1)
    session.add(bad)
    with pytest.raises(IntegrityError):
        session.commit()


def test_naive_datetimes_are_refused(session):
    location, chairs, nurse, iv, patients = make_world(session)
    session.add(
        appointment(location, chairs[0], nurse, iv, patients[0], START.replace(tzinfo=None))
    )
    with pytest.raises(sa.exc.StatementError, match="naive datetime"):
        session.commit()


def test_times_come_back_timezone_aware_utc(session):
    location, chairs, nurse, iv, patients = make_world(session)
    session.add(appointment(location, chairs[0], nurse, iv, patients[0], START))
    session.commit()
    session.expire_all()
    stored = session.scalar(sa.select(Appointment))
    assert stored.starts_at == START
    assert stored.starts_at.utcoffset() == dt.timedelta(0)


def test_a_location_with_chairs_cannot_be_deleted(session):
    location, *_ = make_world(session)
    session.delete(location)
    with pytest.raises(IntegrityError):
        session.commit()


def is_postgresql(session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


@pytest.mark.parametrize("same", ["chair", "patient"])
@pytest.mark.postgres_only
def test_postgresql_refuses_overlapping_live_appointments(session, same):
    assert is_postgresql(session)
    location, chairs, nurse, iv, patients = make_world(session)
    session.add(appointment(location, chairs[0], nurse, iv, patients[0], START))
    session.commit()
    # Starts during the first one's turnover: overlaps its busy window only.
    overlapping_start = START + dt.timedelta(minutes=iv.patient_minutes + 5)
    chair, patient = (chairs[0], patients[1]) if same == "chair" else (chairs[1], patients[0])
    session.add(appointment(location, chair, nurse, iv, patient, overlapping_start))
    with pytest.raises(IntegrityError, match="ex_appointment_"):
        session.commit()


@pytest.mark.postgres_only
def test_postgresql_allows_overlap_with_a_cancelled_appointment(session):
    assert is_postgresql(session)
    location, chairs, nurse, iv, patients = make_world(session)
    session.add(
        appointment(
            location, chairs[0], nurse, iv, patients[0], START, status=AppointmentStatus.CANCELLED
        )
    )
    session.add(appointment(location, chairs[0], nurse, iv, patients[1], START))
    session.commit()
    assert session.scalar(sa.select(sa.func.count(Appointment.id))) == 2


@pytest.mark.postgres_only
def test_postgresql_audit_rows_cannot_be_changed(session):
    assert is_postgresql(session)
    from clinic.audit import SYSTEM, record_event

    record_event(session, SYSTEM, action="test", entity_type="none")
    session.commit()
    with pytest.raises(sa.exc.DatabaseError, match="cannot be changed"):
        session.execute(sa.text("UPDATE audit_event SET action = 'x'"))
    session.rollback()
    with pytest.raises(sa.exc.DatabaseError, match="cannot be changed"):
        session.execute(sa.text("DELETE FROM audit_event"))
    session.rollback()
    assert db.session.scalar(sa.text("SELECT count(*) FROM audit_event")) == 1
