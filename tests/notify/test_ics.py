"""Calendar files: every one parsed by icalendar and by vobject; one UID, rising SEQUENCE."""

from __future__ import annotations

import datetime as dt

import icalendar
import vobject

from clinic.clock import FixedClock
from clinic.models import NO_DRIVING_NOTICE, AppointmentStatus
from clinic.notify.outbox import (
    ReminderSettings,
    enqueue_booking,
    enqueue_cancellation,
    enqueue_update,
)
from tests.builders import NOW, MinimalClinic, make_contactable_patient
from tests.notify.conftest import smtp_dispatcher

NO_REMINDERS = ReminderSettings(email_hours=(), sms_hours=())


def calendar_parts(message):
    parts = [part for part in message.walk() if part.get_content_type() == "text/calendar"]
    assert len(parts) == 2  # inline (for Outlook/Gmail buttons) and the .ics attachment
    assert parts[0].get_content() == parts[1].get_content()
    return parts


def check_with_both_parsers(text: str) -> tuple[icalendar.Calendar, object]:
    calendar = icalendar.Calendar.from_ical(text)
    parsed = vobject.readOne(text)
    event = calendar.walk("VEVENT")[0]
    # The independent parser agrees on what matters.
    assert parsed.method.value == str(calendar["METHOD"])
    assert parsed.vevent.uid.value == str(event["UID"])
    assert int(parsed.vevent.sequence.value) == int(event["SEQUENCE"])
    assert parsed.vevent.dtstart.value == event.decoded("DTSTART")
    assert parsed.vevent.dtend.value == event.decoded("DTEND")
    assert NO_DRIVING_NOTICE in parsed.vevent.description.value
    return calendar, parsed


def check_event(calendar: icalendar.Calendar, appointment_facts: dict) -> None:
    event = calendar.walk("VEVENT")[0]
    for prop in ("UID", "DTSTAMP", "DTSTART", "DTEND", "SEQUENCE", "ORGANIZER", "ATTENDEE",
                 "LOCATION", "SUMMARY", "DESCRIPTION"):  # fmt: skip
        assert prop in event, prop
    assert event["DTSTART"].params["TZID"] == "America/New_York"
    assert event["DTEND"].params["TZID"] == "America/New_York"
    timezones = calendar.walk("VTIMEZONE")
    assert [str(tz["TZID"]) for tz in timezones] == ["America/New_York"]
    assert event.decoded("DTSTART").astimezone(dt.UTC) == appointment_facts["starts_at"]
    assert event.decoded("DTEND").astimezone(dt.UTC) == appointment_facts["ends_at"]
    assert event.decoded("DTSTAMP").tzinfo is not None
    assert str(event["ORGANIZER"]) == "mailto:appointments@riverside.example"
    attendee = event["ATTENDEE"]
    assert str(attendee) == f"mailto:{appointment_facts['email']}"
    assert attendee.params["RSVP"] == "TRUE"
    assert "120 River Street" in str(event["LOCATION"])
    description = str(event["DESCRIPTION"])
    assert NO_DRIVING_NOTICE in description
    assert "Sam Garcia" in description  # the escort on file


def test_book_reschedule_cancel_keep_uid_and_raise_sequence(session, smtp_sink, tmp_path):
    clinic = MinimalClinic(session)
    patient = make_contactable_patient(session, sms_opt_in=False)
    appointment = clinic.appointment(patient, NOW + dt.timedelta(days=5))
    dispatcher = smtp_dispatcher(smtp_sink, tmp_path / "sms")
    clock = FixedClock(NOW)
    timeline = []

    def deliver() -> None:
        timeline.append(
            {"starts_at": appointment.starts_at, "ends_at": appointment.ends_at,
             "email": patient.email}
        )  # fmt: skip
        session.commit()
        dispatcher.run(session, clock=clock)

    enqueue_booking(session, [appointment], now=clock(), settings=NO_REMINDERS)
    deliver()
    clock.advance(dt.timedelta(hours=1))
    # A move across the daylight-saving change: the wall clock time must stay right.
    clinic.move(appointment, NOW + dt.timedelta(days=9, hours=2))
    enqueue_update(session, appointment, now=clock(), settings=NO_REMINDERS)
    deliver()
    clock.advance(dt.timedelta(hours=1))
    appointment.status = AppointmentStatus.CANCELLED
    appointment.calendar_sequence += 1
    enqueue_cancellation(session, appointment, now=clock())
    deliver()

    messages = smtp_sink.collector.messages()
    assert len(messages) == 3
    methods, uids, sequences = [], set(), []
    for message, facts in zip(messages, timeline, strict=True):
        for part in calendar_parts(message):
            text = part.get_content()
            calendar, parsed = check_with_both_parsers(text)
            check_event(calendar, facts)
            event = calendar.walk("VEVENT")[0]
            assert str(calendar["METHOD"]) == part.get_param("method")
            uids.add(str(event["UID"]))
        methods.append(str(calendar["METHOD"]))
        sequences.append(int(event["SEQUENCE"]))
        assert str(event["STATUS"]) == ("CANCELLED" if methods[-1] == "CANCEL" else "CONFIRMED")
    assert methods == ["REQUEST", "REQUEST", "CANCEL"]
    assert uids == {appointment.calendar_uid}
    assert sequences == [0, 1, 2]
    # 9 days on is after the DST change: 14:00 UTC was 09:00 EST, now 10:00 EDT.
    moved = icalendar.Calendar.from_ical(calendar_parts(messages[1])[0].get_content())
    assert moved.walk("VEVENT")[0].decoded("DTSTART").hour == 10


def test_a_retry_sends_the_same_calendar_bytes(session, tmp_path):
    """DTSTAMP is the row's creation time, so a resent invitation is identical."""
    from clinic.notify.context import message_context
    from clinic.notify.ics import invitation_ics

    clinic = MinimalClinic(session)
    appointment = clinic.appointment(make_contactable_patient(session), NOW + dt.timedelta(days=5))
    (invite, *_) = enqueue_booking(session, [appointment], now=NOW, settings=NO_REMINDERS)
    session.commit()
    first = invitation_ics(message_context(invite, clinic_name="C"), sender="a@b.example")
    second = invitation_ics(message_context(invite, clinic_name="C"), sender="a@b.example")
    assert first == second
