"""Real calendar software: the invitations of a book → reschedule across the DST change →
cancel flow, plus a session two years on, applied to a Radicale CalDAV server (started on a
loopback port) the way a calendar client applies iTIP, then queried by time range.

The client logic is here, in plain HTTP: a REQUEST creates the event or replaces it when
its SEQUENCE is higher; a CANCEL marks it cancelled. Radicale parses every stored event with
vobject in one process, which keeps the first VTIMEZONE it sees for a TZID: a message whose
VTIMEZONE differed (a window of years around each event, as before) put the later sessions
an hour off. Every message is also parsed here with icalendar and vobject, in this one
process, for the same reason.
"""

from __future__ import annotations

import base64
import datetime as dt
import email
import email.policy
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import icalendar
import pytest
import vobject

from clinic.clock import FixedClock
from clinic.models import NO_DRIVING_NOTICE, AppointmentStatus
from clinic.notify.outbox import (
    ReminderSettings,
    enqueue_booking,
    enqueue_cancellation,
    enqueue_update,
)
from tests.builders import NOW, MinimalClinic, at, make_contactable_patient
from tests.notify.conftest import smtp_dispatcher
from tests.notify.smtp_sink import free_port

pytest.importorskip("radicale", reason="the CalDAV tests need Radicale (pip install radicale)")
pytestmark = pytest.mark.slow
NO_REMINDERS = ReminderSettings(email_hours=(), sms_hours=())
NS = {"D": "DAV:", "C": "urn:ietf:params:xml:ns:caldav"}


