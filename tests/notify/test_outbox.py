"""The outbox: which rows a booking, a reschedule and a cancellation add."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from clinic.models import AppointmentStatus, Channel, Notification, NotificationKind
from clinic.models import NotificationStatus as Status
from clinic.notify.outbox import (
    ReminderSettings,
    enqueue_booking,
    enqueue_cancellation,
    enqueue_update,
    reminder_settings_from_config,
)
from tests.builders import NOW, MinimalClinic, make_contactable_patient

SETTINGS = ReminderSettings()


def rows(session, appointment_id=None):
    query = sa.select(Notification).order_by(Notification.id)
    if appointment_id is not None:
        query = query.where(Notification.appointment_id == appointment_id)
    return session.scalars(query).all()


def summary(notifications):
    return sorted(
        (n.kind.value, n.channel.value, n.lead_minutes, n.status.value) for n in notifications
    )


def test_settings_come_from_config_with_defaults():
    assert reminder_settings_from_config({}) == ReminderSettings((72, 24), (2,))
    settings = reminder_settings_from_config(
        {"REMINDERS_EMAIL_HOURS": [24, 48], "REMINDERS_SMS_HOURS": []}
    )
    assert settings == ReminderSettings(email_hours=(48, 24), sms_hours=())
    with pytest.raises(ValueError, match="REMINDERS_SMS_HOURS"):
        reminder_settings_from_config({"REMINDERS_SMS_HOURS": [-2]})
    with pytest.raises(ValueError, match="REMINDERS_EMAIL_HOURS"):
        reminder_settings_from_config({"REMINDERS_EMAIL_HOURS": ["soon"]})


def test_booking_queues_invites_and_reminders_per_channel(session):
    clinic = MinimalClinic(session)
    patient = make_contactable_patient(session)
    appointment = clinic.appointment(patient, NOW + dt.timedelta(days=5))
    added = enqueue_booking(session, [appointment], now=NOW, settings=SETTINGS)
    session.commit()
    assert summary(added) == [
        ("invite", "email", None, "pending"),
        ("invite", "sms", None, "pending"),
        ("reminder", "email", 1440, "pending"),
        ("reminder", "email", 4320, "pending"),
        ("reminder", "sms", 120, "pending"),
    ]
    by_key = {n.idempotency_key: n for n in rows(session)}
    reminder = by_key[f"appt:{appointment.id}:seq:0:reminder:email:1440"]
    assert reminder.due_at == appointment.starts_at - dt.timedelta(hours=24)
    invite = by_key[f"appt:{appointment.id}:seq:0:invite:email"]
    assert invite.due_at == NOW
    assert invite.message_id.startswith("<") and invite.message_id.endswith("@riverside.example>")
    assert by_key[f"appt:{appointment.id}:seq:0:invite:sms"].message_id is None


def test_reminders_already_past_are_skipped_not_sent_late(session):
    clinic = MinimalClinic(session)
    patient = make_contactable_patient(session)
    appointment = clinic.appointment(patient, NOW + dt.timedelta(hours=30))
    enqueue_booking(session, [appointment], now=NOW, settings=SETTINGS)
    session.commit()
    statuses = {(n.kind, n.lead_minutes): n.status for n in rows(session) if n.channel == "email"}
    assert statuses[(NotificationKind.REMINDER, 72 * 60)] == Status.SKIPPED
    assert statuses[(NotificationKind.REMINDER, 24 * 60)] == Status.PENDING
    assert statuses[(NotificationKind.INVITE, None)] == Status.PENDING


def test_contact_preferences_and_consent_decide_the_channels(session):
    clinic = MinimalClinic(session)
    email_only = make_contactable_patient(session, sms_consent_at=None)
    sms_only = make_contactable_patient(session, email=None)
    nothing = make_contactable_patient(session, email_opt_in=False, sms_opt_in=False)
    starts = NOW + dt.timedelta(days=5)
    a = clinic.appointment(email_only, starts)
    b = clinic.appointment(sms_only, starts + dt.timedelta(hours=3))
    c = clinic.appointment(nothing, starts + dt.timedelta(hours=6))
    enqueue_booking(session, [a, b, c], now=NOW, settings=SETTINGS)
    session.commit()
    assert {n.channel for n in rows(session, a.id)} == {Channel.EMAIL}
    assert {n.channel for n in rows(session, b.id)} == {Channel.SMS}
    assert rows(session, c.id) == []


def test_an_invalid_phone_number_is_recorded_as_skipped(session):
    clinic = MinimalClinic(session)
    patient = make_contactable_patient(session, phone="+1555", email=None)
    appointment = clinic.appointment(patient, NOW + dt.timedelta(days=5))
    enqueue_booking(session, [appointment], now=NOW, settings=SETTINGS)
    session.commit()
    notifications = rows(session)
    assert notifications and all(n.status == Status.SKIPPED for n in notifications)
    assert "E.164" in notifications[0].last_error


def test_enqueueing_twice_adds_nothing_new(session):
    clinic = MinimalClinic(session)
    appointment = clinic.appointment(make_contactable_patient(session), NOW + dt.timedelta(days=5))
    first = enqueue_booking(session, [appointment], now=NOW, settings=SETTINGS)
    second = enqueue_booking(session, [appointment], now=NOW, settings=SETTINGS)
    session.commit()
    assert len(first) == 5 and second == []
    assert len(rows(session)) == 5


def test_a_series_gets_one_invitation_per_session_plus_reminders(session):
    clinic = MinimalClinic(session)
    patient = make_contactable_patient(session, sms_opt_in=False)
    sessions = [clinic.appointment(patient, NOW + dt.timedelta(days=4 + 2 * i)) for i in range(6)]
    enqueue_booking(session, sessions, now=NOW, settings=SETTINGS)
    session.commit()
    for appointment in sessions:
        kinds = sorted(n.kind.value for n in rows(session, appointment.id))
        assert kinds == ["invite", "reminder", "reminder"]


def test_reschedule_withdraws_pending_reminders_and_queues_update(session):
    clinic = MinimalClinic(session)
    appointment = clinic.appointment(make_contactable_patient(session), NOW + dt.timedelta(days=5))
    enqueue_booking(session, [appointment], now=NOW, settings=SETTINGS)
    session.commit()
    clinic.move(appointment, NOW + dt.timedelta(days=7))
    later = NOW + dt.timedelta(hours=1)
    enqueue_update(session, appointment, now=later, settings=SETTINGS)
    session.commit()
    old = [n for n in rows(session) if n.calendar_sequence == 0]
    new = [n for n in rows(session) if n.calendar_sequence == 1]
    assert {n.status for n in old if n.kind == NotificationKind.REMINDER} == {Status.WITHDRAWN}
    assert {n.status for n in old if n.kind == NotificationKind.INVITE} == {Status.PENDING}
    assert summary(new) == [
        ("reminder", "email", 1440, "pending"),
        ("reminder", "email", 4320, "pending"),
        ("reminder", "sms", 120, "pending"),
        ("update", "email", None, "pending"),
        ("update", "sms", None, "pending"),
    ]
    reminder = next(n for n in new if n.lead_minutes == 1440)
    assert reminder.due_at == appointment.starts_at - dt.timedelta(hours=24)


def test_cancellation_withdraws_pending_reminders_and_queues_cancel(session):
    clinic = MinimalClinic(session)
    appointment = clinic.appointment(make_contactable_patient(session), NOW + dt.timedelta(days=5))
    enqueue_booking(session, [appointment], now=NOW, settings=SETTINGS)
    session.commit()
    appointment.status = AppointmentStatus.CANCELLED
    appointment.calendar_sequence += 1
    enqueue_cancellation(session, appointment, now=NOW)
    session.commit()
    pending_reminders = [
        n for n in rows(session) if n.kind == NotificationKind.REMINDER and n.status == "pending"
    ]
    assert pending_reminders == []
    cancels = [n for n in rows(session) if n.kind == NotificationKind.CANCEL]
    assert {(n.channel.value, n.calendar_sequence) for n in cancels} == {
        ("email", 1),
        ("sms", 1),
    }


def test_rolled_back_booking_leaves_no_notification(session):
    clinic = MinimalClinic(session)
    patient = make_contactable_patient(session)
    session.commit()
    appointment = clinic.appointment(patient, NOW + dt.timedelta(days=5))
    enqueue_booking(session, [appointment], now=NOW, settings=SETTINGS)
    session.rollback()
    assert rows(session) == []
