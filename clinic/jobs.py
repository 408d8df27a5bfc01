"""Background jobs, declared as data and registered idempotently with stable ids.

``start(app)`` is called by ``clinic serve`` and ``clinic worker`` only, never by the web app
itself, so gunicorn workers run no scheduler.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask

from .extensions import db, scheduler

log = logging.getLogger("clinic.jobs")


@dataclass(frozen=True)
class JobSpec:
    id: str
    func: Callable[[Flask], None]
    seconds: int


def materialize_upcoming_shifts(app: Flask) -> None:
    from .scheduling.shifts import materialize_shifts

    with app.app_context():
        today = dt.datetime.now(dt.UTC).date()
        added = materialize_shifts(db.session, start=today, end=today + dt.timedelta(days=180))
        db.session.commit()
        if added:
            log.info("materialized %d shifts", added)


def job_specs(app: Flask) -> list[JobSpec]:
    return [
        JobSpec("materialize-shifts", materialize_upcoming_shifts, 6 * 3600),
    ]


def start(app: Flask) -> None:
    for spec in job_specs(app):
        scheduler.add_job(
            spec.func,
            "interval",
            seconds=spec.seconds,
            args=[app],
            id=spec.id,
            replace_existing=True,
            max_instances=1,
            coalesce=True,
            next_run_time=dt.datetime.now(dt.UTC),
        )
    if not scheduler.running:
        scheduler.start()
