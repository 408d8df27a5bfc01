"""The dispatcher: claim, send, record; retries with backoff; stale claims; no late reminders."""

from __future__ import annotations

import datetime as dt
import email
import email.policy

import pytest
import sqlalchemy as sa

from clinic.clock import FixedClock
from clinic.models import AppointmentStatus, Notification, NotificationKind
from clinic.models import NotificationStatus as Status
from clinic.notify.dispatcher import DispatchSettings, claim_due
from clinic.notify.outbox import ReminderSettings, enqueue_booking
from tests.builders import NOW, MinimalClinic, make_contactable_patient
from tests.notify.conftest import smtp_dispatcher
from tests.unit.querycount import recorded_statements

NO_REMINDERS = ReminderSettings(email_hours=(), sms_hours=())


def book(session, count=1, *, settings=NO_REMINDERS, days=5, **patient_fields):
    clinic = MinimalClinic(session)
    appointments = [
        clinic.appointment(
            make_contactable_patient(session, **patient_fields),
            NOW + dt.timedelta(days=days, hours=i),
        )
        for i in range(count)
    ]
    enqueue_booking(session, appointments, now=NOW, settings=settings)
    session.commit()
    return appointments


def statuses(session):
    session.expire_all()
    return {n.id: n for n in session.scalars(sa.select(Notification).order_by(Notification.id))}


def test_due_messages_are_sent_and_marked_sent(session, smtp_sink, tmp_path):
    (appointment,) = book(session, settings=ReminderSettings(email_hours=(24,), sms_hours=(2,)))
    dispatcher = smtp_dispatcher(smtp_sink, tmp_path / "sms")
    totals = dispatcher.run(session, clock=FixedClock(NOW))
    assert (totals.sent, totals.failed, totals.retrying) == (2, 0, 0)
    rows = statuses(session).values()
    sent = sorted((n.kind.value, n.channel.value) for n in rows if n.status == Status.SENT)
    assert sent == [("invite", "email"), ("invite", "sms")]
    assert all(n.sent_at == NOW and n.attempts == 1 for n in rows if n.status == Status.SENT)
    # Reminders wait for their time.
    assert {n.status for n in rows if n.kind == NotificationKind.REMINDER} == {Status.PENDING}
    assert len(smtp_sink.received) == 1
    (sms_file,) = (tmp_path / "sms").glob("*.txt")
    assert "To: +12015550123" in sms_file.read_text()
    # At its time, the 24-hour reminder goes out.
    dispatcher.run(session, clock=FixedClock(appointment.starts_at - dt.timedelta(hours=24)))
    assert len(smtp_sink.received) == 2
    assert smtp_sink.collector.messages()[1]["Subject"].startswith("Reminder:")


def test_failures_back_off_exponentially_then_fail(session, smtp_sink, tmp_path):
    book(session, sms_opt_in=False)
    smtp_sink.collector.defer_all = True
    dispatcher = smtp_dispatcher(smtp_sink, tmp_path, backoff_seconds=60, max_attempts=3)
    clock = FixedClock(NOW)
    (row,) = statuses(session).values()
    expected_delays = [60, 120]
    for attempt, delay in enumerate(expected_delays, start=1):
        dispatcher.run(session, clock=clock)
        (row,) = statuses(session).values()
        assert (row.status, row.attempts) == (Status.PENDING, attempt)
        assert row.due_at == clock() + dt.timedelta(seconds=delay)
        # Not before its time.
        clock.advance(dt.timedelta(seconds=delay - 1))
        assert dispatcher.run(session, clock=clock).examined == 0
        clock.advance(dt.timedelta(seconds=1))
    dispatcher.run(session, clock=clock)
    (row,) = statuses(session).values()
    assert (row.status, row.attempts) == (Status.FAILED, 3)
    assert "refused the recipient" in row.last_error
    assert "@" not in row.last_error  # no addresses in error text
    assert smtp_sink.received == []


def test_a_retried_email_keeps_its_message_id(session, smtp_sink, tmp_path):
    book(session, sms_opt_in=False)
    (row,) = statuses(session).values()
    message_id = row.message_id
    dispatcher = smtp_dispatcher(smtp_sink, tmp_path, backoff_seconds=30)
    smtp_sink.collector.defer_all = True
    clock = FixedClock(NOW)
    dispatcher.run(session, clock=clock)
    smtp_sink.collector.defer_all = False
    clock.advance(dt.timedelta(seconds=30))
    dispatcher.run(session, clock=clock)
    (arrived,) = smtp_sink.collector.messages()
    assert arrived["Message-ID"] == message_id
    (row,) = statuses(session).values()
    assert (row.status, row.attempts) == (Status.SENT, 2)


def test_a_permanent_refusal_fails_at_once(session, smtp_sink, tmp_path):
    (appointment,) = book(session, sms_opt_in=False)
    smtp_sink.collector.refuse.add(appointment.patient.email)
    smtp_dispatcher(smtp_sink, tmp_path, max_attempts=5).run(session, clock=FixedClock(NOW))
    (row,) = statuses(session).values()
    assert (row.status, row.attempts) == (Status.FAILED, 1)


