"""Calendar files (RFC 5545/5546) built with icalendar.

An invitation or update is ``METHOD:REQUEST``; a cancellation is ``METHOD:CANCEL`` with the
same UID and a higher SEQUENCE, so the patient's calendar app applies each change to the one
event. Times carry the location's TZID with its one VTIMEZONE (``clinic.notify.timezones``), the
same in every message and in the patient's calendar feed (``METHOD:PUBLISH``).

Every line is written by icalendar (escaping, parameters, folding), but a file is assembled
from parts: the calendar head, the VTIMEZONE and the event properties that many messages
share (summary, location, the long description, organizer) are serialised once and cached;
the VTIMEZONE is written by ``clinic.notify.timezones``.
icalendar folds lines one character at a time, and doing all of that again for every email
cost more than sending it.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from typing import Any

import icalendar

from ..models import NotificationKind
from .context import MessageContext, SessionFacts, parse_sender
from .render import calendar_description, calendar_summary
from .timezones import vtimezone_bytes

PRODID = "-//clinic//Infusion clinic scheduler//EN"
CRLF = b"\r\n"


def _property_lines(properties: Sequence[tuple[str, Any]]) -> bytes:
    """The content lines icalendar writes for these properties of a VEVENT."""
    event = icalendar.Event()
    for name, value in properties:
        event.add(name, value)
    text = bytes(event.to_ical())
    begin, end = b"BEGIN:VEVENT" + CRLF, b"END:VEVENT" + CRLF
    assert text.startswith(begin) and text.endswith(end)
    return text[len(begin) : -len(end)]


@functools.lru_cache(maxsize=16)
def _calendar_head(method: str, calendar_name: str | None = None) -> bytes:
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    if calendar_name is not None:
        calendar.add("x-wr-calname", calendar_name)
        calendar.add("refresh-interval", dt.timedelta(hours=1), parameters={"VALUE": "DURATION"})
        calendar.add("x-published-ttl", "PT1H")
    text = bytes(calendar.to_ical())
    end = b"END:VCALENDAR" + CRLF
    assert text.endswith(end)
    return text[: -len(end)]


def _common_name(name: str) -> str:
    """A CN parameter every calendar reads alike. RFC 5545 allows no DQUOTE in a parameter;
    RFC 6868 writes it as ``^'``, which most programs (vobject among them) show as is, so a
    patient called ``Zoë "Zee" Núñez`` is written ``Zoë 'Zee' Núñez``."""
    return " ".join(name.replace('"', "'").split())


def _organizer(address: str, name: str) -> icalendar.vCalAddress:
    organizer = icalendar.vCalAddress(f"mailto:{address}")
    organizer.params["CN"] = icalendar.vText(_common_name(name))
    return organizer


def _attendee(name: str, email: str) -> icalendar.vCalAddress:
    attendee = icalendar.vCalAddress(f"mailto:{email}")
    attendee.params["CN"] = icalendar.vText(_common_name(name))
    attendee.params["ROLE"] = icalendar.vText("REQ-PARTICIPANT")
    attendee.params["PARTSTAT"] = icalendar.vText("NEEDS-ACTION")
    attendee.params["RSVP"] = icalendar.vText("TRUE")
    return attendee


@functools.lru_cache(maxsize=2048)
def _attendee_line(name: str, email: str) -> bytes:
    return _property_lines([("attendee", _attendee(name, email))])


@functools.lru_cache(maxsize=2048)
def _shared_lines(
    summary: str,
    location: str,
    description: str,
    status: str,
    organizer_address: str,
    organizer_name: str,
) -> bytes:
    return _property_lines(
        [
            ("summary", summary),
            ("location", location),
            ("description", description),
            ("status", status),
            ("transp", "OPAQUE"),
            ("organizer", _organizer(organizer_address, organizer_name)),
        ]
    )


def _text(value: str) -> str:
    """An RFC 5545 TEXT value (3.3.11)."""
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _folded(line: str) -> str:
    """One content line, folded at 75 octets (continuations start with a space) without
    splitting a character, and ended with CRLF."""
    if len(line) <= 75 and (line.isascii() or len(line.encode("utf-8")) <= 75):
        return line + "\r\n"
    pieces: list[str] = []
    current: list[str] = []
    size, limit = 0, 75
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            pieces.append("".join(current))
            current, size, limit = [], 0, 74
        current.append(char)
        size += width
    pieces.append("".join(current))
    return "\r\n ".join(pieces) + "\r\n"


def _event(
    facts: SessionFacts,
    *,
    clinic_name: str,
    sender: str,
    dtstamp: dt.datetime,
    cancelled: bool = False,
    attendee: tuple[str, str] | None = None,
) -> bytes:
    # This message's own properties are simple values, written directly: building them
    # through icalendar's objects was the largest cost of a message (profiled with
    # bench/dispatch.py --profile). The tests parse every file with icalendar and vobject.
    tzid = facts.tzid
    own = (
        f"UID:{_text(facts.calendar_uid)}",
        f"DTSTAMP:{dtstamp.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}",
        f"DTSTART;TZID={tzid}:{facts.local_start:%Y%m%dT%H%M%S}",
        f"DTEND;TZID={tzid}:{facts.local_end:%Y%m%dT%H%M%S}",
        f"SEQUENCE:{facts.calendar_sequence}",
    )
    own_lines = "".join(_folded(line) for line in own).encode("utf-8")
    location = facts.location_name
    if facts.location_address:
        location += f", {facts.location_address}"
    shared = _shared_lines(
        calendar_summary(facts, clinic_name=clinic_name),
        location,
        calendar_description(facts, cancelled=cancelled),
        "CANCELLED" if cancelled else "CONFIRMED",
        facts.location_email or parse_sender(sender)[1] or "appointments@clinic.invalid",
        clinic_name,
    )
    attendee_line = _attendee_line(*attendee) if attendee is not None else b""
    return (
        b"BEGIN:VEVENT" + CRLF + own_lines + attendee_line + shared
        + b"END:VEVENT" + CRLF
    )  # fmt: skip


def _timezones(sessions: Sequence[SessionFacts]) -> bytes:
    """One VTIMEZONE per TZID used, each written the same way in every message and feed
    (``clinic.notify.timezones``): a calendar keeps the first definition it sees."""
    return b"".join(vtimezone_bytes(tzid) for tzid in sorted({facts.tzid for facts in sessions}))


def method_for(kind: NotificationKind) -> str:
    return "CANCEL" if kind is NotificationKind.CANCEL else "REQUEST"


def invitation_ics(context: MessageContext, *, sender: str) -> bytes:
    """The ``.ics`` for one notification: REQUEST (invite, update, reminder) or CANCEL."""
    facts = context.session
    method = method_for(context.kind)
    event = _event(
        facts,
        clinic_name=context.clinic_name,
        sender=sender,
        dtstamp=context.created_at,
        cancelled=method == "CANCEL",
        attendee=(context.patient_name, context.patient_email) if context.patient_email else None,
    )
    return _calendar_head(method) + _timezones([facts]) + event + b"END:VCALENDAR" + CRLF


def feed_ics(
    sessions: Sequence[SessionFacts], *, clinic_name: str, now: dt.datetime, sender: str
) -> bytes:
    """The patient's calendar feed: their upcoming sessions, ``METHOD:PUBLISH``."""
    events = b"".join(
        _event(facts, clinic_name=clinic_name, sender=sender, dtstamp=now) for facts in sessions
    )
    head = _calendar_head("PUBLISH", clinic_name)
    return head + _timezones(sessions) + events + b"END:VCALENDAR" + CRLF
