"""The Needs rebooking worklist: marks on the board and the session page, the gates that
refuse a flagged session, the prescriber's override, the one-click fix and entries that
resolve themselves."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from clinic.audit import SYSTEM
from clinic.extensions import db
from clinic.models import (
    Appointment,
    AppointmentStatus,
    AuditEvent,
    Chair,
    Notification,
    RebookingEntry,
)
from clinic.patients.service import patient_input_from, update_patient
from clinic.scheduling import booking
from clinic.setup import add_closure, remove_closure, save_chair
from tests.builders import NOW, TEST_PASSWORD, make_user

from .conftest import TUESDAY, Clinic, worklist

TUESDAY_MORNING = dt.datetime(2026, 3, 3, 13, 30, tzinfo=dt.UTC)  # 08:30 in New York


def withdraw_rems(app, clinic: Clinic) -> None:
    import dataclasses

    with app.app_context():
        from clinic.models import Patient

        patient = db.session.get(Patient, clinic.esketamine_patient_id)
        data = dataclasses.replace(patient_input_from(patient), rems_enrolled_on=None)
        update_patient(
            db.session, patient_id=patient.id, data=data, actor=SYSTEM, now=NOW, region="US"
        )


def log_in_as(client, app, username: str, role: str, staff_id: int | None = None) -> None:
    with app.app_context():
        make_user(db.session, username, role, staff_id=staff_id)
    response = client.post("/login", data={"username": username, "password": TEST_PASSWORD})
    assert response.status_code == 302


def status_of(app, appointment_id: int) -> AppointmentStatus:
    with app.app_context():
        return db.session.get(Appointment, appointment_id).status


def test_a_flagged_session_is_marked_and_cannot_be_checked_in_until_a_prescriber_overrides(
    app, client, login, clinic, clock
):
    withdraw_rems(app, clinic)
    assert set(worklist(app)) == {clinic.esketamine_id}
    clock.set(TUESDAY_MORNING)
    login("receptionist")
    board = client.get(f"/board/?location={clinic.location_id}&date={TUESDAY.isoformat()}")
    assert board.status_code == 200
    assert board.get_data(as_text=True).count('data-needs-rebooking="1"') >= 1
    page = client.get(f"/sessions/{clinic.esketamine_id}").get_data(as_text=True)
    assert "needs the patient&#39;s REMS enrollment" in page

    refused = client.post(f"/sessions/{clinic.esketamine_id}/check-in", data={})
    assert refused.status_code == 422
    assert "needs rebooking before it can go ahead" in refused.get_data(as_text=True)
    assert status_of(app, clinic.esketamine_id) is AppointmentStatus.BOOKED
    # The IV session breaks nothing: it checks in.
    assert client.post(f"/sessions/{clinic.iv_session_id}/check-in", data={}).status_code == 302

    # A nurse is not a prescriber: refused. The prescriber's written reason lets it go ahead.
    client.post("/logout")
    log_in_as(client, app, "nurse-kim", "nurse", staff_id=clinic.nurse_id)
    url = f"/rebooking/{clinic.esketamine_id}/override"
    client.post(url, data={"reason": "Enrollment confirmed by phone"})
    assert worklist(app)[clinic.esketamine_id]
    with app.app_context():
        assert db.session.scalar(sa.select(RebookingEntry.override_reason)) is None
    client.post("/logout")
    log_in_as(client, app, "dr-alvarez", "nurse", staff_id=clinic.prescriber_id)
    assert client.post(url, data={"reason": ""}).status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(RebookingEntry.override_reason)) is None
    assert client.post(url, data={"reason": "Enrollment confirmed by phone"}).status_code == 302
    with app.app_context():
        event = db.session.scalar(
            sa.select(AuditEvent).where(AuditEvent.action == "rebooking.override")
        )
        assert event is not None and event.username == "dr-alvarez"
    checked_in = client.post(f"/sessions/{clinic.esketamine_id}/check-in", data={})
    assert checked_in.status_code == 302
    assert status_of(app, clinic.esketamine_id) is AppointmentStatus.CHECKED_IN


def test_starting_treatment_is_refused_while_the_session_needs_rebooking(app, clinic, clock):
    from clinic.scheduling import status

    clock.set(TUESDAY_MORNING)
    with app.app_context():
        status.check_in(
            db.session, appointment_id=clinic.esketamine_id, actor=SYSTEM, now=TUESDAY_MORNING
        )
    withdraw_rems(app, clinic)
    with app.app_context():
        import pytest

        from clinic.scheduling.rebooking import SessionNeedsRebooking

        later = TUESDAY_MORNING + dt.timedelta(minutes=25)
        with pytest.raises(SessionNeedsRebooking):
            status.start_treatment(
                db.session, appointment_id=clinic.esketamine_id, actor=SYSTEM, now=later
            )
        db.session.rollback()
    assert status_of(app, clinic.esketamine_id) is AppointmentStatus.CHECKED_IN


def test_the_one_click_fix_moves_the_session_to_a_free_chair_and_tells_the_patient(
    app, client, login, clinic
):
    with app.app_context():
        chair = db.session.get(Chair, clinic.nasal_chair_id)
        save_chair(
            db.session,
            chair_id=chair.id,
            location_id=chair.location_id,
            label=chair.label,
            capabilities=list(chair.capabilities),
            active=False,
            actor=SYSTEM,
            now=NOW,
            proceed=True,
        )
        messages_before = db.session.scalar(
            sa.select(sa.func.count(Notification.id)).where(
                Notification.appointment_id == clinic.esketamine_id
            )
        )
    assert set(worklist(app)) == {clinic.esketamine_id}
    login("receptionist")
    listing = client.get("/rebooking/")
    assert listing.status_code == 200
    assert "Chair Nasal 1 is out of service." in listing.get_data(as_text=True)
    fixed = client.post(f"/rebooking/{clinic.esketamine_id}/reassign", data={})
    assert fixed.status_code == 302, fixed.get_data(as_text=True)
    with app.app_context():
        appointment = db.session.get(Appointment, clinic.esketamine_id)
        assert appointment.chair_id != clinic.nasal_chair_id
        assert appointment.starts_at.astimezone(dt.UTC) == dt.datetime(
            2026, 3, 3, 14, tzinfo=dt.UTC
        )
        messages_after = db.session.scalar(
            sa.select(sa.func.count(Notification.id)).where(
                Notification.appointment_id == clinic.esketamine_id
            )
        )
        assert messages_after > messages_before
        assert db.session.scalar(sa.select(RebookingEntry.resolution)) == "fixed"
    assert worklist(app) == {}


def test_the_one_click_fix_says_why_when_nothing_is_free_at_that_time(app, client, login, clinic):
    with app.app_context():
        add_closure(
            db.session,
            location_id=clinic.location_id,
            date=TUESDAY,
            reason="Flood",
            actor=SYSTEM,
            now=NOW,
            proceed=True,
        )
    login("receptionist")
    response = client.post(
        f"/rebooking/{clinic.iv_session_id}/reassign", data={}, follow_redirects=True
    )
    assert "The clinic is closed on 3 March (Flood)." in response.get_data(as_text=True)
    assert set(worklist(app)) == {clinic.esketamine_id, clinic.iv_session_id}


def test_entries_resolve_when_the_change_is_undone_or_the_session_cancelled(
    app, client, login, clinic
):
    with app.app_context():
        closure = add_closure(
            db.session,
            location_id=clinic.location_id,
            date=TUESDAY,
            reason="Flood",
            actor=SYSTEM,
            now=NOW,
            proceed=True,
        )
        closure_id = closure.id
    assert set(worklist(app)) == {clinic.esketamine_id, clinic.iv_session_id}
    with app.app_context():
        remove_closure(db.session, closure_id=closure_id, actor=SYSTEM, now=NOW)
    assert worklist(app) == {}

    withdraw_rems(app, clinic)
    with app.app_context():
        booking.cancel(
            db.session,
            appointment_id=clinic.esketamine_id,
            scope="one",
            reason="Patient unwell",
            actor=SYSTEM,
            now=NOW,
        )
    login("receptionist")
    assert "Nothing needs rebooking." in client.get("/rebooking/").get_data(as_text=True)
    with app.app_context():
        resolutions = set(db.session.scalars(sa.select(RebookingEntry.resolution)))
    assert resolutions == {"fixed", "cancelled"}


def test_the_worklist_is_for_receptionists_and_admins(app, client, login, clinic):
    login("nurse")
    assert client.get("/rebooking/").status_code == 403
    client.post("/logout")
    login("admin")
    assert client.get("/rebooking/").status_code == 200


def test_the_api_lists_the_worklist_and_takes_a_prescribers_override(app, api_as, clinic, clock):
    withdraw_rems(app, clinic)
    with app.app_context():
        make_user(db.session, "api-nurse-kim", "nurse", staff_id=clinic.nurse_id)
        make_user(db.session, "api-dr-alvarez", "nurse", staff_id=clinic.prescriber_id)
    items = api_as("receptionist").get("/rebooking").get_json()["items"]
    assert [item["appointment_id"] for item in items] == [clinic.esketamine_id]
    assert "REMS enrollment" in items[0]["reasons"][0] and not items[0]["overridden"]
    path = f"/rebooking/{clinic.esketamine_id}/override"
    body = {"reason": "Enrollment confirmed by phone"}
    refused = api_as("nurse", "api-nurse-kim").post(path, json=body)
    assert refused.status_code == 422
    clock.set(TUESDAY_MORNING)
    check_in = f"/appointments/{clinic.esketamine_id}/check-in"
    assert api_as("receptionist").post(check_in, json={}).status_code == 422
    assert api_as("nurse", "api-dr-alvarez").post(path, json=body).status_code == 200
    assert api_as("receptionist").post(check_in, json={}).status_code == 200


def test_moving_the_session_to_a_new_time_takes_it_off_the_worklist(app, clinic):
    with app.app_context():
        add_closure(
            db.session,
            location_id=clinic.location_id,
            date=TUESDAY,
            reason="Flood",
            actor=SYSTEM,
            now=NOW,
            proceed=True,
        )
        booking.reschedule(
            db.session,
            appointment_id=clinic.iv_session_id,
            new_starts_at=dt.datetime(2026, 3, 4, 18, tzinfo=dt.UTC),  # Wed 13:00 in New York
            scope="one",
            actor=SYSTEM,
            now=NOW,
        )
    assert set(worklist(app)) == {clinic.esketamine_id}
