"""Delivery under faults: four real ``clinic worker`` processes on PostgreSQL, started at
once, against an SMTP server that answers 451 to a share of commands and drops
connections; one worker is SIGKILLed while it holds a batch.

Every message is delivered, none lost; the only duplicates are messages the killed worker
had sent but not recorded, and they carry the same Message-ID; every appointment's messages
arrive in the order they were written; no log holds a traceback or scheduler noise.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import signal
import time
from collections import Counter, defaultdict

import icalendar
import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import AppointmentStatus, Notification, NotificationStatus, Shift
from clinic.notify.outbox import (
    ReminderSettings,
    enqueue_booking,
    enqueue_cancellation,
    enqueue_update,
)
from tests.builders import MinimalClinic, make_contactable_patient, make_staff, weekly_shifts
from tests.notify.smtp_sink import Faults, SmtpSink
from tests.notify.test_workers import pg_app, rows, start_worker, stop  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
NO_REMINDERS = ReminderSettings(email_hours=(), sms_hours=())
SETTINGS = {
    "dispatch_batch_size": "10",
    "dispatch_claim_timeout_seconds": "4",
    "dispatch_backoff_seconds": "1",
    "dispatch_max_attempts": "30",
    "dispatch_connections": "2",
}


def queue_work(app, now: dt.datetime) -> int:
    """120 sessions of 40 patients: every one invited, a third moved, a sixth of them
    cancelled straight after (invite → update → cancel, all due at once). Shift templates
    too, so that every worker's start-up shift run races the others."""
    with app.app_context():
        session = db.session
        clinic = MinimalClinic(session)
        patients = [make_contactable_patient(session, sms_opt_in=False) for _ in range(40)]
        appointments = [
            clinic.appointment(patients[n % 40], now + dt.timedelta(days=2, hours=3 * n))
            for n in range(120)
        ]
        enqueue_booking(session, appointments, now=now, settings=NO_REMINDERS)
        for n, appointment in enumerate(appointments):
            if n % 3 == 0:
                clinic.move(appointment, appointment.starts_at + dt.timedelta(days=1))
                enqueue_update(session, appointment, now=now, settings=NO_REMINDERS)
            if n % 6 == 0:
                appointment.status = AppointmentStatus.CANCELLED
                appointment.calendar_sequence += 1
                enqueue_cancellation(session, appointment, now=now)
        for name in ("Maria Kim", "Daniel Okafor"):
            weekly_shifts(session, make_staff(session, name), clinic.location)
        session.commit()
        return int(session.scalar(sa.select(sa.func.count()).select_from(Notification)) or 0)


def calendar_facts(raw: bytes) -> tuple[str, int]:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    for part in message.walk():
        if part.get_content_type() == "text/calendar":
            event = icalendar.Calendar.from_ical(part.get_payload(decode=True)).walk("VEVENT")[0]
            return str(event["UID"]), int(event["SEQUENCE"])
    raise AssertionError("no calendar part")


def claimed_by_pid(row: Notification) -> str:
    return (row.claimed_by or "::").rsplit(":", 2)[1]


def test_four_workers_a_faulty_server_and_a_kill_lose_nothing_and_keep_order(
    pg_app,  # noqa: F811 (the fixture, imported above)
    tmp_path,
):
    total = queue_work(pg_app, dt.datetime.now(dt.UTC))
    assert total == 180
    faults = Faults(rate=0.06, drop_rate=0.03, drop_after_rate=0.03, seed=7)
    with SmtpSink() as sink:
        sink.collector.faults = faults
        sink.collector.delay = 0.01  # a batch takes a while: time to be killed in it
        workers = [start_worker(pg_app, tmp_path, sink, **SETTINGS) for _ in range(4)]
        try:
            # Kill the worker that holds a batch (rows in "sending" under its pid) right now.
            victim, orphaned = None, set()
            deadline = time.monotonic() + 30
            while victim is None:
                assert time.monotonic() < deadline, "no worker was ever caught mid-batch"
                if len(sink.received) >= 5:
                    holding = defaultdict(list)
                    for row in rows(pg_app):
                        if row.status == NotificationStatus.SENDING:
                            holding[claimed_by_pid(row)].append(row.message_id)
                    for worker in workers:
                        if holding.get(str(worker.pid)):
                            worker.send_signal(signal.SIGKILL)
                            worker.wait(10)
                            victim = worker
                            break
                time.sleep(0.02)
            # What it held when it died (it may have sent some of it already).
            orphaned = {
                row.message_id
                for row in rows(pg_app)
                if row.status == NotificationStatus.SENDING
                and claimed_by_pid(row) == str(victim.pid)
            }
            assert orphaned
            deadline = time.monotonic() + 50
            while any(row.status != NotificationStatus.SENT for row in rows(pg_app)):
                assert time.monotonic() < deadline, Counter(row.status for row in rows(pg_app))
                time.sleep(0.2)
            time.sleep(0.5)  # anything extra would arrive now
        finally:
            survivors = [worker for worker in workers if worker is not victim]
            outputs = stop(survivors)
            victim_output = victim.communicate()[0] if victim is not None else ""
        received = list(sink.received)
    final = rows(pg_app)
    assert all(worker.returncode == 0 for worker in survivors), outputs
    # The faults did strike, every kind of them.
    assert {"451 MAIL", "451 RCPT", "drop MAIL", "drop after 250"} <= set(faults.struck), (
        faults.struck
    )
    # Every message delivered, none lost; duplicates only of what the killed worker held.
    arrived = Counter(
        email.message_from_bytes(item.raw, policy=email.policy.default)["Message-ID"]
        for item in received
    )
    assert set(arrived) == {row.message_id for row in final}
    twice = {message_id for message_id, count in arrived.items() if count > 1}
    assert twice <= orphaned, twice - orphaned
    # Per appointment, in the order written: SEQUENCE never goes down, at every arrival.
    sequences: dict[str, list[int]] = defaultdict(list)
    for item in received:
        uid, sequence = calendar_facts(item.raw)
        sequences[uid].append(sequence)
    assert len(sequences) == 120
    for uid, seen in sequences.items():
        assert seen == sorted(seen), (uid, seen)
    # Logs: no traceback, no scheduler noise, no job error; each shift made once.
    for output in [*outputs, victim_output]:
        assert "Traceback" not in output, output
        assert "maximum number of running instances" not in output, output
        assert "job " not in output or " failed:" not in output, output
        assert "@" not in output.replace("appointments@", ""), output
    with pg_app.app_context():
        shifts = db.session.execute(sa.select(Shift.staff_id, Shift.starts_at)).all()
    assert shifts and len(shifts) == len(set(shifts))
