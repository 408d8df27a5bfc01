"""The day's status changes over the API: check-in, treatment, monitoring, discharge and
no-show, each by the role the UI requires, each audited, each refused with a reason when the
session's state does not allow it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask

from clinic.extensions import db
from tests.api.conftest import ApiClient, TodaySession, audit_events, problem
from tests.builders import NOW
from tests.monitoring.walk import prefill_ready_record


def test_a_session_goes_from_check_in_to_discharge(
    app: Flask, api_as: Callable[..., ApiClient], today_session: Callable[..., TodaySession]
) -> None:
    session = today_session(minutes=30)
    with app.app_context():
        # The record a discharge needs (the gates themselves are tested in tests/monitoring).
        prefill_ready_record(db.session, session.appointment_id, NOW)
    desk, nurse = api_as("receptionist"), api_as("nurse")
    path = f"/appointments/{session.appointment_id}"

    checked_in = desk.post(
        f"{path}/check-in", json={"escort_name": "Sam Garcia", "escort_phone": "201 555 0124"}
    )
    assert checked_in.status_code == 200, checked_in.get_data(as_text=True)
    assert checked_in.get_json()["status"] == "checked_in"
    assert checked_in.get_json()["escort_phone"] == "+12015550124"
    assert nurse.post(f"{path}/start-treatment").get_json()["status"] == "in_treatment"
    assert nurse.post(f"{path}/start-monitoring").get_json()["status"] == "monitoring"

    refused = problem(nurse.post(f"{path}/discharge", json={"escort_confirmed": False}), 422)
    assert "escort" in refused["detail"]
    discharged = nurse.post(f"{path}/discharge", json={"escort_confirmed": True})
    assert discharged.status_code == 200
    body = discharged.get_json()
    assert body["status"] == "discharged" and body["escort_confirmed_at"] is not None

    for action in ("check_in", "start_treatment", "start_monitoring", "discharge"):
        [event] = audit_events(app, f"appointment.{action}")
        assert event.entity_id == str(session.appointment_id)
    assert audit_events(app, "appointment.check_in")[0].username == "api-receptionist"
    assert audit_events(app, "appointment.discharge")[0].username == "api-nurse"


def test_check_in_needs_no_body(
    api_as: Callable[..., ApiClient], today_session: Callable[..., TodaySession]
) -> None:
    session = today_session(minutes=30)
    response = api_as("nurse").post(f"/appointments/{session.appointment_id}/check-in")
    assert response.status_code == 200
    assert response.get_json()["checked_in_at"] is not None


def test_discharge_without_an_escort_needs_an_override_reason(
    app: Flask, api_as: Callable[..., ApiClient], today_session: Callable[..., TodaySession]
) -> None:
    session = today_session(minutes=-60)
    nurse = api_as("nurse")
    path = f"/appointments/{session.appointment_id}"
    for step in ("check-in", "start-treatment", "start-monitoring"):
        assert nurse.post(f"{path}/{step}").status_code == 200

    response = nurse.post(
        f"{path}/discharge", json={"escort_confirmed": False, "override_reason": "Clinic taxi"}
    )
    assert response.status_code == 200
    assert response.get_json()["discharge_override_reason"] == "Clinic taxi"
    assert audit_events(app, "appointment.discharge_override")


def test_the_escort_can_be_confirmed_on_its_own(
    api_as: Callable[..., ApiClient], today_session: Callable[..., TodaySession]
) -> None:
    session = today_session(minutes=30)
    desk = api_as("receptionist")
    response = desk.post(
        f"/appointments/{session.appointment_id}/confirm-escort", json={"escort_name": "Sam"}
    )
    assert response.status_code == 200
    assert response.get_json()["escort_confirmed_at"] is not None
    body = problem(
        desk.post(f"/appointments/{session.appointment_id}/confirm-escort", json={"phone": "1"}),
        422,
    )
    assert body["errors"][0]["field"] == "body.phone"


def test_status_changes_out_of_order_are_refused_with_the_reason(
    api_as: Callable[..., ApiClient], today_session: Callable[..., TodaySession]
) -> None:
    session = today_session(minutes=30)
    nurse = api_as("nurse")
    path = f"/appointments/{session.appointment_id}"
    problem(nurse.post(f"{path}/start-monitoring"), 422)
    problem(nurse.post(f"{path}/discharge", json={"escort_confirmed": True}), 422)
    not_yet = problem(nurse.post(f"{path}/no-show"), 422)
    assert "start time has passed" in not_yet["detail"]
    assert nurse.post(f"{path}/check-in").status_code == 200
    again = problem(nurse.post(f"{path}/check-in"), 422)
    assert again["detail"]


def test_a_no_show_once_the_start_has_passed(
    app: Flask, api_as: Callable[..., ApiClient], today_session: Callable[..., TodaySession]
) -> None:
    session = today_session(minutes=-20)
    response = api_as("receptionist").post(f"/appointments/{session.appointment_id}/no-show")
    assert response.status_code == 200
    assert response.get_json()["status"] == "no_show"
    assert audit_events(app, "appointment.no_show")


def test_status_changes_of_unknown_sessions_are_404(api_as: Callable[..., ApiClient]) -> None:
    admin = api_as("admin")
    for step in ("check-in", "confirm-escort", "start-treatment", "start-monitoring", "no-show"):
        problem(admin.post(f"/appointments/4242/{step}"), 404)
    problem(admin.post("/appointments/4242/cancel", json={"reason": "ill"}), 404)
    problem(admin.post("/appointments/4242/discharge", json={"escort_confirmed": True}), 404)


def test_status_bodies_are_validated(
    api_as: Callable[..., ApiClient], today_session: Callable[..., TodaySession]
) -> None:
    session = today_session(minutes=30)
    nurse = api_as("nurse")
    path = f"/appointments/{session.appointment_id}"
    problem(nurse.post(f"{path}/discharge", json={}), 422)
    problem(nurse.post(f"{path}/check-in", json={"escort_confirmed": "maybe"}), 422)
    problem(nurse.post(f"{path}/check-in", json={"escort_phone": "12"}), 422)
    body: Any = nurse.get(path).get_json()
    assert body["status"] == "booked" and body["escort_phone"] is None