def test_a_claim_left_by_a_crashed_worker_returns_after_the_timeout(session, smtp_sink, tmp_path):
    book(session, 3, sms_opt_in=False)
    settings = DispatchSettings(claim_timeout_seconds=120)
    claimed, _ = claim_due(session, now=NOW, worker="crashed-worker", settings=settings)
    assert len(claimed) == 3  # ...and the worker dies before sending
    rows = statuses(session).values()
    assert {(n.status, n.claimed_by) for n in rows} == {(Status.SENDING, "crashed-worker")}
    dispatcher = smtp_dispatcher(smtp_sink, tmp_path, claim_timeout_seconds=120)
    clock = FixedClock(NOW + dt.timedelta(seconds=119))
    assert dispatcher.run(session, clock=clock).examined == 0
    clock.advance(dt.timedelta(seconds=2))
    totals = dispatcher.run(session, clock=clock)
    assert (totals.released, totals.sent) == (3, 3)
    assert {n.status for n in statuses(session).values()} == {Status.SENT}
    assert len({m["Message-ID"] for m in smtp_sink.collector.messages()}) == 3


def test_stale_claim_on_the_last_attempt_fails(session, tmp_path, smtp_sink):
    book(session, sms_opt_in=False)
    settings = DispatchSettings(claim_timeout_seconds=60, max_attempts=1)
    claim_due(session, now=NOW, worker="crashed-worker", settings=settings)
    dispatcher = smtp_dispatcher(smtp_sink, tmp_path, claim_timeout_seconds=60, max_attempts=1)
    dispatcher.run(session, clock=FixedClock(NOW + dt.timedelta(minutes=5)))
    (row,) = statuses(session).values()
    assert row.status == Status.FAILED
    assert "stopped" in row.last_error


def test_reminders_are_not_sent_for_cancelled_or_started_sessions(session, smtp_sink, tmp_path):
    reminders = ReminderSettings(email_hours=(24,), sms_hours=())
    first, second = book(session, 2, settings=reminders, sms_opt_in=False)
    dispatcher = smtp_dispatcher(smtp_sink, tmp_path)
    dispatcher.run(session, clock=FixedClock(NOW))  # the invitations
    first.status = AppointmentStatus.CANCELLED  # cancelled without the outbox call
    session.commit()
    # The dispatcher was down until after the second session had begun.
    dispatcher.run(session, clock=FixedClock(second.starts_at + dt.timedelta(minutes=5)))
    by_appointment = {
        n.appointment_id: n.status
        for n in statuses(session).values()
        if n.kind == NotificationKind.REMINDER
    }
    assert by_appointment == {first.id: Status.WITHDRAWN, second.id: Status.SKIPPED}
    assert len(smtp_sink.received) == 2  # the two invitations only


@pytest.mark.parametrize("connections", [1, 2])
def test_smtp_connections_are_reused_for_a_whole_run(session, smtp_sink, tmp_path, connections):
    book(session, 120, sms_opt_in=False)
    dispatcher = smtp_dispatcher(smtp_sink, tmp_path, batch_size=50, connections=connections)
    totals = dispatcher.run(session, clock=FixedClock(NOW))
    assert (totals.batches, totals.sent) == (3, 120)
    assert len(smtp_sink.received) == 120
    assert len({m["Message-ID"] for m in smtp_sink.collector.messages()}) == 120
    assert len(smtp_sink.collector.connections()) == connections


def test_a_batch_costs_the_same_few_statements_however_many_messages_it_holds(
    session, smtp_sink, tmp_path
):
    dispatcher = smtp_dispatcher(smtp_sink, tmp_path, batch_size=50)
    counts = []
    for count in (2, 40):
        book(session, count, sms_opt_in=False)
        with recorded_statements(session.get_bind()) as statements:
            assert dispatcher.run(session, clock=FixedClock(NOW)).sent == count
        counts.append(len(statements))
    # Release stale claims, claim (one UPDATE ... RETURNING), read the sessions; claim
    # again while sending (nothing left); record the sent and claim once more (a message
    # that waited for one of them would be due now); and the three BEGINs.
    assert counts[0] == counts[1] <= 9, counts


def test_the_dispatch_job_writes_eml_files_to_the_outbox(app, clock, tmp_path):
    from clinic import jobs
    from clinic.extensions import db

    with app.app_context():
        book(db.session, sms_opt_in=False, days=30)
        db.session.execute(sa.update(Notification).values(due_at=NOW))  # the job reads NOW
        db.session.commit()
    jobs.dispatch_notifications(app)
    (eml,) = (tmp_path / "outbox" / "mail").glob("*.eml")
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert message["Subject"].startswith("Booked:")
    with app.app_context():
        assert db.session.scalar(sa.select(Notification.status)) == Status.SENT
