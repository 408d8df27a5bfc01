"""Where the dispatcher runs: `clinic serve` (once, in-process), `clinic worker` (foreground,
stops on SIGTERM), and never inside the web app itself."""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask
from werkzeug.serving import BaseWSGIServer

from clinic import create_app, jobs
from clinic.extensions import db, scheduler
from clinic.models import Notification, NotificationStatus
from tests.notify.test_dispatcher import book
from tests.testapp import base_config


@pytest.fixture
def fresh_scheduler(monkeypatch):
    """A scheduler of this test's own in place of the process-wide one."""
    own = BackgroundScheduler(timezone="UTC")
    monkeypatch.setattr(jobs, "scheduler", own)
    yield own
    if own.running:
        own.shutdown(wait=True)


def test_the_web_app_never_starts_the_scheduler(tmp_path):
    app = create_app(base_config(f"sqlite:///{tmp_path / 'web.db'}", tmp_path))
    app.test_client().get("/healthz")
    assert not scheduler.running
    assert scheduler.get_jobs() == []


def test_jobs_have_stable_ids_an_interval_from_config_and_a_memory_store(
    app, fresh_scheduler, monkeypatch
):
    app.config["DISPATCH_INTERVAL_SECONDS"] = 3
    jobs.start(app)
    jobs.start(app)  # a second call replaces, never duplicates
    by_id = {job.id: job for job in fresh_scheduler.get_jobs()}
    assert set(by_id) == {
        "materialize-shifts",
        "prune-login-records",
        "dispatch-notifications",
        "deliver-webhooks",
        "prune-webhook-log",
    }
    assert by_id["dispatch-notifications"].trigger.interval == dt.timedelta(seconds=3)
    # Two instances, of which the second returns at once while the first still runs
    # (jobs.guarded): no "maximum number of running instances" warning during a long drain.
    assert by_id["dispatch-notifications"].max_instances == 2
    assert isinstance(fresh_scheduler._lookup_jobstore("default"), MemoryJobStore)


def test_a_missed_run_is_logged(app, fresh_scheduler, caplog):
    app.config["DISPATCH_INTERVAL_SECONDS"] = 3600
    jobs.register_jobs(app, fresh_scheduler)
    fresh_scheduler.start(paused=True)
    # As if the process had been suspended through the run that was due 30 seconds ago
    # (real time: APScheduler fires and judges misfires by the system clock).
    fresh_scheduler.modify_job(
        "dispatch-notifications", next_run_time=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=30)
    )
    with caplog.at_level(logging.WARNING, logger="clinic.jobs"):
        fresh_scheduler.resume()
        deadline = time.monotonic() + 5
        while "missed its run" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.05)
    assert "job dispatch-notifications missed its run" in caplog.text


def test_serve_starts_the_dispatcher_once_without_a_reloader(
    app, runner, fresh_scheduler, monkeypatch
):
    calls = []

    def fake_serve_forever(server: BaseWSGIServer, *args: object, **options: object) -> None:
        calls.append(server)
        # While the server would be running: the dispatcher job is scheduled, once.
        ids = [job.id for job in fresh_scheduler.get_jobs()]
        assert ids.count("dispatch-notifications") == 1
        assert fresh_scheduler.running

    # A stand-in for the HTTP server's loop only: serve binds a real socket (port 0: any
    # free one) and never forks a reloader, which would run the dispatcher twice.
    monkeypatch.setattr(BaseWSGIServer, "serve_forever", fake_serve_forever)
    result = runner.invoke(args=["serve", "--port", "0"])
    assert result.exit_code == 0, result.output
    assert len(calls) == 1
    calls[0].server_close()


