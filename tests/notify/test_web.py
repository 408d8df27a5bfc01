"""The calendar feed URL and the messages page."""

from __future__ import annotations

import datetime as dt

import icalendar
import pytest
import sqlalchemy as sa
import vobject

from clinic.extensions import db
from clinic.models import (
    NO_DRIVING_NOTICE,
    AppointmentStatus,
    AuditEvent,
    Notification,
    NotificationStatus,
    Patient,
)
from clinic.notify.outbox import ReminderSettings, enqueue_booking
from tests.builders import NOW, MinimalClinic
from tests.builders import make_contactable_patient as make_patient

# The feed and the messages page read the app clock: fix it at NOW.
pytestmark = pytest.mark.usefixtures("clock")


@pytest.fixture
def patient_with_sessions(app):
    """A patient with a feed token, two upcoming sessions, one cancelled and one past."""
    with app.app_context():
        session = db.session
        clinic = MinimalClinic(session)
        patient = make_patient(session, calendar_token="t" * 43)
        soon = NOW + dt.timedelta(days=2)
        upcoming = [clinic.appointment(patient, soon + dt.timedelta(days=d)) for d in (0, 3)]
        cancelled = clinic.appointment(
            patient, soon + dt.timedelta(days=1), status=AppointmentStatus.CANCELLED
        )
        past = clinic.appointment(patient, NOW - dt.timedelta(days=3))
        other = clinic.appointment(make_patient(session), soon)
        enqueue_booking(session, upcoming, now=NOW, settings=ReminderSettings())
        session.commit()
        return {
            "patient_id": patient.id,
            "token": patient.calendar_token,
            "upcoming": [a.calendar_uid for a in upcoming],
            "hidden": [cancelled.calendar_uid, past.calendar_uid, other.calendar_uid],
        }


def test_feed_lists_upcoming_sessions_without_login(client, patient_with_sessions):
    response = client.get(f"/calendar/{patient_with_sessions['token']}.ics")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    text = response.get_data(as_text=True)
    calendar = icalendar.Calendar.from_ical(text)
    assert str(calendar["METHOD"]) == "PUBLISH"
    uids = [str(event["UID"]) for event in calendar.walk("VEVENT")]
    assert uids == patient_with_sessions["upcoming"]
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["America/New_York"]
    parsed = vobject.readOne(text)
    assert [event.uid.value for event in parsed.vevent_list] == uids
    assert all(NO_DRIVING_NOTICE in event.description.value for event in parsed.vevent_list)
    assert response.headers["Cache-Control"] == "no-store"


def test_wrong_or_revoked_token_gets_a_plain_404(app, client, patient_with_sessions, login):
    unknown = client.get("/calendar/" + "x" * 43 + ".ics")
    nonsense = client.get("/calendar/a.ics")
    assert unknown.status_code == nonsense.status_code == 404
    assert unknown.get_data() == client.get("/no-such-page").get_data()
    login("receptionist")
    patient_id = patient_with_sessions["patient_id"]
    response = client.post(f"/patients/{patient_id}/calendar-feed/revoke", follow_redirects=True)
    assert "switched off" in response.get_data(as_text=True)
    revoked = client.get(f"/calendar/{patient_with_sessions['token']}.ics")
    assert revoked.status_code == 404
    # The same page as for a token that never existed (asked by the same, now logged-in, client).
    assert revoked.get_data() == client.get("/calendar/" + "x" * 43 + ".ics").get_data()
    with app.app_context():
        assert db.session.get(Patient, patient_id).calendar_token is None


def test_regenerating_the_token_retires_the_old_url(app, client, patient_with_sessions, login):
    login("receptionist")
    patient_id = patient_with_sessions["patient_id"]
    response = client.post(
        f"/patients/{patient_id}/calendar-feed/regenerate", data={"next": "/somewhere"}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/somewhere"
    with app.app_context():
        new_token = db.session.get(Patient, patient_id).calendar_token
        actions = db.session.scalars(
            sa.select(AuditEvent.action).where(AuditEvent.patient_id == patient_id)
        ).all()
    assert new_token and new_token != patient_with_sessions["token"]
    assert len(new_token) >= 40
    assert "calendar_feed.regenerate" in actions
    assert client.get(f"/calendar/{patient_with_sessions['token']}.ics").status_code == 404
    assert client.get(f"/calendar/{new_token}.ics").status_code == 200


def test_only_staff_who_edit_patients_may_change_the_token(client, patient_with_sessions, login):
    patient_id = patient_with_sessions["patient_id"]
    anonymous = client.post(f"/patients/{patient_id}/calendar-feed/regenerate")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    login("nurse")
    assert client.post(f"/patients/{patient_id}/calendar-feed/revoke").status_code == 403


def test_unknown_patient_token_change_is_a_clear_message(client, login):
    login("receptionist")
    response = client.post("/patients/999999/calendar-feed/regenerate", follow_redirects=True)
    assert response.status_code == 200
    assert "could not be found" in response.get_data(as_text=True)


# --- the messages page ---------------------------------------------------------------


def test_messages_page_lists_and_filters(app, client, login, patient_with_sessions):
    login("receptionist")
    page = client.get("/notifications/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    with app.app_context():
        total = db.session.scalar(sa.select(sa.func.count(Notification.id)))
    assert f"{total} matching messages" in html
    sms = client.get("/notifications/?channel=sms&kind=invite&status=pending")
    assert "2 matching messages" in sms.get_data(as_text=True)
    today = NOW.date().isoformat()
    dated = client.get(f"/notifications/?date_from={today}&date_to={today}&kind=invite")
    assert "4 matching messages" in dated.get_data(as_text=True)
    nothing = client.get("/notifications/?status=failed")
    assert "No messages match." in nothing.get_data(as_text=True)


def test_bad_filters_get_a_message_not_an_error(client, login):
    login("receptionist")
    response = client.get("/notifications/?status=bogus&date_from=yesterday")
    assert response.status_code == 400
    assert "Correct the filter fields" in response.get_data(as_text=True)


def test_messages_page_needs_the_permission(client, login):
    assert client.get("/notifications/").status_code == 302
    login("nurse")
    assert client.get("/notifications/").status_code == 403


def test_a_failed_message_can_be_retried(app, client, login, patient_with_sessions):
    with app.app_context():
        failed = db.session.scalars(
            sa.select(Notification).where(Notification.kind == "invite").limit(1)
        ).one()
        failed.status = NotificationStatus.FAILED
        failed.attempts = 6
        failed.last_error = "The mail server refused the message (554)."
        message_id, notification_id = failed.message_id, failed.id
        db.session.commit()
    login("receptionist")
    page = client.get("/notifications/?status=failed")
    assert "Retry" in page.get_data(as_text=True)
    response = client.post(
        f"/notifications/{notification_id}/retry",
        data={"return_to": "/notifications/?status=failed"},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/notifications/?status=failed"
    with app.app_context():
        row = db.session.get(Notification, notification_id)
        assert (row.status, row.attempts, row.message_id) == ("pending", 0, message_id)
        assert db.session.scalar(
            sa.select(AuditEvent.id).where(AuditEvent.action == "notification.retry")
        )
    again = client.post(f"/notifications/{notification_id}/retry", follow_redirects=True)
    assert "Only failed messages can be retried" in again.get_data(as_text=True)
    missing = client.post("/notifications/999999/retry", follow_redirects=True)
    assert "could not be found" in missing.get_data(as_text=True)
