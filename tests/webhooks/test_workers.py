"""Two workers side by side on PostgreSQL (``FOR UPDATE SKIP LOCKED``) against a receiver that
fails now and then: every event arrives, each resource's events in order."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from clinic.extensions import db
from clinic.webhooks import EventType, emit
from tests.builders import NOW, MinimalClinic
from tests.webhooks.conftest import make_deliverer, register

RESOURCES, EVENTS_EACH = 4, 5


@pytest.mark.postgres_only
def test_two_workers_deliver_everything_in_order_per_resource(app, clock, receiver):
    with app.app_context():
        session = db.session
        register(session, app, receiver.url)
        clinic = MinimalClinic(session)
        appointments = [
            clinic.appointment(clinic.patient(), NOW + dt.timedelta(days=n))
            for n in range(RESOURCES)
        ]
        for _ in range(EVENTS_EACH):
            emit(session, EventType.APPOINTMENT_RESCHEDULED, appointments, now=NOW)
        session.commit()
        ids = [a.id for a in appointments]
    # Every third request fails: the receiver saw it, the worker retries it later.
    receiver.answers = [500 if n % 3 == 2 else 200 for n in range(200)]
    workers = [make_deliverer(app, connections=2, batch_size=3) for _ in range(2)]
    for index, worker in enumerate(workers):
        worker.worker = f"worker-{index}"

    def run(worker) -> None:
        with app.app_context():
            worker.run(db.session(), clock=clock)
            db.session.remove()

    for _ in range(12):  # rounds: each waits out the backoff of the last
        threads = [threading.Thread(target=run, args=(worker,)) for worker in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        clock.advance(dt.timedelta(hours=2))
    accepted = [r.event for r in receiver.received if r.answered == 200]
    assert len(accepted) == RESOURCES * EVENTS_EACH
    assert len({event["id"] for event in accepted}) == RESOURCES * EVENTS_EACH
    for resource_id in ids:
        # Every request about the resource, failed ones included, in version order.
        versions = [
            r.event["resource"]["version"]
            for r in receiver.received
            if r.event["resource"]["id"] == resource_id
        ]
        assert versions == sorted(versions) and set(versions) == set(range(1, EVENTS_EACH + 1))
    assert all(r.signed for r in receiver.received)
