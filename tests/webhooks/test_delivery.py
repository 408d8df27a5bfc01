"""Delivery to a real HTTP receiver on loopback: signed, in order per resource, retried with
backoff, at least once with the same event id, and sent again on request."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from clinic import jobs
from clinic.models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from clinic.patients.service import create_patient
from clinic.patients.validation import PatientInput
from clinic.webhooks import EventType, emit, endpoints
from clinic.webhooks.delivery import claim_due, send_one
from clinic.webhooks.payload import WebhookPayload
from tests.builders import ACTOR, NOW, add_session, build_world
from tests.webhooks.conftest import ADMIN, SECRET, make_deliverer, register


@pytest.fixture
def world(session):
    return build_world(session, patients=2)


def booked_session(session, world, patient_index=0):
    appointment = add_session(
        session,
        world,
        patient=world.patients[patient_index],
        chair=world.chairs[patient_index],
        starts_at=NOW + dt.timedelta(days=2),
    )
    emit(session, EventType.APPOINTMENT_BOOKED, appointment, now=NOW)
    session.commit()
    return appointment


def delivery_rows(session):
    session.expire_all()
    return session.scalars(sa.select(WebhookDelivery).order_by(WebhookDelivery.id)).all()


def test_a_delivery_is_signed_and_names_the_resource_only(session, app, clock, receiver):
    register(session, app, receiver.url)
    patient = create_patient(
        session,
        data=PatientInput(
            mrn="WH-7", given_name="Ada", family_name="Webb", date_of_birth="1980-05-01"
        ),
        actor=ACTOR,
        now=NOW,
    )
    totals = make_deliverer(app).run(session, clock=clock)
    assert totals.delivered == 1
    [got] = receiver.received
    assert got.signed and got.path == "/hooks/clinic?source=test"
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["Clinic-Event-Type"] == "patient.created"
    assert got.headers["Clinic-Delivery-Attempt"] == "1"
    payload = WebhookPayload.model_validate_json(got.body)  # the documented schema
    assert got.event == {
        "id": got.headers["Clinic-Event-Id"],
        "type": "patient.created",
        "occurred_at": "2026-03-02T12:00:00Z",
        "resource": {"type": "patient", "id": patient.id, "version": 1},
    }
    assert payload.resource.id == patient.id
    for private in (b"Ada", b"Webb", b"WH-7", b"1980"):
        assert private not in got.body
    [row] = delivery_rows(session)
    assert (row.status, row.attempts, row.last_status_code) == (DeliveryStatus.DELIVERED, 1, 200)


def test_a_failing_receiver_gets_the_same_event_again_and_later_ones_wait(
    session, app, clock, receiver, world
):
    endpoint_id = register(session, app, receiver.url)
    first = booked_session(session, world, 0)
    other = booked_session(session, world, 1)
    emit(session, EventType.APPOINTMENT_CANCELLED, first, now=NOW)
    session.commit()
    receiver.answers = [500]  # the first request fails (after the receiver saw it)
    deliverer = make_deliverer(app, connections=1)

    deliverer.run(session, clock=clock)
    sent = [(e["type"], e["resource"]["id"]) for e in receiver.events()]
    # The other session's event is not held up; the cancellation waits for its booking.
    assert sent == [("appointment.booked", first.id), ("appointment.booked", other.id)]
    retry = delivery_rows(session)[0]
    assert retry.status == DeliveryStatus.PENDING and retry.last_status_code == 500
    assert retry.due_at == NOW + dt.timedelta(seconds=30)

    clock.advance(dt.timedelta(seconds=29))
    deliverer.run(session, clock=clock)
    assert len(receiver.received) == 2  # not due yet, and the cancellation still waits

    clock.advance(dt.timedelta(seconds=1))
    deliverer.run(session, clock=clock)
    of_first = [r for r in receiver.received if r.event["resource"]["id"] == first.id]
    assert [(r.event["type"], r.answered) for r in of_first] == [
        ("appointment.booked", 500),
        ("appointment.booked", 200),
        ("appointment.cancelled", 200),
    ]
    assert of_first[0].event["id"] == of_first[1].event["id"]  # at least once, same id
    assert of_first[0].body == of_first[1].body
    assert [r.event["resource"]["version"] for r in of_first] == [1, 1, 2]
    assert [r.headers["Clinic-Delivery-Attempt"] for r in of_first] == ["1", "2", "1"]
    assert all(r.signed for r in receiver.received)
    assert {row.status for row in delivery_rows(session)} == {DeliveryStatus.DELIVERED}
    # The log keeps every attempt: when, and what the receiver said.
    log = endpoints.delivery_log(session, endpoint_id=endpoint_id)
    booked = next(row for row in log if row.delivery.id == retry.id)
    assert [(a.attempt, a.at, a.status_code) for a in booked.attempts] == [
        (1, NOW, 500),
        (2, NOW + dt.timedelta(seconds=30), 200),
    ]
    assert booked.attempts[0].error == "HTTP 500 from the receiver."


def test_a_worker_that_died_after_sending_leaves_it_to_be_sent_again(
    session, app, clock, receiver, world
):
    register(session, app, receiver.url)
    booked_session(session, world)
    deliverer = make_deliverer(app)
    # A worker claims and sends, then dies before recording the answer.
    claimed, _ = claim_due(session, now=clock(), worker="dead-worker", settings=deliverer.settings)
    send_one(claimed[0], sender=deliverer.sender, app_secret_key=app.config["SECRET_KEY"], now=NOW)
    assert len(receiver.received) == 1
    deliverer.run(session, clock=clock)
    assert len(receiver.received) == 1  # the claim is not stale yet
    clock.advance(dt.timedelta(seconds=301))
    deliverer.run(session, clock=clock)
    first, again = receiver.received
    assert first.event["id"] == again.event["id"] and again.signed
    [row] = delivery_rows(session)
    assert (row.status, row.attempts) == (DeliveryStatus.DELIVERED, 2)


def test_the_last_failed_attempt_frees_the_next_event_and_send_again_queues_it(
    session, app, clock, receiver, world
):
    endpoint_id = register(session, app, receiver.url)
    appointment = booked_session(session, world)
    emit(session, EventType.APPOINTMENT_CANCELLED, appointment, now=NOW)
    session.commit()
    receiver.answers = [302, 503]
    deliverer = make_deliverer(app, max_attempts=2)
    deliverer.run(session, clock=clock)
    clock.advance(dt.timedelta(seconds=30))
    deliverer.run(session, clock=clock)
    booked, cancelled = delivery_rows(session)
    assert (booked.status, booked.attempts, booked.last_status_code) == (
        DeliveryStatus.FAILED,
        2,
        503,
    )
    assert cancelled.status == DeliveryStatus.DELIVERED
    assert [r.answered for r in receiver.received] == [302, 503, 200]

    endpoints.send_again(session, delivery_id=booked.id, actor=ADMIN, now=clock())
    deliverer.run(session, clock=clock)
    booked = delivery_rows(session)[0]
    assert (booked.status, booked.attempts) == (DeliveryStatus.DELIVERED, 1)
    assert receiver.events()[-1]["type"] == "appointment.booked"
    assert session.get(WebhookEndpoint, endpoint_id).active


def test_a_redirect_is_a_failure_that_says_why(session, app, clock, receiver, world):
    register(session, app, receiver.url)
    booked_session(session, world)
    receiver.answers = [301]
    make_deliverer(app).run(session, clock=clock)
    [row] = delivery_rows(session)
    assert row.status == DeliveryStatus.PENDING and "redirects are not followed" in row.last_error


def test_a_paused_endpoint_keeps_its_queue(session, app, clock, receiver, world):
    endpoint_id = register(session, app, receiver.url)
    session.get(WebhookEndpoint, endpoint_id).active = False
    session.commit()
    appointment = add_session(session, world, patient=world.patients[0], starts_at=NOW)
    session.get(WebhookEndpoint, endpoint_id).active = True
    emit(session, EventType.APPOINTMENT_BOOKED, appointment, now=NOW)
    session.get(WebhookEndpoint, endpoint_id).active = False
    session.commit()
    make_deliverer(app).run(session, clock=clock)
    assert receiver.received == []
    session.get(WebhookEndpoint, endpoint_id).active = True
    session.commit()
    make_deliverer(app).run(session, clock=clock)
    assert len(receiver.received) == 1


def test_a_secret_sealed_under_another_secret_key_fails_saying_so(
    session, app, clock, receiver, world
):
    register(session, app, receiver.url, secret=SECRET)
    booked_session(session, world)
    deliverer = make_deliverer(app)
    deliverer.app_secret_key = "another-secret-key-after-a-rotation-0123456789"
    deliverer.run(session, clock=clock)
    [row] = delivery_rows(session)
    assert row.status == DeliveryStatus.FAILED and "SECRET_KEY" in row.last_error
    assert receiver.received == []


def test_delivered_deliveries_leave_the_log_after_30_days_failed_ones_stay(
    app, session, clock, receiver, world
):
    register(session, app, receiver.url)
    booked_session(session, world, 0)
    booked_session(session, world, 1)
    receiver.answers = [200, 500]
    make_deliverer(app, max_attempts=1, connections=1).run(session, clock=clock)
    clock.advance(dt.timedelta(days=31))
    jobs.prune_webhook_log(app)
    [left] = delivery_rows(session)
    assert left.status == DeliveryStatus.FAILED
    assert session.scalar(sa.select(sa.func.count()).select_from(WebhookAttempt)) == 1
    assert session.scalar(sa.select(sa.func.count()).select_from(WebhookEvent)) == 2
