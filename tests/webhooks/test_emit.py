"""Every change a webhook names is written with the change, by the services the pages and
the API share: an event per resource, a delivery per endpoint that asked for the type."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
import sqlalchemy as sa

from clinic.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from clinic.patients.service import create_patient, update_patient
from clinic.patients.validation import PatientInput
from clinic.scheduling import (
    SchedulingError,
    book_series,
    book_session,
    cancel,
    plan_from_protocol,
    preview_series,
    reschedule,
    status,
)
from clinic.webhooks import EventType, emit
from tests.builders import ACTOR, NOW, TODAY, add_session, at, build_clinic, build_world
from tests.monitoring.walk import walk_to_discharge
from tests.unit.querycount import recorded_statements
from tests.webhooks.conftest import register


def events(session):
    session.expire_all()
    return [
        (e.type, e.resource_type, e.resource_id, e.resource_version)
        for e in session.scalars(sa.select(WebhookEvent).order_by(WebhookEvent.id))
    ]


def deliveries(session):
    return session.execute(
        sa.select(WebhookDelivery.endpoint_id, WebhookEvent.type)
        .join(WebhookEvent, WebhookDelivery.event_id == WebhookEvent.id)
        .order_by(WebhookDelivery.id)
    ).all()


@pytest.fixture
def clinic(session):
    return build_clinic(session)


def test_booking_rescheduling_and_cancelling_emit_versioned_events(session, app, clinic):
    endpoint_id = register(session, app, "http://127.0.0.1:9/hooks")
    appointment = book_session(
        session,
        patient_id=clinic.patients[0].id,
        treatment_type_id=clinic.iv.id,
        location_id=clinic.location.id,
        starts_at=at("2026-03-04", "09:00"),
        actor=ACTOR,
        now=NOW,
    )
    reschedule(
        session,
        appointment_id=appointment.id,
        new_starts_at=at("2026-03-05", "10:00"),
        scope="one",
        actor=ACTOR,
        now=NOW,
    )
    cancel(
        session, appointment_id=appointment.id, scope="one", reason="Unwell", actor=ACTOR, now=NOW
    )
    assert events(session) == [
        ("appointment.booked", "appointment", appointment.id, 1),
        ("appointment.rescheduled", "appointment", appointment.id, 2),
        ("appointment.cancelled", "appointment", appointment.id, 3),
    ]
    assert [endpoint for endpoint, _ in deliveries(session)] == [endpoint_id] * 3


def test_a_series_emits_one_event_per_session_and_a_refused_booking_none(session, app, clinic):
    register(session, app, "http://127.0.0.1:9/hooks")
    patient = clinic.patients[1]
    plan = plan_from_protocol(
        session,
        protocol_id=clinic.iv_protocol.id,
        location_id=clinic.location.id,
        first_date=dt.date(2026, 3, 9),
    )
    preview = preview_series(session, patient_id=patient.id, plan=plan, now=NOW)
    series = book_series(
        session, patient_id=patient.id, plan=plan, actor=ACTOR, now=NOW, proposals=preview.slots
    )
    ids = sorted(a.id for a in series.appointments)
    assert sorted(e[2] for e in events(session)) == ids
    assert {e[0] for e in events(session)} == {"appointment.booked"}
    before = events(session)
    # The same slots again: refused, and the transaction (events included) rolled back.
    with pytest.raises(SchedulingError):
        book_series(
            session,
            patient_id=clinic.patients[2].id,
            plan=plan,
            actor=ACTOR,
            now=NOW,
            proposals=preview.slots,
        )
    assert events(session) == before


def test_check_in_no_show_and_discharge_emit_their_events(session, app):
    world = build_world(session, today=TODAY)
    register(session, app, "http://127.0.0.1:9/hooks")
    late = add_session(
        session, world, patient=world.patients[1], starts_at=NOW - dt.timedelta(hours=1)
    )
    status.mark_no_show(session, appointment_id=late.id, actor=ACTOR, now=NOW)
    treated = add_session(
        session, world, patient=world.patients[0], starts_at=world.at(TODAY, "10:00")
    )
    ready = walk_to_discharge(session, treated.id, ACTOR)
    status.discharge(
        session, appointment_id=treated.id, actor=ACTOR, now=ready, escort_confirmed=True
    )
    assert events(session) == [
        ("appointment.no_show", "appointment", late.id, 1),
        ("appointment.checked_in", "appointment", treated.id, 1),
        ("appointment.discharged", "appointment", treated.id, 2),
    ]


def test_patient_registration_and_changes_emit_patient_events(session, app):
    register(session, app, "http://127.0.0.1:9/hooks")
    data = PatientInput(
        mrn="WH-1", given_name="Ada", family_name="Webb", date_of_birth="1980-05-01"
    )
    patient = create_patient(session, data=data, actor=ACTOR, now=NOW)
    update_patient(
        session,
        patient_id=patient.id,
        data=dataclasses.replace(data, family_name="Webb-Lee"),
        actor=ACTOR,
        now=NOW,
    )
    # Saving the record unchanged is no change: no event.
    update_patient(
        session,
        patient_id=patient.id,
        data=dataclasses.replace(data, family_name="Webb-Lee"),
        actor=ACTOR,
        now=NOW,
    )
    assert events(session) == [
        ("patient.created", "patient", patient.id, 1),
        ("patient.updated", "patient", patient.id, 2),
    ]


def test_only_active_endpoints_that_chose_the_type_get_a_delivery(session, app):
    booked_only = register(
        session, app, "http://127.0.0.1:9/a", events=["appointment.booked"], name="A"
    )
    everything = register(session, app, "http://127.0.0.1:9/b", name="B")
    paused = register(session, app, "http://127.0.0.1:9/c", name="C")
    session.get(WebhookEndpoint, paused).active = False
    session.commit()
    clinic = build_world(session)
    appointment = add_session(session, clinic, patient=clinic.patients[0], starts_at=NOW)
    emit(session, EventType.APPOINTMENT_BOOKED, appointment, now=NOW)
    emit(session, EventType.APPOINTMENT_CANCELLED, [appointment], now=NOW)
    session.commit()
    assert deliveries(session) == [
        (booked_only, "appointment.booked"),
        (everything, "appointment.booked"),
        (everything, "appointment.cancelled"),
    ]


def test_an_emit_sends_the_same_few_statements_for_one_resource_or_many(session, app):
    register(session, app, "http://127.0.0.1:9/a", name="A")
    register(session, app, "http://127.0.0.1:9/b", name="B")
    world = build_world(session)
    sessions = [
        add_session(
            session, world, patient=world.patients[n % 4], chair=world.chairs[n % 4],
            starts_at=NOW + dt.timedelta(days=n), commit=False,
        )
        for n in range(8)
    ]  # fmt: skip
    session.commit()
    for appointment in sessions:
        session.refresh(appointment)  # loaded, as a service has them
    engine = session.get_bind()
    counts = []
    for group in (sessions[:1], sessions[1:8]):
        with recorded_statements(engine) as statements:
            emit(session, EventType.APPOINTMENT_BOOKED, group, now=NOW)
            session.flush()
        counts.append(len(statements))
    session.commit()
    assert counts[0] == counts[1] == 4  # versions, events, endpoints, deliveries
    assert len(deliveries(session)) == 2 * 8
