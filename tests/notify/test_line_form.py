"""Every message in RFC 5545 line form (CRLF, folded at 75 octets) whatever the characters,
and one VTIMEZONE per TZID: the same in every message and the feed, right for any date."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
from zoneinfo import ZoneInfo

import icalendar
import pytest
import vobject

from clinic.clock import FixedClock
from clinic.models import AppointmentStatus
from clinic.notify.context import session_facts
from clinic.notify.ics import feed_ics
from clinic.notify.outbox import (
    ReminderSettings,
    enqueue_booking,
    enqueue_cancellation,
    enqueue_update,
)
from clinic.notify.timezones import vtimezone_text
from tests.builders import NOW, MinimalClinic, make_contactable_patient
from tests.notify.conftest import smtp_dispatcher

NO_REMINDERS = ReminderSettings(email_hours=(), sms_hours=())
NAME = ('Zoë "Zee"', "Núñez-Ødegård")  # non-ASCII, quotes, and long enough to fold
VTIMEZONE = re.compile(rb"BEGIN:VTIMEZONE\r\n.*?END:VTIMEZONE\r\n", re.S)


def assert_line_form(payload: bytes, *, calendar: bool) -> None:
    assert payload.endswith(b"\r\n")
    assert payload.count(b"\n") == payload.count(b"\r\n"), "a bare LF"
    assert payload.count(b"\r") == payload.count(b"\r\n"), "a bare CR"
    if calendar:
        lines = payload.split(b"\r\n")[:-1]
        assert max(len(line) for line in lines) <= 75, "a calendar line over 75 octets"
        payload.decode("utf-8")  # folding never splits a character


@pytest.fixture
def delivered(session, smtp_sink, tmp_path):
    """Book (winter time), move across the DST change, cancel: three emails for Zoë."""
    clinic = MinimalClinic(session)
    patient = make_contactable_patient(
        session, given_name=NAME[0], family_name=NAME[1], sms_opt_in=False
    )
    appointment = clinic.appointment(patient, NOW + dt.timedelta(days=5))
    other = clinic.appointment(patient, dt.datetime(2027, 11, 10, 15, tzinfo=dt.UTC))
    dispatcher = smtp_dispatcher(smtp_sink, tmp_path)
    clock = FixedClock(NOW)
    enqueue_booking(session, [appointment, other], now=clock(), settings=NO_REMINDERS)
    session.commit()
    dispatcher.run(session, clock=clock)
    clinic.move(appointment, NOW + dt.timedelta(days=9, hours=2))
    clock.advance(dt.timedelta(hours=1))
    enqueue_update(session, appointment, now=clock(), settings=NO_REMINDERS)
    session.commit()
    dispatcher.run(session, clock=clock)
    appointment.status = AppointmentStatus.CANCELLED
    appointment.calendar_sequence += 1
    enqueue_cancellation(session, appointment, now=clock.advance(dt.timedelta(hours=1)))
    session.commit()
    dispatcher.run(session, clock=clock)
    return [item.raw for item in smtp_sink.received], [session_facts(other)]


def test_every_part_of_every_email_has_crlf_lines_and_folded_calendar_lines(delivered):
    raws, _ = delivered
    assert len(raws) == 4
    methods = []
    for raw in raws:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert "Núñez" in str(message["To"])
        parts = [part for part in message.walk() if not part.is_multipart()]
        assert {part.get_content_type() for part in parts} == {
            "text/plain", "text/html", "text/calendar"
        }  # fmt: skip
        for part in parts:
            payload = part.get_payload(decode=True)
            is_calendar = part.get_content_type() == "text/calendar"
            assert_line_form(payload, calendar=is_calendar)
            if is_calendar:
                calendar = icalendar.Calendar.from_ical(payload)
                assert part.get_param("method") == str(calendar["METHOD"])
                methods.append(str(calendar["METHOD"]))
                attendee = calendar.walk("VEVENT")[0]["ATTENDEE"]
                parsed = vobject.readOne(payload.decode())
                # Both parsers read the same name (no RFC 6868 escape left in it).
                assert attendee.params["CN"] == parsed.vevent.attendee.params["CN"][0]
                assert attendee.params["CN"] == "Zoë 'Zee' Núñez-Ødegård"
            else:
                assert "Zoë" in payload.decode("utf-8")
    assert methods == ["REQUEST"] * 6 + ["CANCEL"] * 2


def test_the_feed_is_in_line_form_too(session):
    clinic = MinimalClinic(session)
    patient = make_contactable_patient(session, given_name=NAME[0], family_name=NAME[1])
    facts = [
        session_facts(clinic.appointment(patient, NOW + dt.timedelta(days=days)))
        for days in (1, 200)
    ]
    feed = feed_ics(facts, clinic_name="Clinique « Zoë »", now=NOW, sender="a@clinic.example")
    assert_line_form(feed, calendar=True)
    assert str(icalendar.Calendar.from_ical(feed)["METHOD"]) == "PUBLISH"


def test_one_vtimezone_per_tzid_identical_in_every_message_and_the_feed(delivered):
    raws, other = delivered
    found = set()
    for raw in raws:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        for part in message.walk():
            if part.get_content_type() == "text/calendar":
                blocks = VTIMEZONE.findall(part.get_payload(decode=True))
                assert len(blocks) == 1
                found.add(blocks[0])
    feed = feed_ics(other, clinic_name="Clinic", now=NOW, sender="a@clinic.example")
    found.update(VTIMEZONE.findall(feed))
    # Sessions in March 2026, after the DST change, and in November 2027: one definition.
    assert found == {vtimezone_text("America/New_York").encode()}


def transitions(zone: ZoneInfo, years: range) -> list[dt.datetime]:
    found = []
    moment = dt.datetime(years.start, 1, 1, tzinfo=dt.UTC)
    before = moment.astimezone(zone).utcoffset()
    while moment.year < years.stop:
        moment += dt.timedelta(days=1)
        offset = moment.astimezone(zone).utcoffset()
        if offset != before:
            found.append(moment)
            before = offset
    return found


@pytest.mark.parametrize(
    "tzid",
    [
        "America/New_York",  # US rules changed in 2007
        "Europe/London",
        "Australia/Sydney",  # daylight saving across the new year; 2006 special
        "America/Phoenix",  # no daylight saving
        "America/Sao_Paulo",  # daylight saving abolished in 2019
        "Asia/Jerusalem",  # Friday before the last Sunday
        "Pacific/Chatham",  # 45-minute offsets
    ],
)
def test_the_vtimezone_gives_zoneinfo_offsets_for_any_date_to_both_parsers(tzid):
    text = vtimezone_text(tzid)
    assert "RDATE" not in text  # vobject misreads a multi-value RDATE; none is written
    calendar = f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:test\r\n{text}END:VCALENDAR\r\n"
    readers = {
        "icalendar": icalendar.Calendar.from_ical(calendar).walk("VTIMEZONE")[0].to_tz(),
        "vobject": vobject.readOne(calendar).vtimezone.gettzinfo(),
    }
    zone = ZoneInfo(tzid)
    # Around every change from 2000 to 2059 (the hours either side), and every 5 days.
    moments = [
        change + dt.timedelta(hours=hours)
        for change in transitions(zone, range(2000, 2060))
        for hours in (-30, -3, 3, 30)
    ]
    start = dt.datetime(2000, 1, 2, tzinfo=dt.UTC)
    moments += [start + dt.timedelta(days=5 * n, hours=n % 24) for n in range(60 * 73)]
    for name, reader in readers.items():
        wrong = []
        for moment in moments:
            local = moment.astimezone(zone)
            wall = local.replace(tzinfo=None)
            got = {wall.replace(tzinfo=reader, fold=fold).utcoffset() for fold in (0, 1)}
            if local.utcoffset() not in got:
                wrong.append(wall)
        assert not wrong, f"{name} reads {tzid} wrongly at {wrong[:3]}"
