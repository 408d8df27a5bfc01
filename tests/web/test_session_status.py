"""A session's day: check in, treatment, monitoring, discharge (escort or audited override),
no-show; as services with a fixed clock and through the session page with roles."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from clinic.audit import Actor
from clinic.extensions import db
from clinic.models import Appointment, AppointmentStatus, AuditEvent
from clinic.scheduling import InvalidRequest, InvalidTransition
from clinic.scheduling import status as session_status
from tests.builders import NOW, TODAY, add_session, build_world, make_user
from tests.monitoring.walk import prefill_ready_record

TEN_AM = NOW + dt.timedelta(hours=3)  # Monday 10:00 in New York, the clinic's morning
NURSE = Actor(user_id=None, username="nurse-test")


@pytest.fixture
def booked(app, session):
    world = build_world(session)
    appointment = add_session(
        session, world, patient=world.patients[0], starts_at=world.at(TODAY, "10:30")
    )
    # The record a discharge needs is there (issue 12's gates are tested in tests/monitoring).
    prefill_ready_record(session, appointment.id, TEN_AM)
    return appointment.id


@pytest.fixture
def nurse(session) -> Actor:
    """The nurse as a user: an override needs a nurse or prescriber behind it."""
    user = make_user(session, "nurse-test", "nurse")
    return Actor(user_id=user.id, username=user.username)


def actions(session) -> list[str]:
    return list(session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))


def test_the_full_day_with_a_confirmed_escort(session, booked):
    session_status.check_in(
        session,
        appointment_id=booked,
        actor=NURSE,
        now=TEN_AM,
        escort_name="Sam Escort",
        escort_phone="(201) 555-0142",
        escort_confirmed=True,
    )
    session_status.start_treatment(session, appointment_id=booked, actor=NURSE, now=TEN_AM)
    session_status.start_monitoring(session, appointment_id=booked, actor=NURSE, now=TEN_AM)
    session_status.discharge(
        session, appointment_id=booked, actor=NURSE, now=TEN_AM, escort_confirmed=False
    )
    appointment = session.get(Appointment, booked)
    assert appointment.status == AppointmentStatus.DISCHARGED
    assert appointment.escort_name == "Sam Escort"
    assert appointment.escort_phone == "+12015550142"
    assert appointment.checked_in_at == TEN_AM and appointment.discharged_at == TEN_AM
    assert appointment.discharge_override_reason is None
    assert actions(session) == [
        "appointment.check_in",
        "appointment.start_treatment",
        "appointment.start_monitoring",
        "appointment.discharge",
    ]


def _to_monitoring(session, appointment_id: int) -> None:
    session_status.check_in(session, appointment_id=appointment_id, actor=NURSE, now=TEN_AM)
    session_status.start_treatment(session, appointment_id=appointment_id, actor=NURSE, now=TEN_AM)
    session_status.start_monitoring(session, appointment_id=appointment_id, actor=NURSE, now=TEN_AM)


def test_discharge_without_escort_or_reason_is_refused_and_changes_nothing(session, booked):
    _to_monitoring(session, booked)
    with pytest.raises(InvalidTransition, match="Confirm that the escort is here"):
        session_status.discharge(
            session, appointment_id=booked, actor=NURSE, now=TEN_AM, escort_confirmed=False
        )
    session.rollback()
    assert session.get(Appointment, booked).status == AppointmentStatus.MONITORING


def test_discharge_override_keeps_the_reason_and_is_audited_as_such(session, booked, nurse):
    _to_monitoring(session, booked)
    session_status.discharge(
        session,
        appointment_id=booked,
        actor=nurse,
        now=TEN_AM,
        escort_confirmed=False,
        override_reason="  Clinic taxi arranged;   escort stuck in traffic ",
    )
    appointment = session.get(Appointment, booked)
    assert appointment.status == AppointmentStatus.DISCHARGED
    assert appointment.discharge_override_reason == "Clinic taxi arranged; escort stuck in traffic"
    assert "appointment.discharge_override" in actions(session)
    summary = session.scalar(
        sa.select(AuditEvent.summary).where(AuditEvent.action == "appointment.discharge_override")
    )
    assert "taxi" not in summary  # the trail holds ids, not the clinical story


@pytest.mark.parametrize(
    ("step", "message"),
    [
        (session_status.start_treatment, "only a checked in session can be started"),
        (session_status.start_monitoring, "only a in treatment session"),
    ],
)
def test_steps_out_of_order_are_refused_with_a_reason(session, booked, step, message):
    with pytest.raises(InvalidTransition, match=message):
        step(session, appointment_id=booked, actor=NURSE, now=TEN_AM)


def test_check_in_only_on_the_day_of_the_session(session, booked):
    with pytest.raises(InvalidTransition, match="only on the day of their session"):
        session_status.check_in(
            session, appointment_id=booked, actor=NURSE, now=TEN_AM - dt.timedelta(days=1)
        )


def test_check_in_with_a_bad_escort_phone_changes_nothing(session, booked):
    with pytest.raises(InvalidRequest, match="Escort phone"):
        session_status.check_in(
            session,
            appointment_id=booked,
            actor=NURSE,
            now=TEN_AM,
            escort_name="New Escort",
            escort_phone="12",
            escort_confirmed=True,
        )
    session.rollback()
    appointment = session.get(Appointment, booked)
    assert appointment.status == AppointmentStatus.BOOKED
    assert appointment.escort_name == "Escort 1"
    assert appointment.escort_confirmed_at is None


def test_no_show_only_after_the_start_time(session, booked):
    with pytest.raises(InvalidTransition, match="once its start time has passed"):
        session_status.mark_no_show(session, appointment_id=booked, actor=NURSE, now=TEN_AM)
    later = TEN_AM + dt.timedelta(hours=1)
    session_status.mark_no_show(session, appointment_id=booked, actor=NURSE, now=later)
    assert session.get(Appointment, booked).status == AppointmentStatus.NO_SHOW
    with pytest.raises(InvalidTransition, match="the session is no-show"):
        session_status.check_in(session, appointment_id=booked, actor=NURSE, now=later)


def test_unknown_session_is_not_found(session, booked):
    from clinic.scheduling import NotFound

    with pytest.raises(NotFound):
        session_status.check_in(session, appointment_id=booked + 999, actor=NURSE, now=TEN_AM)


# --- through the web ----------------------------------------------------------------------


@pytest.fixture
def today_session(app):
    """A session that started five minutes before ``NOW`` (06:55 local): today, and due."""
    with app.app_context():
        world = build_world(db.session)
        starts_at = NOW - dt.timedelta(minutes=5)
        appointment = add_session(db.session, world, patient=world.patients[0], starts_at=starts_at)
        # The record a discharge needs, a minute old (the gates are tested in tests/monitoring).
        prefill_ready_record(db.session, appointment.id, NOW - dt.timedelta(minutes=1))
        return appointment.id


def status_of(app, appointment_id: int) -> AppointmentStatus:
    with app.app_context():
        return db.session.get(Appointment, appointment_id).status


def test_front_desk_checks_in_and_nurse_discharges_through_the_pages(
    app, client, login, today_session
):
    login("receptionist")
    page = client.get(f"/sessions/{today_session}").get_data(as_text=True)
    assert "Check in" in page and "Start treatment" not in page
    response = client.post(
        f"/sessions/{today_session}/check-in",
        data={"escort_name": "Sam Escort", "escort_phone": "+12015550142", "next": "/board/"},
    )
    assert response.status_code == 302 and response.headers["Location"] == "/board/"
    assert status_of(app, today_session) == AppointmentStatus.CHECKED_IN
    # The receptionist may not start a treatment.
    assert client.post(f"/sessions/{today_session}/start-treatment").status_code == 403
    client.post("/logout")

    login("nurse")
    assert client.post(f"/sessions/{today_session}/start-treatment").status_code == 302
    assert client.post(f"/sessions/{today_session}/start-monitoring").status_code == 302
    refused = client.post(f"/sessions/{today_session}/discharge", data={})
    assert refused.status_code == 422
    assert "Confirm that the escort is here" in refused.get_data(as_text=True)
    assert status_of(app, today_session) == AppointmentStatus.MONITORING
    done = client.post(f"/sessions/{today_session}/discharge", data={"escort_confirmed": "y"})
    assert done.status_code == 302
    assert status_of(app, today_session) == AppointmentStatus.DISCHARGED


def test_a_step_that_does_not_apply_rerenders_the_page_with_a_reason(
    app, client, login, today_session
):
    login("nurse")
    response = client.post(f"/sessions/{today_session}/start-monitoring")
    assert response.status_code == 422
    assert "Cannot start monitoring" in response.get_data(as_text=True)
    assert client.post("/sessions/999999/check-in").status_code == 404


def test_no_show_from_the_page(app, client, login, today_session):
    login("receptionist")
    assert client.post(f"/sessions/{today_session}/no-show").status_code == 302
    assert status_of(app, today_session) == AppointmentStatus.NO_SHOW


def test_overlong_override_reason_is_refused_on_the_page(app, client, login, today_session):
    login("admin")
    client.post(f"/sessions/{today_session}/check-in")
    client.post(f"/sessions/{today_session}/start-treatment")
    client.post(f"/sessions/{today_session}/start-monitoring")
    response = client.post(
        f"/sessions/{today_session}/discharge", data={"override_reason": "x" * 700}
    )
    assert response.status_code == 422
    assert status_of(app, today_session) == AppointmentStatus.MONITORING
