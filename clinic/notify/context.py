"""What a message says, as plain data: read from the database in the dispatcher's claim
transaction, then rendered and sent with no transaction open."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any
from zoneinfo import ZoneInfo

from ..models import (
    Appointment,
    Channel,
    Location,
    Notification,
    NotificationKind,
    Patient,
    TreatmentType,
)


@functools.lru_cache(maxsize=64)
def parse_sender(sender: str) -> tuple[str, str]:
    """``("Clinic", "appointments@clinic.example")`` from the configured sender (cached:
    parsing an address costs more than most of a message)."""
    return parseaddr(sender)


@dataclass(frozen=True, slots=True)
class SessionFacts:
    """One session as the patient sees it."""

    calendar_uid: str
    calendar_sequence: int
    starts_at: dt.datetime  # UTC
    ends_at: dt.datetime  # UTC; end of monitoring, when the patient may leave with the escort
    tzid: str
    treatment_name: str
    treatment_notice: str  # TreatmentType.full_patient_notice: the no-driving notice first
    location_name: str
    location_address: str
    location_phone: str | None
    location_email: str | None
    escort_name: str | None

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.tzid)

    @property
    def local_start(self) -> dt.datetime:
        return _local_time(self.starts_at, self.tzid)

    @property
    def local_end(self) -> dt.datetime:
        return _local_time(self.ends_at, self.tzid)


@functools.lru_cache(maxsize=1024)
def _local_time(moment: dt.datetime, tzid: str) -> dt.datetime:
    # A message reads each of its times several times (subject, text, HTML, .ics).
    return moment.astimezone(ZoneInfo(tzid))


@dataclass(frozen=True, slots=True)
class MessageContext:
    """One notification ready to render: the row's identity plus the session it announces."""

    notification_id: int
    kind: NotificationKind
    channel: Channel
    message_id: str | None
    calendar_sequence: int
    created_at: dt.datetime  # the .ics DTSTAMP: fixed, so a retry is byte-for-byte the same
    lead_minutes: int | None
    clinic_name: str
    patient_name: str
    patient_email: str | None
    patient_phone: str | None
    session: SessionFacts


def session_facts(
    appointment: Appointment,
    *,
    starts_at: dt.datetime | None = None,
    ends_at: dt.datetime | None = None,
    sequence: int | None = None,
) -> SessionFacts:
    location = appointment.location
    treatment_type = appointment.treatment_type
    return SessionFacts(
        calendar_uid=appointment.calendar_uid,
        calendar_sequence=appointment.calendar_sequence if sequence is None else sequence,
        starts_at=starts_at or appointment.starts_at,
        ends_at=ends_at or appointment.ends_at,
        tzid=location.timezone,
        treatment_name=treatment_type.name,
        treatment_notice=treatment_type.full_patient_notice,
        location_name=location.name,
        location_address=location.address,
        location_phone=location.phone,
        location_email=location.email,
        escort_name=appointment.escort_name or appointment.patient.escort_name,
    )


def _iso_time(raw: object) -> dt.datetime | None:
    if not raw:
        return None
    value = dt.datetime.fromisoformat(str(raw))
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _payload_time(notification: Notification, key: str) -> dt.datetime | None:
    return _iso_time((notification.payload or {}).get(key))


# The claim reads exactly these columns, no ORM objects: the notification's own, returned
# by the UPDATE that claims it, and its session's, read by one joined SELECT per batch.
NOTIFICATION_COLUMNS = (
    Notification.id,
    Notification.appointment_id,
    Notification.kind,
    Notification.channel,
    Notification.due_at,
    Notification.message_id,
    Notification.calendar_sequence,
    Notification.created_at,
    Notification.lead_minutes,
    Notification.payload,
    Notification.attempts,
)
SESSION_COLUMNS = (
    Appointment.id.label("appointment_id"),
    Appointment.patient_id,
    Appointment.calendar_uid,
    Appointment.status.label("appointment_status"),
    Appointment.starts_at,
    Appointment.ends_at,
    Appointment.escort_name,
    Patient.given_name,
    Patient.family_name,
    Patient.email.label("patient_email"),
    Patient.phone.label("patient_phone"),
    Patient.escort_name.label("patient_escort_name"),
    Location.name.label("location_name"),
    Location.address.label("location_address"),
    Location.phone.label("location_phone"),
    Location.email.label("location_email"),
    Location.timezone,
    TreatmentType.name.label("treatment_name"),
    TreatmentType.patient_notice,
)


@functools.lru_cache(maxsize=256)
def _full_notice(patient_notice: str) -> str:
    # The rule lives on the model; a transient instance applies it to a bare column value.
    return TreatmentType(patient_notice=patient_notice).full_patient_notice


@functools.lru_cache(maxsize=4096)
def _full_name(given_name: str, family_name: str) -> str:
    return Patient(given_name=given_name, family_name=family_name).full_name


def context_from_rows(notification: Any, session: Any, *, clinic_name: str) -> MessageContext:
    """A :class:`MessageContext` from a row of ``NOTIFICATION_COLUMNS`` and its session's
    row of ``SESSION_COLUMNS``."""
    payload = notification.payload or {}
    return MessageContext(
        notification_id=notification.id,
        kind=notification.kind,
        channel=notification.channel,
        message_id=notification.message_id,
        calendar_sequence=notification.calendar_sequence,
        created_at=notification.created_at,
        lead_minutes=notification.lead_minutes,
        clinic_name=clinic_name,
        patient_name=_full_name(session.given_name, session.family_name),
        patient_email=session.patient_email,
        patient_phone=session.patient_phone,
        session=SessionFacts(
            calendar_uid=session.calendar_uid,
            calendar_sequence=notification.calendar_sequence,
            starts_at=_iso_time(payload.get("starts_at")) or session.starts_at,
            ends_at=_iso_time(payload.get("ends_at")) or session.ends_at,
            tzid=session.timezone,
            treatment_name=session.treatment_name,
            treatment_notice=_full_notice(session.patient_notice),
            location_name=session.location_name,
            location_address=session.location_address,
            location_phone=session.location_phone,
            location_email=session.location_email,
            escort_name=session.escort_name or session.patient_escort_name,
        ),
    )


def message_context(notification: Notification, *, clinic_name: str) -> MessageContext:
    """The message as it was when queued: times come from the row's snapshot, so an update
    queued before a later reschedule still announces the time it was about."""
    appointment = notification.appointment
    patient = appointment.patient
    return MessageContext(
        notification_id=notification.id,
        kind=notification.kind,
        channel=notification.channel,
        message_id=notification.message_id,
        calendar_sequence=notification.calendar_sequence,
        created_at=notification.created_at,
        lead_minutes=notification.lead_minutes,
        clinic_name=clinic_name,
        patient_name=patient.full_name,
        patient_email=patient.email,
        patient_phone=patient.phone,
        session=session_facts(
            appointment,
            starts_at=_payload_time(notification, "starts_at"),
            ends_at=_payload_time(notification, "ends_at"),
            sequence=notification.calendar_sequence,
        ),
    )