class CalDavClient:
    """One user's calendar on the server, and an iTIP-applying client on top of it."""

    def __init__(self, base: str, user: str) -> None:
        self.collection = f"{base}/{user}/sessions/"
        token = base64.b64encode(f"{user}:unused".encode()).decode()
        self.auth = f"Basic {token}"

    def request(
        self, method: str, url: str, body: bytes = b"", **headers: str
    ) -> tuple[int, bytes]:
        req = urllib.request.Request(url, data=body or None, method=method)
        req.add_header("Authorization", self.auth)
        for name, value in headers.items():
            req.add_header(name.replace("_", "-"), value)
        try:
            with urllib.request.urlopen(req, timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def make_calendar(self) -> None:
        status, _ = self.request("MKCALENDAR", self.collection)
        assert status == 201, status

    def get(self, uid: str) -> icalendar.Event | None:
        status, body = self.request("GET", f"{self.collection}{uid}.ics")
        if status == 404:
            return None
        assert status == 200, status
        return icalendar.Calendar.from_ical(body).walk("VEVENT")[0]

    def apply(self, message: bytes) -> None:
        """iTIP (RFC 5546) as a calendar client does it, for an attendee."""
        incoming = icalendar.Calendar.from_ical(message)
        method = str(incoming["METHOD"])
        for event in incoming.walk("VEVENT"):
            uid, sequence = str(event["UID"]), int(event.get("SEQUENCE", 0))
            stored = self.get(uid)
            if stored is not None and int(stored.get("SEQUENCE", 0)) >= sequence:
                continue  # an older or repeated message: the calendar keeps what it has
            if method == "CANCEL":
                if stored is None:
                    continue
                event["STATUS"] = "CANCELLED"
            elif method != "REQUEST":
                raise AssertionError(method)
            # A stored object has no METHOD; it keeps the message's VTIMEZONE.
            stored_calendar = icalendar.Calendar()
            for name in ("PRODID", "VERSION", "CALSCALE"):
                stored_calendar[name] = incoming[name]
            for timezone in incoming.walk("VTIMEZONE"):
                stored_calendar.add_component(timezone)
            stored_calendar.add_component(event)
            status, _ = self.request(
                "PUT",
                f"{self.collection}{uid}.ics",
                stored_calendar.to_ical(),
                Content_Type="text/calendar; charset=utf-8",
            )
            assert status in (201, 204), status

    def between(self, start: dt.datetime, end: dt.datetime) -> dict[str, icalendar.Event]:
        """calendar-query REPORT with a time range: the server decides what overlaps."""
        query = f"""<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><C:calendar-data/></D:prop>
  <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">
    <C:time-range start="{start:%Y%m%dT%H%M%SZ}" end="{end:%Y%m%dT%H%M%SZ}"/>
  </C:comp-filter></C:comp-filter></C:filter>
</C:calendar-query>""".encode()
        status, body = self.request(
            "REPORT", self.collection, query, Depth="1", Content_Type="application/xml"
        )
        assert status == 207, (status, body[:300])
        found = {}
        for data in ET.fromstring(body).iterfind(".//C:calendar-data", NS):
            event = icalendar.Calendar.from_ical(data.text or "").walk("VEVENT")[0]
            found[str(event["UID"])] = event
        return found


@pytest.fixture
def radicale(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    storage = tmp_path / "radicale"
    process = subprocess.Popen(
        [
            sys.executable, "-m", "radicale", "--config", "",
            "--server-hosts", f"127.0.0.1:{port}",
            "--storage-filesystem-folder", str(storage),
            "--auth-type", "none", "--rights-type", "owner_only",
            "--logging-level", "warning",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(base + "/.web/", timeout=2).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise AssertionError(process.communicate()[0]) from None
            time.sleep(0.1)
    yield base
    process.terminate()
    process.communicate(timeout=10)
    shutil.rmtree(storage, ignore_errors=True)


def test_the_clinics_invitations_apply_in_a_caldav_server_at_their_exact_times(
    session, smtp_sink, tmp_path, radicale
):
    clinic = MinimalClinic(session)
    patient = make_contactable_patient(
        session, given_name='Zoë "Zee"', family_name="Núñez", sms_opt_in=False
    )
    moved = clinic.appointment(patient, at("2026-03-04", "09:00"))  # EST
    later = clinic.appointment(patient, at("2028-07-12", "10:00"))  # EDT, two years on
    dropped = clinic.appointment(patient, at("2026-11-05", "14:00"))  # EST again
    dispatcher = smtp_dispatcher(smtp_sink, tmp_path)
    clock = FixedClock(NOW)
    enqueue_booking(session, [moved, later, dropped], now=clock(), settings=NO_REMINDERS)
    session.commit()
    dispatcher.run(session, clock=clock)
    clock.advance(dt.timedelta(hours=1))
    clinic.move(moved, at("2026-03-10", "10:00"))  # across the change on 8 March: EDT
    enqueue_update(session, moved, now=clock(), settings=NO_REMINDERS)
    dropped.status = AppointmentStatus.CANCELLED
    dropped.calendar_sequence += 1
    enqueue_cancellation(session, dropped, now=clock())
    session.commit()
    dispatcher.run(session, clock=clock)

    client = CalDavClient(radicale, "zoe")
    client.make_calendar()
    calendars = []
    for item in smtp_sink.received:
        message = email.message_from_bytes(item.raw, policy=email.policy.default)
        (inline, _attachment) = [
            part for part in message.walk() if part.get_content_type() == "text/calendar"
        ]
        payload = inline.get_payload(decode=True)
        calendars.append(payload)
        client.apply(payload)
    assert len(calendars) == 5
    # Both parsers, one process, every message: the same instants.
    for payload in calendars:
        event = icalendar.Calendar.from_ical(payload).walk("VEVENT")[0]
        parsed = vobject.readOne(payload.decode())
        assert parsed.vevent.dtstart.value.astimezone(dt.UTC) == event.decoded(
            "DTSTART"
        ).astimezone(dt.UTC)
        assert parsed.vevent.attendee.params["CN"] == ["Zoë 'Zee' Núñez"]
        assert NO_DRIVING_NOTICE in parsed.vevent.description.value

    expected = {
        moved.calendar_uid: (at("2026-03-10", "10:00"), "CONFIRMED", 1),
        later.calendar_uid: (at("2028-07-12", "10:00"), "CONFIRMED", 0),
        dropped.calendar_uid: (at("2026-11-05", "14:00"), "CANCELLED", 1),
    }
    for uid, (starts_at, status, sequence) in expected.items():
        # The server finds each session in the minute it starts, and not an hour early.
        found = client.between(starts_at, starts_at + dt.timedelta(minutes=1))
        assert set(found) == {uid}, (uid, starts_at, set(found))
        event = found[uid]
        assert event.decoded("DTSTART").astimezone(dt.UTC) == starts_at
        assert (str(event["STATUS"]), int(event["SEQUENCE"])) == (status, sequence)
        hour_early = starts_at - dt.timedelta(hours=1)
        assert client.between(hour_early, hour_early + dt.timedelta(minutes=1)) == {}
    # The first booking's old time is free: the update replaced it.
    old = at("2026-03-04", "09:00")
    assert client.between(old, old + dt.timedelta(minutes=1)) == {}
    # Local wall-clock times as the patient reads them.
    ny = moved.location.timezone
    assert client.get(moved.calendar_uid).decoded("DTSTART").hour == 10
    assert str(client.get(later.calendar_uid)["DTSTART"].params["TZID"]) == ny