def worker_env(app: Flask, tmp_path: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CLINIC_")}
    env.update(
        CLINIC_SECRET_KEY="testing-secret-not-for-production-worker",
        CLINIC_DATABASE_URL=app.config["DATABASE_URL"],
        CLINIC_INSTANCE_PATH=str(tmp_path),
        CLINIC_OUTBOX_DIR=str(tmp_path / "outbox"),
        CLINIC_MAIL_BACKEND="file",
        CLINIC_SMS_BACKEND="file",
        CLINIC_DISPATCH_INTERVAL_SECONDS="1",
    )
    return env


@pytest.mark.slow
def test_worker_command_dispatches_and_stops_cleanly_on_sigterm(app, tmp_path):
    with app.app_context():
        book(db.session, 3, sms_opt_in=False, days=30)
        # Real time: the worker is a process of its own, on the system clock.
        db.session.execute(sa.update(Notification).values(due_at=dt.datetime.now(dt.UTC)))
        db.session.commit()
    clinic = os.path.join(os.path.dirname(sys.executable), "clinic")
    process = subprocess.Popen(
        [clinic, "worker"],
        env=worker_env(app, tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        mail = tmp_path / "outbox" / "mail"
        while len(list(mail.glob("*.eml"))) < 3:
            assert process.poll() is None, process.communicate()[0]
            assert time.monotonic() < deadline, "the worker sent nothing"
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, output
    assert "Worker stopped." in output
    with app.app_context():
        sent = db.session.scalars(sa.select(Notification.status)).all()
    assert sent == [NotificationStatus.SENT] * 3


def test_a_failing_job_is_logged_by_type_only_and_never_as_a_traceback(caplog):
    def leaky(app: Flask) -> None:
        raise ValueError("INSERT ... olivia.garcia@example.com")

    run = jobs.guarded(jobs.JobSpec("leaky", leaky, 60))
    with caplog.at_level(logging.DEBUG):
        run(None)  # type: ignore[arg-type]
    assert "job leaky failed: ValueError" in caplog.text
    assert "olivia" not in caplog.text
    assert all(record.exc_info is None for record in caplog.records)


def test_a_run_that_finds_the_previous_one_still_going_returns_at_once():
    import threading

    release = threading.Event()
    calls = []

    def slow(app: Flask) -> None:
        calls.append("run")
        release.wait(5)

    run = jobs.guarded(jobs.JobSpec("slow", slow, 1))
    first = threading.Thread(target=run, args=(None,))
    first.start()
    while not calls:
        time.sleep(0.01)
    started = time.monotonic()
    run(None)  # type: ignore[arg-type]
    assert time.monotonic() - started < 1
    release.set()
    first.join()
    assert calls == ["run"]


def test_workers_materialising_shifts_at_the_same_moment_add_each_shift_once(app, clock, caplog):
    """Four workers' start-up runs at once (threads, each with its own session)."""
    import threading

    from clinic.models import Shift
    from tests.builders import make_location, make_staff, weekly_shifts

    with app.app_context():
        location = make_location(db.session)
        for name in ("Maria Kim", "Daniel Okafor", "Priya Natarajan"):
            weekly_shifts(db.session, make_staff(db.session, name=name), location)
        db.session.commit()
    run = jobs.guarded(jobs.JobSpec("materialize-shifts", jobs.materialize_upcoming_shifts, 60))
    jobs._running.pop("materialize-shifts", None)  # noqa: SLF001
    barrier = threading.Barrier(4)

    def worker() -> None:
        barrier.wait()
        # Each "process" has its own guard: only the database can keep them apart.
        jobs._running.pop("materialize-shifts", None)  # noqa: SLF001
        jobs.guarded(jobs.JobSpec("materialize-shifts", jobs.materialize_upcoming_shifts, 60))(app)

    with caplog.at_level(logging.DEBUG, logger="clinic.jobs"):
        threads = [threading.Thread(target=worker) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert "failed" not in caplog.text
    with app.app_context():
        starts = db.session.execute(sa.select(Shift.staff_id, Shift.starts_at)).all()
    assert starts and len(starts) == len(set(starts))
    run(app)  # and again later: nothing more to add
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Shift)) == len(starts)
