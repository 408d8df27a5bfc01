"""Order per appointment, and faults that cost only the message they hit.

- No message about an appointment is sent before an earlier one about it has been sent or
  has finally failed, with parallel connections, small batches and retries.
- An update whose invitation failed for good goes out as the invitation; a cancellation
  of a session the patient never heard of is not sent.
- A failed connection is reopened for the next message; the log names the real cause.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import logging
from collections import defaultdict

import icalendar
import sqlalchemy as sa

from clinic.clock import FixedClock
from clinic.models import AppointmentStatus, Notification, NotificationKind
from clinic.models import NotificationStatus as Status
from clinic.notify.outbox import (
    ReminderSettings,
    enqueue_booking,
    enqueue_cancellation,
    enqueue_update,
)
from tests.builders import NOW, MinimalClinic, make_contactable_patient
from tests.notify.conftest import smtp_dispatcher

NO_REMINDERS = ReminderSettings(email_hours=(), sms_hours=())


def calendar_of(raw: bytes) -> tuple[str, str, int]:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    for part in message.walk():
        if part.get_content_type() == "text/calendar":
            calendar = icalendar.Calendar.from_ical(part.get_payload(decode=True))
            event = calendar.walk("VEVENT")[0]
            return str(event["UID"]), str(calendar["METHOD"]), int(event["SEQUENCE"])
    raise AssertionError("no calendar part")


def arrivals_by_uid(sink) -> dict[str, list[tuple[str, int]]]:
    seen: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for item in sink.received:
        uid, method, sequence = calendar_of(item.raw)
        seen[uid].append((method, sequence))
    return seen


def cancel(clinic, appointment, now):
    appointment.status = AppointmentStatus.CANCELLED
    appointment.calendar_sequence += 1
    enqueue_cancellation(clinic.session, appointment, now=now)


def rows(session):
    session.expire_all()
    return session.scalars(sa.select(Notification).order_by(Notification.id)).all()


def test_book_two_and_cancel_the_second_at_once_arrives_in_order(session, smtp_sink, tmp_path):
    clinic = MinimalClinic(session)
    second_sessions = []
    for n in range(12):
        patient = make_contactable_patient(session, sms_opt_in=False)
        first = clinic.appointment(patient, NOW + dt.timedelta(days=3, hours=n))
        second = clinic.appointment(patient, NOW + dt.timedelta(days=6, hours=n))
        enqueue_booking(session, [first, second], now=NOW, settings=NO_REMINDERS)
        cancel(clinic, second, NOW + dt.timedelta(seconds=1))
        second_sessions.append(second.calendar_uid)
    session.commit()
    # Four connections, small batches: the old round-robin dealing raced them.
    dispatcher = smtp_dispatcher(smtp_sink, tmp_path, connections=4, batch_size=8)
    totals = dispatcher.run(session, clock=FixedClock(NOW + dt.timedelta(seconds=5)))
    assert totals.sent == 36
    seen = arrivals_by_uid(smtp_sink)
    for uid in second_sessions:
        assert seen[uid] == [("REQUEST", 0), ("CANCEL", 1)], seen[uid]
    assert len(smtp_sink.collector.connections()) > 1  # still side by side


def test_a_cancellation_waits_while_its_invitation_is_retried(session, smtp_sink, tmp_path):
    clinic = MinimalClinic(session)
    patient = make_contactable_patient(session, sms_opt_in=False)
    appointment = clinic.appointment(patient, NOW + dt.timedelta(days=4))
    enqueue_booking(session, [appointment], now=NOW, settings=NO_REMINDERS)
    session.commit()
    smtp_sink.collector.defer.add(patient.email)
    dispatcher = smtp_dispatcher(smtp_sink, tmp_path, backoff_seconds=60)
    clock = FixedClock(NOW)
    dispatcher.run(session, clock=clock)  # the invitation is deferred by the server
    cancel(clinic, appointment, clock.advance(dt.timedelta(seconds=10)))
    session.commit()
    dispatcher.run(session, clock=clock)
    assert smtp_sink.received == []  # the cancellation did not go on its own
    invite, cancellation = rows(session)
    assert (invite.status, cancellation.status, cancellation.attempts) == (
        Status.PENDING, Status.PENDING, 0
    )  # fmt: skip
    smtp_sink.collector.defer.clear()
    clock.advance(dt.timedelta(seconds=60))
    dispatcher.run(session, clock=clock)
    assert arrivals_by_uid(smtp_sink)[appointment.calendar_uid] == [
        ("REQUEST", 0), ("CANCEL", 1)
    ]  # fmt: skip


def test_after_an_invitation_failed_for_good_an_update_is_the_invitation_and_a_cancel_is_not_sent(
    session, smtp_sink, tmp_path
):
    clinic = MinimalClinic(session)
    patient = make_contactable_patient(session, sms_opt_in=False)
    moved = clinic.appointment(patient, NOW + dt.timedelta(days=4))
    dropped = clinic.appointment(patient, NOW + dt.timedelta(days=8))
    enqueue_booking(session, [moved, dropped], now=NOW, settings=NO_REMINDERS)
    session.commit()
    smtp_sink.collector.refuse.add(patient.email)  # 550: the invitations fail for good
    dispatcher = smtp_dispatcher(smtp_sink, tmp_path)
    clock = FixedClock(NOW)
    dispatcher.run(session, clock=clock)
    assert {row.status for row in rows(session)} == {Status.FAILED}
    smtp_sink.collector.refuse.clear()  # the address is fixed; then the sessions change
    clock.advance(dt.timedelta(hours=1))
    clinic.move(moved, NOW + dt.timedelta(days=5))
    enqueue_update(session, moved, now=clock(), settings=NO_REMINDERS)
    cancel(clinic, dropped, clock())
    session.commit()
    dispatcher.run(session, clock=clock)
    (arrived,) = smtp_sink.received
    message = email.message_from_bytes(arrived.raw, policy=email.policy.default)
    assert message["Subject"].startswith("Booked:")  # not "Changed:" a session never seen
    assert calendar_of(arrived.raw) == (moved.calendar_uid, "REQUEST", 1)
    by_kind = {row.kind: row for row in rows(session) if row.appointment_id == dropped.id}
    assert by_kind[NotificationKind.CANCEL].status == Status.SKIPPED
    assert "never received" in by_kind[NotificationKind.CANCEL].last_error


def test_a_dropped_connection_is_reopened_and_costs_only_the_message_it_hit(
    session, smtp_sink, tmp_path, caplog
):
    clinic = MinimalClinic(session)
    appointments = [
        clinic.appointment(
            make_contactable_patient(session, sms_opt_in=False), NOW + dt.timedelta(days=2, hours=n)
        )
        for n in range(6)
    ]
    enqueue_booking(session, appointments, now=NOW, settings=NO_REMINDERS)
    session.commit()
    # The first connection is dropped at the greeting: the first message cannot go.
    smtp_sink.collector.faults.drop_greetings = 1
    dispatcher = smtp_dispatcher(smtp_sink, tmp_path, connections=1)
    with caplog.at_level(logging.WARNING, logger="clinic.notify.dispatch"):
        totals = dispatcher.run(session, clock=FixedClock(NOW))
    assert (totals.sent, totals.retrying, totals.failed) == (5, 1, 0)
    hit, *others = rows(session)
    assert (hit.status, hit.attempts) == (Status.PENDING, 1)
    assert "SMTPServerDisconnected" in hit.last_error  # the real cause, by type
    assert {(row.status, row.attempts) for row in others} == {(Status.SENT, 1)}
    assert "SMTPServerDisconnected" in caplog.text
    assert "@" not in caplog.text  # no addresses in the log


def test_a_server_that_stays_down_is_not_hammered_and_untried_messages_keep_their_attempts(
    session, smtp_sink, tmp_path
):
    clinic = MinimalClinic(session)
    appointments = [
        clinic.appointment(
            make_contactable_patient(session, sms_opt_in=False), NOW + dt.timedelta(days=2, hours=n)
        )
        for n in range(5)
    ]
    enqueue_booking(session, appointments, now=NOW, settings=NO_REMINDERS)
    session.commit()
    smtp_sink.collector.faults.drop_greetings = 100
    dispatcher = smtp_dispatcher(smtp_sink, tmp_path, connections=1, backoff_seconds=30)
    dispatcher.run(session, clock=FixedClock(NOW))
    attempts = [row.attempts for row in rows(session)]
    assert attempts == [1, 1, 0, 0, 0]  # two connects tried, the rest handed back untried
    assert {row.status for row in rows(session)} == {Status.PENDING}
    assert smtp_sink.collector.faults.struck == {"drop EHLO": 2}
    smtp_sink.collector.faults.drop_greetings = 0
    clock = FixedClock(NOW + dt.timedelta(seconds=30))
    assert dispatcher.run(session, clock=clock).sent == 5
