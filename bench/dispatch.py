"""Benchmark the notification dispatcher against plain smtplib.

    python bench/dispatch.py --messages 2000 [--db URL] [--batch-size 50] [--json]

Both sides talk to the same local SMTP server (aiosmtpd, in a process of its own so it does
not share an interpreter with the code being timed):

- **dispatch**: ``--messages`` due email invitations are queued in a fresh database, then the
  real dispatcher (``clinic.notify.dispatcher.Dispatcher`` with the SMTP backend) claims,
  renders (text, HTML, ``.ics``), sends and records them, batch after batch, until none is
  due. Timed from the first claim to the last commit.
- **raw smtplib**: the very same messages, built and flattened beforehand (not timed), sent
  with ``smtplib.SMTP.sendmail`` over the SAME number of connections as the dispatcher
  (``--connections``, one thread each, the messages split by patient as the dispatcher
  splits them): the ceiling the dispatcher is measured against.

Each of ``--rounds`` rounds runs both sides back to back (which goes first alternates), so
both see the same load on a shared machine. Prints the median rates, each side's CPU time
per message (this process only), the SMTP server's CPU time per message during each side's
runs, and
``ratio``: the median over rounds of raw smtplib's time divided by the dispatcher's, i.e.
the dispatcher's throughput as a share of raw smtplib's (or one JSON line with ``--json``,
which states ``connections`` and ``raw_connections``). The database is a temporary SQLite
file by default; with ``--db postgresql://...`` a scratch database is created on that
server and dropped afterwards (the outbox is vacuumed before each round, untimed).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import json
import multiprocessing
import os
import pstats
import smtplib
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from clinic import create_app  # noqa: E402
from clinic.catalog import IV_KETAMINE  # noqa: E402
from clinic.config import normalise_database_url  # noqa: E402
from clinic.extensions import db  # noqa: E402
from clinic.models import (  # noqa: E402
    Appointment,
    Chair,
    Location,
    Notification,
    NotificationStatus,
    Patient,
    Staff,
)
from clinic.models.booking import new_calendar_uid  # noqa: E402
from clinic.notify.context import message_context  # noqa: E402
from clinic.notify.dispatcher import Dispatcher, dispatch_settings_from_config  # noqa: E402
from clinic.notify.mail import SmtpEmailBackend, build_email  # noqa: E402
from clinic.notify.sms import FileSmsBackend  # noqa: E402

SENDER = "Ketamine Clinic <appointments@clinic.example>"


# --- the SMTP server -------------------------------------------------------------------


def serve_smtp(port: int, ready: Any, received: Any) -> None:
    """Child process: an aiosmtpd server that counts what it accepts."""
    import warnings

    warnings.simplefilter("ignore")
    from aiosmtpd.controller import Controller

    class Counter:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            with received.get_lock():
                received.value += 1
            return "250 OK"

    controller = Controller(Counter(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


def process_cpu(pid: int | None) -> float:
    """CPU seconds a process has used so far (Linux; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- the database ----------------------------------------------------------------------


def scratch_database(url: str | None, folder: Path) -> tuple[str, Any]:
    """A fresh database URL and a function that removes it."""
    if not url:
        return f"sqlite:///{folder / 'bench.db'}", lambda: None
    server = sa.make_url(normalise_database_url(url))
    name = f"clinic_bench_dispatch_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    return server.set(database=name).render_as_string(hide_password=False), drop


def seed(count: int, now: dt.datetime) -> None:
    """``count`` sessions, each with an email invitation due now (bulk Core inserts)."""
    session = db.session
    location = Location(
        name="Riverside",
        address="120 River Street, Hoboken, NJ 07030",
        email="appointments@riverside.example",
        phone="+12015550100",
        timezone="America/New_York",
    )
    chair = Chair(location=location, label="IV 1", capabilities=["iv"])
    nurse = Staff(name="Maria Kim", role="nurse")
    treatment = IV_KETAMINE.to_model()
    patients = [
        Patient(
            mrn=f"B{n:05d}",
            given_name="Olivia",
            family_name=f"Garcia{n}",
            date_of_birth=dt.date(1980, 1, 2),
            email=f"olivia{n}@example.com",
        )
        for n in range(max(1, count // 10))
    ]
    session.add_all([location, chair, nurse, treatment, *patients])
    session.flush()
    appointments = []
    for n in range(count):
        starts = now + dt.timedelta(days=1, hours=3 * n)
        treatment_ends, ends, busy_until = treatment.windows(starts)
        appointments.append(
            {
                "patient_id": patients[n % len(patients)].id,
                "treatment_type_id": treatment.id,
                "location_id": location.id,
                "chair_id": chair.id,
                "monitor_id": nurse.id,
                "starts_at": starts,
                "treatment_ends_at": treatment_ends,
                "ends_at": ends,
                "busy_until": busy_until,
                "status": "booked",
                "escort_name": "Sam Garcia",
                "calendar_uid": new_calendar_uid(),
                "calendar_sequence": 0,
                "created_at": now,
                "updated_at": now,
            }
        )
    ids = session.scalars(sa.insert(Appointment).returning(Appointment.id), appointments).all()
    session.execute(
        sa.insert(Notification),
        [
            {
                "appointment_id": appointment_id,
                "kind": "invite",
                "channel": "email",
                "due_at": now,
                "status": "pending",
                "attempts": 0,
                "idempotency_key": f"appt:{appointment_id}:seq:0:invite:email",
                "message_id": f"<bench.{appointment_id}.{uuid.uuid4().hex[:12]}@riverside.example>",
                "calendar_sequence": 0,
                "payload": {},
                "created_at": now,
            }
            for appointment_id in ids
        ],
    )
    session.commit()


RawMessage = tuple[int, str, str, bytes]  # patient id, envelope sender, recipient, bytes


def build_raw_messages(config: dict[str, Any], now: dt.datetime) -> list[RawMessage]:
    """The same messages the dispatcher sent, flattened to bytes (not timed)."""
    settings = dispatch_settings_from_config(config)
    rows = db.session.scalars(sa.select(Notification).order_by(Notification.id)).all()
    messages = []
    for row in rows:
        context = message_context(row, clinic_name=settings.clinic_name)
        message = build_email(context, sender=settings.sender, now=now)
        messages.append(
            (row.appointment.patient_id, message.envelope_from, message.recipients[0], message.data)
        )
    db.session.rollback()
    return messages


# --- the run ---------------------------------------------------------------------------


def time_dispatch(config: dict[str, Any], port: int, tmp: Path) -> tuple[float, int]:
    dispatcher = Dispatcher(
        settings=dispatch_settings_from_config(config),
        email_backend=SmtpEmailBackend(
            host="127.0.0.1",
            port=port,
            security="none",
            timeout=30,
            envelope_sender="appointments@clinic.example",
        ),
        sms_backend=FileSmsBackend(tmp / "sms"),
        worker="bench",
    )
    started = time.perf_counter()
    totals = dispatcher.run(db.session(), clock=lambda: dt.datetime.now(dt.UTC))
    elapsed = time.perf_counter() - started
    return elapsed, totals.sent


def raw_shares(messages: list[RawMessage], connections: int) -> list[list[RawMessage]]:
    """Split by patient into equal shares, as the dispatcher splits a batch."""
    groups: dict[int, list[RawMessage]] = {}
    for message in messages:
        groups.setdefault(message[0], []).append(message)
    shares: list[list[RawMessage]] = [[] for _ in range(connections)]
    for group in sorted(groups.values(), key=len, reverse=True):
        min(shares, key=len).extend(group)
    return [share for share in shares if share]


def send_share(share: list[RawMessage], port: int) -> None:
    client = smtplib.SMTP("127.0.0.1", port, timeout=30)
    for _, sender, to, data in share:
        client.sendmail(sender, [to], data)
    client.quit()


def time_raw_smtp(messages: list[RawMessage], port: int, connections: int) -> float:
    shares = raw_shares(messages, connections)
    started = time.perf_counter()
    threads = [threading.Thread(target=send_share, args=(share, port)) for share in shares]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def tidy_queue() -> None:
    """On PostgreSQL, vacuum and analyse the outbox before a round (not timed): every
    round updates each row three times, and a real queue has autovacuum."""
    if db.engine.dialect.name != "postgresql":
        return
    db.session.remove()
    with db.engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
            "VACUUM ANALYZE notification"
        )


def requeue_all() -> None:
    """Put every notification back in the queue for another round (not timed)."""
    db.session.execute(
        sa.update(Notification).values(
            status=NotificationStatus.PENDING,
            attempts=0,
            sent_at=None,
            claimed_at=None,
            claimed_by=None,
            due_at=dt.datetime.now(dt.UTC),
        )
    )
    db.session.commit()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--db", default="", help="PostgreSQL server URL (default: SQLite)")
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument(
        "--connections",
        type=int,
        default=1,
        help="SMTP connections, for the dispatcher and raw smtplib alike (default 1)",
    )
    parser.add_argument(
        "--rounds", type=int, default=5, help="rounds, each one dispatch run and one raw run"
    )
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the last dispatch round (to stderr)"
    )
    args = parser.parse_args(argv)

    context = multiprocessing.get_context("spawn")
    received = context.Value("i", 0)
    ready = context.Event()
    port = free_port()
    server = context.Process(target=serve_smtp, args=(port, ready, received), daemon=True)
    server.start()
    if not ready.wait(30):
        raise SystemExit("the SMTP server did not start")

    dispatch_times: list[float] = []
    raw_times: list[float] = []
    dispatch_cpu: list[float] = []
    raw_cpu: list[float] = []
    dispatch_server_cpu: list[float] = []  # the SMTP server's, while each side ran
    raw_server_cpu: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        url, drop = scratch_database(args.db, tmp)
        config = {
            "SECRET_KEY": "benchmark-secret-not-for-production-use",
            "DATABASE_URL": url,
            "INSTANCE_PATH": str(tmp),
            "DISPATCH_BATCH_SIZE": args.batch_size,
            "DISPATCH_CONNECTIONS": args.connections,
            "LOG_LEVEL": "WARNING",
        }
        app = create_app(config)
        try:
            with app.app_context():
                from flask_migrate import upgrade

                upgrade()
                now = dt.datetime.now(dt.UTC)
                seed(args.messages, now)
                raw_messages = build_raw_messages(dict(app.config), now)

                def dispatch_round() -> None:
                    tidy_queue()
                    before = received.value
                    profiler = cProfile.Profile() if args.profile else None
                    if profiler is not None:
                        profiler.enable()
                    cpu, server_cpu = time.process_time(), process_cpu(server.pid)
                    seconds, sent = time_dispatch(dict(app.config), port, tmp)
                    dispatch_cpu.append(time.process_time() - cpu)
                    dispatch_server_cpu.append(process_cpu(server.pid) - server_cpu)
                    if profiler is not None:
                        profiler.disable()
                        stats = pstats.Stats(profiler, stream=sys.stderr)
                        stats.sort_stats("tottime").print_stats(25)
                    unsent = db.session.scalar(
                        sa.select(sa.func.count()).where(
                            Notification.status != NotificationStatus.SENT
                        )
                    )
                    if sent != args.messages or received.value - before != args.messages or unsent:
                        raise SystemExit(
                            f"dispatch sent {sent}, the server received "
                            f"{received.value - before}, {unsent} not marked sent"
                        )
                    dispatch_times.append(seconds)
                    requeue_all()

                def raw_round() -> None:
                    before = received.value
                    cpu, server_cpu = time.process_time(), process_cpu(server.pid)
                    raw_times.append(time_raw_smtp(raw_messages, port, args.connections))
                    raw_cpu.append(time.process_time() - cpu)
                    raw_server_cpu.append(process_cpu(server.pid) - server_cpu)
                    if received.value - before != len(raw_messages):
                        raise SystemExit("raw smtplib: the server did not receive every message")

                for round_number in range(args.rounds):
                    # Alternate which side goes first, so a drift in the machine's load
                    # does not always favour the same side.
                    first, second = (
                        (dispatch_round, raw_round)
                        if round_number % 2 == 0
                        else (raw_round, dispatch_round)
                    )
                    first()
                    second()
                db.session.remove()
                db.engine.dispose()
        finally:
            drop()
    server.terminate()
    server.join(10)

    # Each round's pair ran back to back under the same load: the ratio is the median of
    # the rounds' ratios, the rates are medians too.
    ratios = [raw / dispatch for raw, dispatch in zip(raw_times, dispatch_times, strict=True)]
    dispatch_rate = args.messages / statistics.median(dispatch_times)
    raw_rate = len(raw_messages) / statistics.median(raw_times)
    result = {
        "messages": args.messages,
        "database": "postgresql" if args.db else "sqlite",
        "batch_size": args.batch_size,
        "connections": args.connections,
        "raw_connections": len(raw_shares(raw_messages, args.connections)),
        "rounds": args.rounds,
        "dispatch_seconds": [round(t, 3) for t in dispatch_times],
        "raw_smtp_seconds": [round(t, 3) for t in raw_times],
        "round_ratios": [round(r, 3) for r in ratios],
        "dispatch_per_s": round(dispatch_rate, 1),
        "raw_smtp_per_s": round(raw_rate, 1),
        # CPU of this process only (the SMTP server runs in its own), per message.
        "dispatch_cpu_ms": round(1000 * statistics.median(dispatch_cpu) / args.messages, 3),
        "raw_smtp_cpu_ms": round(1000 * statistics.median(raw_cpu) / len(raw_messages), 3),
        "server_cpu_ms": [
            round(1000 * statistics.median(dispatch_server_cpu) / args.messages, 3),
            round(1000 * statistics.median(raw_server_cpu) / len(raw_messages), 3),
        ],
        "ratio": round(statistics.median(ratios), 3),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"{args.messages} emails on {result['database']} (batch {args.batch_size}, "
            f"{args.connections} SMTP connection(s) each side, medians of {args.rounds} "
            "alternating rounds):\n"
            f"  dispatcher  {dispatch_rate:8.1f} msg/s  {result['dispatch_seconds']} s, "
            f"{result['dispatch_cpu_ms']} ms CPU a message\n"
            f"  raw smtplib {raw_rate:8.1f} msg/s  {result['raw_smtp_seconds']} s, "
            f"{result['raw_smtp_cpu_ms']} ms CPU a message\n"
            f"  ratio       {result['ratio']:8.3f}  (median of {result['round_ratios']}; "
            "target >= 0.9)\n"
            f"  SMTP server {result['server_cpu_ms']} ms CPU a message (dispatch, raw)"
        )
    return result


if __name__ == "__main__":
    main()
