"""Several worker processes against one PostgreSQL queue: nothing lost, nothing doubled, and
a worker killed mid-batch loses nothing either."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from clinic import create_app
from clinic.extensions import db
from clinic.models import Notification, NotificationStatus
from tests.builders import due_emails
from tests.notify.smtp_sink import SmtpSink
from tests.testapp import base_config, truncate_all

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

CLINIC = os.path.join(os.path.dirname(sys.executable), "clinic")


@pytest.fixture
def pg_app(postgres_database: str, tmp_path: Path) -> Iterator[Flask]:
    truncate_all(postgres_database)
    app = create_app(base_config(postgres_database, tmp_path))
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def start_worker(app: Flask, tmp_path: Path, sink: SmtpSink, **settings: str) -> subprocess.Popen:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CLINIC_")}
    env.update(
        CLINIC_SECRET_KEY="testing-secret-not-for-production-workers",
        CLINIC_DATABASE_URL=app.config["DATABASE_URL"],
        CLINIC_INSTANCE_PATH=str(tmp_path),
        CLINIC_MAIL_BACKEND="smtp",
        CLINIC_MAIL_SMTP_HOST="127.0.0.1",
        CLINIC_MAIL_SMTP_PORT=str(sink.port),
        CLINIC_MAIL_SMTP_SECURITY="none",
        CLINIC_MAIL_SMTP_TIMEOUT="10",
        CLINIC_DISPATCH_INTERVAL_SECONDS="1",
        **{f"CLINIC_{key.upper()}": value for key, value in settings.items()},
    )
    return subprocess.Popen(
        [CLINIC, "worker"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def stop(workers: list[subprocess.Popen]) -> list[str]:
    outputs = []
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            outputs.append(worker.communicate(timeout=20)[0])
        except subprocess.TimeoutExpired:
            worker.kill()
            outputs.append(worker.communicate()[0])
    return outputs


def wait_for(condition, *, timeout: float, workers: list[subprocess.Popen]) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.1)


def rows(app: Flask) -> list[Notification]:
    with app.app_context():
        result = db.session.scalars(sa.select(Notification)).all()
        db.session.expunge_all()
        return list(result)


def test_four_workers_deliver_a_thousand_messages_exactly_once(pg_app, tmp_path):
    with pg_app.app_context():
        # Real time: the workers are processes of their own, on the system clock.
        ids = due_emails(db.session, 1000, now=dt.datetime.now(dt.UTC))
    assert len(ids) == 1000
    with SmtpSink() as sink:
        workers = [start_worker(pg_app, tmp_path, sink, dispatch_batch_size="20") for _ in range(4)]
        try:
            wait_for(lambda: len(sink.received) >= 1000, timeout=50, workers=workers)
            time.sleep(0.5)  # anything extra would arrive now
        finally:
            outputs = stop(workers)
        message_ids = Counter(message["Message-ID"] for message in sink.collector.messages())
    assert all(worker.returncode == 0 for worker in workers), outputs
    assert len(message_ids) == 1000
    assert max(message_ids.values()) == 1, "a message arrived twice"
    final = rows(pg_app)
    assert {row.status for row in final} == {NotificationStatus.SENT}
    assert set(message_ids) == {row.message_id for row in final}
    # The work was shared: several processes claimed rows.
    claimers = Counter(row.claimed_by.rsplit(":", 2)[1] for row in final)
    assert len(claimers) >= 2, claimers


def test_a_worker_killed_mid_batch_loses_nothing(pg_app, tmp_path):
    with pg_app.app_context():
        # Real time, as above: the worker processes read the system clock.
        due_emails(db.session, 200, now=dt.datetime.now(dt.UTC))
    settings = {"dispatch_batch_size": "50", "dispatch_claim_timeout_seconds": "3"}
    with SmtpSink() as sink:
        sink.collector.delay = 0.02  # a batch of 50 takes a second: time to kill mid-way
        doomed = start_worker(pg_app, tmp_path, sink, **settings)
        survivors: list[subprocess.Popen] = []
        try:
            wait_for(lambda: len(sink.received) >= 10, timeout=30, workers=[doomed])
            doomed.send_signal(signal.SIGKILL)
            doomed.wait(timeout=10)
            orphaned = [
                row
                for row in rows(pg_app)
                if row.status == NotificationStatus.SENDING
                and row.claimed_by.rsplit(":", 2)[1] == str(doomed.pid)
            ]
            assert orphaned, "the worker was not killed mid-batch"
            sink.collector.delay = 0
            survivors.append(start_worker(pg_app, tmp_path, sink, **settings))
            wait_for(
                lambda: all(row.status == NotificationStatus.SENT for row in rows(pg_app)),
                timeout=40,
                workers=survivors,
            )
        finally:
            outputs = stop(survivors)
            doomed.communicate()
        arrived = Counter(message["Message-ID"] for message in sink.collector.messages())
    assert all(worker.returncode == 0 for worker in survivors), outputs
    final = rows(pg_app)
    assert len(final) == 200
    # Every message arrived; those the killed worker had sent but not recorded came twice,
    # with the same Message-ID (at-least-once delivery, recognisably the same message).
    assert set(arrived) == {row.message_id for row in final}
    assert sum(arrived.values()) - len(arrived) <= len(orphaned)
    resent = {row.message_id for row in orphaned}
    assert all(arrived[message_id] >= 1 for message_id in resent)
