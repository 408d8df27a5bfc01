"""The transactional outbox: which messages a booking change owes the patient, and when.

The scheduling services call these functions inside their own transaction, after changing an
appointment (and bumping its ``calendar_sequence`` where the calendar must apply a change).
They only add and update rows in the session; the caller commits, so an appointment change
and the messages announcing it are saved together or not at all. Nothing is sent here: the
dispatcher (``clinic.notify.dispatcher``) delivers due rows later, outside any web request.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..models import (
    Appointment,
    Channel,
    Notification,
    NotificationKind,
    NotificationStatus,
    Patient,
)
from .phone import is_valid_e164


@dataclass(frozen=True, slots=True)
class ReminderSettings:
    """Reminder lead times, in hours before the session starts, per channel."""

    email_hours: tuple[int, ...] = (72, 24)
    sms_hours: tuple[int, ...] = (2,)


def _hours(value: Any, key: str, default: tuple[int, ...]) -> tuple[int, ...]:
    if value is None:
        return default
    if isinstance(value, int | float | str):
        value = [value]
    try:
        hours = tuple(sorted({int(item) for item in value}, reverse=True))
    except (TypeError, ValueError) as error:
        raise ValueError(f"{key} must be a list of whole hours, e.g. [72, 24]") from error
    if any(hour <= 0 for hour in hours):
        raise ValueError(f"{key} must hold positive hours only")
    return hours


def reminder_settings_from_config(config: Mapping[str, Any]) -> ReminderSettings:
    """Read ``REMINDERS_EMAIL_HOURS`` and ``REMINDERS_SMS_HOURS``; missing keys keep defaults."""
    defaults = ReminderSettings()
    return ReminderSettings(
        email_hours=_hours(
            config.get("REMINDERS_EMAIL_HOURS"), "REMINDERS_EMAIL_HOURS", defaults.email_hours
        ),
        sms_hours=_hours(
            config.get("REMINDERS_SMS_HOURS"), "REMINDERS_SMS_HOURS", defaults.sms_hours
        ),
    )


def enqueue_booking(
    session: Session,
    appointments: Iterable[Appointment],
    *,
    now: dt.datetime,
    settings: ReminderSettings,
) -> list[Notification]:
    """Queue an invitation per session (email, and SMS where the patient consents) plus its
    reminders. Reminders whose time has already passed are recorded as ``skipped``."""
    appointments = list(appointments)
    session.flush()  # appointment ids are part of every idempotency key
    planned: list[Notification] = []
    for appointment in appointments:
        planned += _announcement(appointment, NotificationKind.INVITE, now=now)
        planned += _reminders(appointment, now=now, settings=settings)
    return _add_new(session, planned)


def enqueue_update(
    session: Session,
    appointment: Appointment,
    *,
    now: dt.datetime,
    settings: ReminderSettings,
) -> list[Notification]:
    """After a reschedule: withdraw the pending reminders, queue an update and new reminders."""
    session.flush()
    withdraw_pending_reminders(session, appointment_ids=[appointment.id], now=now)
    planned = _announcement(appointment, NotificationKind.UPDATE, now=now)
    planned += _reminders(appointment, now=now, settings=settings)
    return _add_new(session, planned)


def enqueue_cancellation(
    session: Session, appointment: Appointment, *, now: dt.datetime
) -> list[Notification]:
    """After a cancellation: withdraw the pending reminders and queue a cancellation."""
    session.flush()
    withdraw_pending_reminders(session, appointment_ids=[appointment.id], now=now)
    return _add_new(session, _announcement(appointment, NotificationKind.CANCEL, now=now))


def withdraw_pending_reminders(
    session: Session, *, appointment_ids: Sequence[int], now: dt.datetime
) -> int:
    """Mark the not-yet-sent reminders of these sessions ``withdrawn``; returns how many."""
    if not appointment_ids:
        return 0
    reminders = session.scalars(
        sa.select(Notification).where(
            Notification.appointment_id.in_(appointment_ids),
            Notification.kind == NotificationKind.REMINDER,
            Notification.status == NotificationStatus.PENDING,
        )
    ).all()
    for reminder in reminders:
        reminder.status = NotificationStatus.WITHDRAWN
        reminder.last_error = f"withdrawn {now.isoformat(timespec='seconds')}: session changed"
    return len(reminders)


# --- planning -----------------------------------------------------------------------------


def _channels(patient: Patient) -> list[Channel]:
    channels = []
    if patient.can_receive_email:
        channels.append(Channel.EMAIL)
    if patient.can_receive_sms:
        channels.append(Channel.SMS)
    return channels


def idempotency_key(
    appointment: Appointment,
    kind: NotificationKind,
    channel: Channel,
    lead_minutes: int | None = None,
) -> str:
    key = f"appt:{appointment.id}:seq:{appointment.calendar_sequence}:{kind.value}:{channel.value}"
    if lead_minutes is not None:
        key += f":{lead_minutes}"
    return key


def _message_id(appointment: Appointment, key: str) -> str:
    """An RFC 5322 Message-ID fixed now, so every retry of this email carries the same one."""
    email = appointment.location.email or ""
    domain = email.rpartition("@")[2] or "clinic.invalid"
    local = key.replace(":", ".")
    return f"<{local}.{uuid.uuid4().hex[:12]}@{domain}>"


def _snapshot(appointment: Appointment) -> dict[str, Any]:
    """What the message announces, frozen at enqueue time: a later change gets its own row."""
    return {
        "starts_at": appointment.starts_at.isoformat(),
        "ends_at": appointment.ends_at.isoformat(),
        "location_id": appointment.location_id,
    }


def _new(
    appointment: Appointment,
    kind: NotificationKind,
    channel: Channel,
    *,
    due_at: dt.datetime,
    now: dt.datetime,
    lead_minutes: int | None = None,
) -> Notification:
    key = idempotency_key(appointment, kind, channel, lead_minutes)
    notification = Notification(
        appointment_id=appointment.id,
        kind=kind,
        channel=channel,
        due_at=due_at,
        status=NotificationStatus.PENDING,
        attempts=0,
        idempotency_key=key,
        message_id=_message_id(appointment, key) if channel is Channel.EMAIL else None,
        calendar_sequence=appointment.calendar_sequence,
        lead_minutes=lead_minutes,
        payload=_snapshot(appointment),
        created_at=now,
    )
    if channel is Channel.SMS and not is_valid_e164(appointment.patient.phone):
        notification.status = NotificationStatus.SKIPPED
        notification.last_error = "The patient's phone number is not a valid E.164 number."
    return notification


def _announcement(
    appointment: Appointment, kind: NotificationKind, *, now: dt.datetime
) -> list[Notification]:
    return [
        _new(appointment, kind, channel, due_at=now, now=now)
        for channel in _channels(appointment.patient)
    ]


def _reminders(
    appointment: Appointment, *, now: dt.datetime, settings: ReminderSettings
) -> list[Notification]:
    patient = appointment.patient
    leads: list[tuple[Channel, int]] = []
    if patient.can_receive_email:
        leads += [(Channel.EMAIL, hours) for hours in settings.email_hours]
    if patient.can_receive_sms:
        leads += [(Channel.SMS, hours) for hours in settings.sms_hours]
    reminders = []
    for channel, hours in leads:
        due_at = appointment.starts_at - dt.timedelta(hours=hours)
        reminder = _new(
            appointment,
            NotificationKind.REMINDER,
            channel,
            due_at=due_at,
            now=now,
            lead_minutes=hours * 60,
        )
        if due_at <= now and reminder.status is NotificationStatus.PENDING:
            # Never sent late: the invitation the patient gets now covers it.
            reminder.status = NotificationStatus.SKIPPED
            reminder.last_error = "Reminder time had passed when the session was booked."
        reminders.append(reminder)
    return reminders


def _add_new(session: Session, planned: list[Notification]) -> list[Notification]:
    """Add the planned rows whose idempotency key is not already queued (one query)."""
    if not planned:
        return []
    keys = [notification.idempotency_key for notification in planned]
    existing = set(
        session.scalars(
            sa.select(Notification.idempotency_key).where(Notification.idempotency_key.in_(keys))
        )
    )
    added = []
    for notification in planned:
        if notification.idempotency_key in existing:
            continue
        existing.add(notification.idempotency_key)
        session.add(notification)
        added.append(notification)
    return added
