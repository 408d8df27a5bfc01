"""The scheduling services and the outbox together: book → reschedule → cancel, delivered by
the dispatcher to a real SMTP server, parsed by two calendar libraries."""

from __future__ import annotations

import datetime as dt

import icalendar
import pytest
import sqlalchemy as sa
import vobject

from clinic.clock import FixedClock
from clinic.models import NO_DRIVING_NOTICE, Notification, NotificationKind
from clinic.models import NotificationStatus as Status
from clinic.notify.outbox import ReminderSettings
from clinic.scheduling import (
    SchedulingError,
    book_series,
    book_session,
    cancel,
    plan_from_protocol,
    preview_series,
    reschedule,
)
from tests.builders import ACTOR, NOW, at, build_clinic
from tests.notify.conftest import smtp_dispatcher


@pytest.fixture
def clinic(session):
    return build_clinic(session)


def notifications(session, appointment_id=None):
    session.expire_all()
    query = sa.select(Notification).order_by(Notification.id)
    if appointment_id is not None:
        query = query.where(Notification.appointment_id == appointment_id)
    return session.scalars(query).all()


def calendars(message):
    return [
        part.get_content()
        for part in message.walk()
        if part.get_content_type() == "text/calendar" and part.get_content_disposition()
    ]


def test_book_reschedule_cancel_through_the_services(session, clinic, smtp_sink, tmp_path):
    patient = clinic.patients[0]
    patient.sms_opt_in = False
    session.commit()
    dispatcher = smtp_dispatcher(smtp_sink, tmp_path)
    clock = FixedClock(NOW)
    appointment = book_session(
        session,
        patient_id=patient.id,
        treatment_type_id=clinic.iv.id,
        location_id=clinic.location.id,
        starts_at=at("2026-03-04", "09:00"),
        actor=ACTOR,
        now=clock(),
    )
    appointment_id, uid = appointment.id, appointment.calendar_uid
    dispatcher.run(session, clock=clock)
    clock.advance(dt.timedelta(hours=1))
    reschedule(
        session,
        appointment_id=appointment_id,
        new_starts_at=at("2026-03-05", "10:00"),
        scope="one",
        actor=ACTOR,
        now=clock(),
    )
    dispatcher.run(session, clock=clock)
    clock.advance(dt.timedelta(hours=1))
    cancel(
        session,
        appointment_id=appointment_id,
        scope="one",
        reason="Patient unwell",
        actor=ACTOR,
        now=clock(),
    )
    dispatcher.run(session, clock=clock)

    seen = []
    for message in smtp_sink.collector.messages():
        (text,) = calendars(message)
        calendar = icalendar.Calendar.from_ical(text)
        event = calendar.walk("VEVENT")[0]
        parsed = vobject.readOne(text)
        assert parsed.vevent.uid.value == str(event["UID"]) == uid
        assert NO_DRIVING_NOTICE in parsed.vevent.description.value
        seen.append((str(calendar["METHOD"]), int(event["SEQUENCE"]), event.decoded("DTSTART")))
    methods = [method for method, _, _ in seen]
    sequences = [sequence for _, sequence, _ in seen]
    assert methods == ["REQUEST", "REQUEST", "CANCEL"]
    assert sequences == sorted(sequences) and len(set(sequences)) == 3
    assert seen[0][2].hour == 9 and seen[1][2].hour == 10  # local New York time
    # The reminders of the first booking were replaced, then withdrawn by the cancellation.
    reminders = [n for n in notifications(session) if n.kind == NotificationKind.REMINDER]
    assert reminders and {n.status for n in reminders} <= {Status.WITHDRAWN, Status.SKIPPED}


def test_a_booked_series_queues_one_invitation_per_session_and_reminders(session, clinic):
    patient = clinic.patients[1]
    plan = plan_from_protocol(
        session,
        protocol_id=clinic.iv_protocol.id,
        location_id=clinic.location.id,
        first_date=dt.date(2026, 3, 9),
    )
    preview = preview_series(session, patient_id=patient.id, plan=plan, now=NOW)
    series = book_series(
        session,
        patient_id=patient.id,
        plan=plan,
        actor=ACTOR,
        now=NOW,
        proposals=preview.slots,
        reminders=ReminderSettings(email_hours=(24,), sms_hours=()),
    )
    assert len(series.appointments) == 6
    for appointment in series.appointments:
        kinds = sorted(
            (n.kind.value, n.channel.value) for n in notifications(session, appointment.id)
        )
        assert kinds == [("invite", "email"), ("reminder", "email")]


def test_a_refused_booking_leaves_no_notification(session, clinic):
    with pytest.raises(SchedulingError):
        book_session(
            session,
            patient_id=clinic.patients[2].id,
            treatment_type_id=clinic.iv.id,
            location_id=clinic.location.id,
            starts_at=at("2026-03-08", "09:00"),  # a Sunday: the clinic is closed
            actor=ACTOR,
            now=NOW,
        )
    assert notifications(session) == []
