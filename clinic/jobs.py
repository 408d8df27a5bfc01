"""Background jobs, declared as data and registered idempotently with stable ids.

``start(app)`` is called by ``clinic serve`` (in-process, background thread) and
``run_worker(app)`` by ``clinic worker`` (foreground), never by the web app itself, so
gunicorn workers run no scheduler. Jobs read the app's clock (``clinic.clock``), so a test
that sets it runs them at that instant. The job store is APScheduler's in-memory one: jobs are
code, and everything that must survive a restart lives in the Notification table.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType

import sqlalchemy as sa
from apscheduler.events import EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from . import clock
from .extensions import db, scheduler

log = logging.getLogger("clinic.jobs")


@dataclass(frozen=True)
class JobSpec:
    id: str
    func: Callable[[Flask], None]
    seconds: int


# pg_try_advisory_xact_lock key for the shift job (the one-argument form: booking's
# per-location-and-day locks use the two-argument form, a separate key space).
SHIFTS_LOCK_KEY = 0x636C696E6963_0001


class AlreadyRunning(Exception):
    """Another process is doing this job right now: not an error, nothing to do."""


def materialize_upcoming_shifts(app: Flask) -> None:
    """Expand the weekly shift templates. Every worker runs this at start-up; one does the
    work: on PostgreSQL whoever takes the advisory lock (the others skip), on SQLite the
    IMMEDIATE transaction makes the read and the inserts one step. Should anything else
    (``clinic seed-demo``, an admin saving a template) insert the same shifts meanwhile,
    the unique key refuses the second copy and this run simply stops: they exist."""
    from .scheduling.shifts import SHIFT_HORIZON_DAYS, materialize_shifts

    with app.app_context():
        session = db.session()
        today = clock.now().date()
        try:
            if session.get_bind().dialect.name == "postgresql" and not session.scalar(
                sa.text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": SHIFTS_LOCK_KEY}
            ):
                raise AlreadyRunning
            added = materialize_shifts(
                session, start=today, end=today + dt.timedelta(days=SHIFT_HORIZON_DAYS)
            )
            session.commit()
        except sa.exc.IntegrityError:
            session.rollback()
            raise AlreadyRunning from None
        finally:
            session.rollback()  # the lock, or a failed transaction, ends here
        if added:
            log.info("materialized %d shifts", added)


# Login records are only needed for throttling and open sessions; the audit trail keeps
# the history of who logged in.
LOGIN_RECORDS_KEPT = dt.timedelta(days=90)


def prune_login_records(app: Flask) -> None:
    from .accounts.login import prune_login_attempts
    from .accounts.sessions import prune_login_sessions
    from .api.idempotency import prune_idempotency_keys

    with app.app_context():
        now = clock.now()
        removed = prune_login_sessions(db.session(), now=now, keep=LOGIN_RECORDS_KEPT)
        removed += prune_login_attempts(db.session(), now=now, keep=LOGIN_RECORDS_KEPT)
        # Stored API answers for Idempotency-Key retries live 24 h.
        removed += prune_idempotency_keys(db.session(), now=now)
        db.session.commit()
        if removed:
            log.info("pruned %d old login records and stored API answers", removed)


# Set on shutdown: a dispatch run in progress stops after its current batch.
stopping = threading.Event()


def dispatch_notifications(app: Flask) -> None:
    """Send every due notification (batch after batch until none is due)."""
    from .notify.dispatcher import Dispatcher, dispatch_settings_from_config
    from .notify.mail import email_backend_from_config
    from .notify.sms import sms_backend_from_config

    with app.app_context():
        dispatcher = app.extensions.get("clinic.dispatcher")
        if dispatcher is None:
            # Built once per process, so the worker name on its claims stays the same.
            dispatcher = Dispatcher(
                settings=dispatch_settings_from_config(app.config),
                email_backend=email_backend_from_config(
                    app.config, instance_path=app.instance_path
                ),
                sms_backend=sms_backend_from_config(app.config, instance_path=app.instance_path),
            )
            app.extensions["clinic.dispatcher"] = dispatcher
        try:
            dispatcher.run(db.session(), clock=clock.app_clock(app), stop=stopping)
        except Exception as error:
            # The type only: database errors can quote parameters holding patient data.
            log.error("dispatch run failed: %s", type(error).__name__)
        finally:
            db.session.remove()


def deliver_webhooks(app: Flask) -> None:
    """Deliver every due webhook (batch after batch until none is due)."""
    from .webhooks.delivery import Deliverer, HttpSender, delivery_settings_from_config

    with app.app_context():
        deliverer = app.extensions.get("clinic.webhooks")
        if deliverer is None:
            # Built once per process, so the worker name on its claims stays the same.
            settings = delivery_settings_from_config(app.config)
            deliverer = Deliverer(
                settings=settings,
                sender=HttpSender(settings=settings),
                app_secret_key=str(app.config["SECRET_KEY"]),
            )
            app.extensions["clinic.webhooks"] = deliverer
        try:
            deliverer.run(db.session(), clock=clock.app_clock(app), stop=stopping)
        except Exception as error:
            log.error("webhook run failed: %s", type(error).__name__)
        finally:
            db.session.remove()


def prune_webhook_log(app: Flask) -> None:
    from .webhooks.delivery import prune_delivered

    with app.app_context():
        removed = prune_delivered(db.session(), now=clock.now())
        db.session.commit()
        if removed:
            log.info("pruned %d old webhook deliveries", removed)


def job_specs(app: Flask) -> list[JobSpec]:
    return [
        JobSpec("materialize-shifts", materialize_upcoming_shifts, 6 * 3600),
        JobSpec("prune-login-records", prune_login_records, 24 * 3600),
        JobSpec(
            "dispatch-notifications",
            dispatch_notifications,
            int(app.config.get("DISPATCH_INTERVAL_SECONDS", 5)),
        ),
        JobSpec("prune-webhook-log", prune_webhook_log, 24 * 3600),
        JobSpec(
            "deliver-webhooks",
            deliver_webhooks,
            int(app.config.get("WEBHOOKS_INTERVAL_SECONDS", 5)),
        ),
    ]


_running: dict[str, threading.Lock] = {}


def guarded(spec: JobSpec) -> Callable[[Flask], None]:
    """The job as the scheduler runs it.

    - A run that finds the previous one still going (a long drain of the queue) returns at
      once. The scheduler allows two instances so that it never gets to log "maximum number
      of running instances reached" at every interval; this lock keeps it to one run.
    - A run that another process is already doing (``AlreadyRunning``) is not an error.
    - Any other failure is logged with its type only, like the dispatcher's: an exception's
      text or traceback can quote SQL parameters holding patient data.
    """
    lock = _running.setdefault(spec.id, threading.Lock())

    def run(app: Flask) -> None:
        if not lock.acquire(blocking=False):
            log.debug("job %s: the previous run is still going", spec.id)
            return
        try:
            spec.func(app)
        except AlreadyRunning:
            log.debug("job %s: another process is doing it", spec.id)
        except Exception as error:
            log.error("job %s failed: %s", spec.id, type(error).__name__)
        finally:
            lock.release()

    run.__name__ = run.__qualname__ = f"guarded_{spec.func.__name__}"
    return run


def log_missed_run(event: JobExecutionEvent) -> None:
    log.warning(
        "job %s missed its run at %s (the process was busy or suspended)",
        event.job_id,
        event.scheduled_run_time,
    )


_listened: weakref.WeakSet[BaseScheduler] = weakref.WeakSet()


def register_jobs(app: Flask, target: BaseScheduler) -> None:
    """Add every job to ``target``; running it again replaces them (stable ids)."""
    if target not in _listened:
        target.add_listener(log_missed_run, EVENT_JOB_MISSED)
        _listened.add(target)
    for spec in job_specs(app):
        target.add_job(
            guarded(spec),
            "interval",
            seconds=spec.seconds,
            args=[app],
            id=spec.id,
            name=spec.id,
            replace_existing=True,
            # Two, so that a tick during a long run starts one that returns at once
            # (see guarded) instead of a warning; coalesce folds a backlog into one run.
            max_instances=2,
            coalesce=True,
            # APScheduler runs on the real clock, whatever the app clock says.
            next_run_time=dt.datetime.now(dt.UTC),
        )


def start(app: Flask) -> None:
    """Run the jobs in a background thread of this process (``clinic serve``)."""
    stopping.clear()
    register_jobs(app, scheduler)
    if not scheduler.running:
        scheduler.start()


def run_worker(app: Flask) -> None:
    """Run the jobs in the foreground until SIGTERM or SIGINT (``clinic worker``).

    On a signal the scheduler stops taking new runs, a dispatch run in progress finishes its
    current batch, and the call returns.
    """
    stopping.clear()
    foreground = BlockingScheduler(timezone="UTC")
    register_jobs(app, foreground)
    stopper: list[threading.Thread] = []

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        if stopper:
            return
        log.info("worker stopping on %s", signal.Signals(signum).name)
        stopping.set()
        # Shut down from another thread: the handler interrupts the scheduler's own loop.
        thread = threading.Thread(target=foreground.shutdown, name="worker-shutdown")
        stopper.append(thread)
        thread.start()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        log.info("worker started: %s", ", ".join(spec.id for spec in job_specs(app)))
        foreground.start()
    finally:
        for thread in stopper:
            thread.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        with app.app_context():
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()
    log.info("worker stopped")
