"""Availability, series preview and booking, rescheduling and cancelling, and the day board,
in the demo clinic (seeded around the real today, as the API reads the real clock)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from clinic.extensions import db
from clinic.models import Appointment, Notification
from tests.api.conftest import ApiClient, audit_events, problem


class Clinic:
    """The demo clinic as the API describes it, plus helpers to book in it."""

    def __init__(self, api: ApiClient, demo: dict[str, Any]) -> None:
        self.api = api
        self.location_id: int = demo["location_id"]
        self.today: dt.date = demo["today"]
        types = api.get("/treatment-types").get_json()["items"]
        self.iv = next(t["id"] for t in types if t["route"] == "iv")
        protocols = api.get(f"/protocols?treatment_type_id={self.iv}").get_json()["items"]
        self.iv_protocol = protocols[0]["id"]
        # Three weeks ahead, on a Monday: past the demo's own sessions, within its shifts.
        later = demo["today"] + dt.timedelta(days=21)
        self.monday = later + dt.timedelta(days=(7 - later.weekday()) % 7)
        self._patients = 0

    def new_patient(self) -> int:
        self._patients += 1
        response = self.api.post(
            "/patients",
            json={
                "mrn": f"BOOK-{self._patients}",
                "given_name": "Test",
                "family_name": f"Patient{self._patients}",
                "date_of_birth": "1980-05-05",
                "email": f"patient{self._patients}@example.com",
            },
        )
        assert response.status_code == 201
        patient_id: int = response.get_json()["id"]
        return patient_id

    def custom_plan(self, count: int = 3, weekdays: tuple[int, ...] = (0, 2, 4)) -> dict[str, Any]:
        return {
            "kind": "custom",
            "treatment_type_id": self.iv,
            "location_id": self.location_id,
            "first_date": self.monday.isoformat(),
            "count": count,
            "weekdays": list(weekdays),
        }

    def preview(self, patient_id: int, **plan: Any) -> dict[str, Any]:
        response = self.api.post(
            "/series/preview", json={"patient_id": patient_id, "plan": self.custom_plan(**plan)}
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        body: dict[str, Any] = response.get_json()
        return body

    def book(self, patient_id: int, **plan: Any) -> dict[str, Any]:
        preview = self.preview(patient_id, **plan)
        assert preview["complete"]
        response = self.api.post(
            "/series",
            json={
                "patient_id": patient_id,
                "plan": self.custom_plan(**plan),
                "proposals": [_choice(item["slot"]) for item in preview["sessions"]],
            },
        )
        assert response.status_code == 201, response.get_data(as_text=True)
        body: dict[str, Any] = response.get_json()
        return body


def _choice(slot: dict[str, Any]) -> dict[str, Any]:
    return {k: slot[k] for k in ("starts_at", "chair_id", "monitor_id", "prescriber_id")}


def _count(app: Flask, model: Any) -> int:
    with app.app_context():
        return int(db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


@pytest.fixture
def clinic(api_as: Callable[..., ApiClient], demo: dict[str, Any]) -> Clinic:
    return Clinic(api_as("receptionist"), demo)


def parse(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


# --- availability -------------------------------------------------------------------------


def test_availability_lists_free_slots_in_the_range(clinic: Clinic) -> None:
    patient_id = clinic.new_patient()
    end = clinic.monday + dt.timedelta(days=2)
    response = clinic.api.get(
        "/availability",
        query_string={
            "treatment_type_id": clinic.iv,
            "location_id": clinic.location_id,
            "start_date": clinic.monday.isoformat(),
            "end_date": end.isoformat(),
            "patient_id": patient_id,
            "per_day": 2,
        },
    )
    assert response.status_code == 200
    slots = response.get_json()["items"]
    assert 1 <= len(slots) <= 6
    for slot in slots:
        local = parse(slot["local_starts_at"])
        assert clinic.monday <= local.date() <= end
        assert parse(slot["starts_at"]) == local
        assert slot["location_id"] == clinic.location_id and slot["monitor_name"]
        assert parse(slot["starts_at"]) < parse(slot["ends_at"]) <= parse(slot["busy_until"])


def test_availability_refuses_bad_ranges(clinic: Clinic) -> None:
    base = {"treatment_type_id": clinic.iv, "location_id": clinic.location_id}
    body = problem(
        clinic.api.get(
            "/availability",
            query_string={**base, "start_date": "2030-02-01", "end_date": "2030-01-01"},
        ),
        422,
    )
    assert "ends before it starts" in body["detail"]
    problem(clinic.api.get("/availability", query_string=base), 422)  # no start_date
    missing = {**base, "location_id": 4040, "start_date": "2030-01-01"}
    problem(clinic.api.get("/availability", query_string=missing), 404)


# --- preview and booking ------------------------------------------------------------------


def test_a_preview_proposes_every_session_and_writes_nothing(app: Flask, clinic: Clinic) -> None:
    patient_id = clinic.new_patient()
    before = (_count(app, Appointment), _count(app, Notification))

    preview = clinic.preview(patient_id)

    assert preview["complete"] is True and preview["patient_id"] == patient_id
    assert preview["timezone"] == "America/New_York"
    dates = [session["target_date"] for session in preview["sessions"]]
    assert dates == [(clinic.monday + dt.timedelta(days=d)).isoformat() for d in (0, 2, 4)]
    assert preview["plan"]["dates"] == dates
    for session in preview["sessions"]:
        assert (
            parse(session["slot"]["local_starts_at"]).date().isoformat() == session["target_date"]
        )
        assert session["reason"] is None
    assert (_count(app, Appointment), _count(app, Notification)) == before


def test_a_preview_explains_a_date_it_cannot_meet(clinic: Clinic) -> None:
    hours = clinic.api.get(f"/locations/{clinic.location_id}").get_json()["opening_hours"]
    closed = sorted(set(range(7)) - {interval["weekday"] for interval in hours})
    if not closed:
        pytest.skip("the demo location opens every day")
    preview = clinic.preview(clinic.new_patient(), count=1, weekdays=(closed[0],))
    [session] = preview["sessions"]
    assert preview["complete"] is False
    assert session["slot"] is None and session["reason"]
    assert session["alternatives"], "the nearest open days are offered"


def test_booking_a_series_books_every_session_and_queues_invitations(
    app: Flask, clinic: Clinic
) -> None:
    patient_id = clinic.new_patient()
    series = clinic.book(patient_id)

    assert series["patient_id"] == patient_id and series["status"] == "active"
    sessions = series["appointments"]
    assert len(sessions) == 3 and {s["status"] for s in sessions} == {"booked"}
    assert clinic.api.get(f"/series/{series['id']}").get_json() == series
    problem(clinic.api.get("/series/4242"), 404)
    # The demo clinic's own series were booked by the system; this one by the token's user.
    [event] = [e for e in audit_events(app, "series.book") if e.username == "api-receptionist"]
    assert event.entity_id == str(series["id"])
    with app.app_context():
        invited = db.session.scalars(
            sa.select(Notification.appointment_id).where(Notification.kind == "invite")
        ).all()
    assert {s["id"] for s in sessions} <= set(invited)


def test_booking_without_proposals_searches_afresh(clinic: Clinic) -> None:
    patient_id = clinic.new_patient()
    plan = {
        "kind": "protocol",
        "protocol_id": clinic.iv_protocol,
        "location_id": clinic.location_id,
        "first_date": clinic.monday.isoformat(),
        "preferred_start": "09:00",
        "preferred_end": "15:00",
    }
    response = clinic.api.post("/series", json={"patient_id": patient_id, "plan": plan})
    assert response.status_code == 201, response.get_data(as_text=True)
    series = response.get_json()
    protocol = clinic.api.get(f"/protocols/{clinic.iv_protocol}").get_json()
    assert len(series["appointments"]) == protocol["session_count"]
    assert response.headers["Location"] == f"/api/v1/series/{series['id']}"


def test_a_slot_taken_meanwhile_is_a_409_and_nothing_is_booked(app: Flask, clinic: Clinic) -> None:
    first, second = clinic.new_patient(), clinic.new_patient()
    clinic.book(first, count=1, weekdays=(0,))
    held = clinic.api.get(f"/appointments?patient_id={first}").get_json()["items"][0]
    before = _count(app, Appointment)

    # The second receptionist's preview offered the same chair at the same time.
    stale = {key: held[key] for key in ("starts_at", "chair_id", "monitor_id")}
    response = clinic.api.post(
        "/series",
        json={
            "patient_id": second,
            "plan": clinic.custom_plan(count=1, weekdays=(0,)),
            "proposals": [stale],
        },
    )

    body = problem(response, 409)
    assert body["rule"] in {"taken", "chair", "monitor"}
    assert _count(app, Appointment) == before


def test_invalid_plans_are_refused_with_reasons(clinic: Clinic) -> None:
    patient_id = clinic.new_patient()

    def preview(plan: dict[str, Any]) -> Any:
        return clinic.api.post("/series/preview", json={"patient_id": patient_id, "plan": plan})

    problem(preview({**clinic.custom_plan(), "weekdays": []}), 422)
    empty = {"patient_id": patient_id, "plan": clinic.custom_plan(), "proposals": []}
    problem(clinic.api.post("/series", json=empty), 422)
    problem(preview({**clinic.custom_plan(), "count": 0}), 422)
    problem(preview({**clinic.custom_plan(), "kind": "weekly"}), 422)
    problem(preview({**clinic.custom_plan(), "preferred_start": "9am"}), 422)
    body = problem(
        preview({**clinic.custom_plan(), "preferred_start": "15:00", "preferred_end": "09:00"}),
        422,
    )
    assert "preferred" in body["detail"].lower() or "start" in body["detail"].lower()
    problem(preview({**clinic.custom_plan(), "first_date": "0001-01-01"}), 422)
    problem(
        preview(
            {
                "kind": "protocol",
                "protocol_id": 4242,
                "location_id": clinic.location_id,
                "first_date": clinic.monday.isoformat(),
            }
        ),
        404,
    )


# --- reschedule and cancel ----------------------------------------------------------------


def test_rescheduling_moves_the_session_and_notifies(app: Flask, clinic: Clinic) -> None:
    patient_id = clinic.new_patient()
    series = clinic.book(patient_id, count=1, weekdays=(0,))
    [session] = series["appointments"]
    tuesday = clinic.monday + dt.timedelta(days=1)
    slots = clinic.api.get(
        "/availability",
        query_string={
            "treatment_type_id": clinic.iv,
            "location_id": clinic.location_id,
            "start_date": tuesday.isoformat(),
            "patient_id": patient_id,
        },
    ).get_json()["items"]
    new_start = slots[0]["starts_at"]

    response = clinic.api.post(
        f"/appointments/{session['id']}/reschedule", json={"new_starts_at": new_start}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    [moved] = response.get_json()["items"]
    assert moved["id"] == session["id"] and parse(moved["starts_at"]) == parse(new_start)
    assert moved["calendar_sequence"] > session["calendar_sequence"]
    assert audit_events(app, "appointment.reschedule")
    with app.app_context():
        kinds = set(
            db.session.scalars(
                sa.select(Notification.kind).where(Notification.appointment_id == session["id"])
            )
        )
    assert "update" in kinds


def test_rescheduling_into_the_past_or_a_closed_hour_is_refused(clinic: Clinic) -> None:
    series = clinic.book(clinic.new_patient(), count=1, weekdays=(0,))
    session_id = series["appointments"][0]["id"]
    past = problem(
        clinic.api.post(
            f"/appointments/{session_id}/reschedule",
            json={"new_starts_at": "2020-01-06T15:00:00+00:00"},
        ),
        422,
    )
    assert past["rule"]
    night = dt.datetime.combine(clinic.monday, dt.time(3, 0), tzinfo=dt.UTC).isoformat()
    closed = problem(
        clinic.api.post(f"/appointments/{session_id}/reschedule", json={"new_starts_at": night}),
        422,
    )
    assert closed["rule"] and closed["detail"]
    problem(
        clinic.api.post(
            f"/appointments/{session_id}/reschedule", json={"new_starts_at": "2030-01-06T15:00:00"}
        ),
        422,  # no UTC offset
    )
    problem(clinic.api.post("/appointments/4242/reschedule", json={"new_starts_at": night}), 404)


def test_cancelling_a_series_session_by_session_and_all(app: Flask, clinic: Clinic) -> None:
    series = clinic.book(clinic.new_patient())
    first, *rest = series["appointments"]

    response = clinic.api.post(f"/appointments/{first['id']}/cancel", json={"reason": "ill"})
    assert response.status_code == 200
    [cancelled] = response.get_json()["items"]
    assert cancelled["status"] == "cancelled" and cancelled["cancel_reason"] == "ill"
    assert (
        "cannot be cancelled"
        in problem(
            clinic.api.post(f"/appointments/{first['id']}/cancel", json={"reason": "ill"}), 422
        )["detail"]
    )
    problem(clinic.api.post(f"/appointments/{rest[0]['id']}/cancel", json={"reason": "  "}), 422)
    problem(clinic.api.post(f"/appointments/{rest[0]['id']}/cancel", json={}), 422)

    response = clinic.api.post(
        f"/appointments/{rest[0]['id']}/cancel", json={"reason": "moving away", "scope": "all"}
    )
    assert {a["id"] for a in response.get_json()["items"]} == {a["id"] for a in rest}
    assert clinic.api.get(f"/series/{series['id']}").get_json()["status"] == "cancelled"
    assert len(audit_events(app, "appointment.cancel")) == 3


# --- listing and the board ----------------------------------------------------------------


def test_appointments_list_by_date_location_and_patient(clinic: Clinic) -> None:
    patient_id = clinic.new_patient()
    series = clinic.book(patient_id)
    ids = [a["id"] for a in series["appointments"]]

    by_patient = clinic.api.get(f"/appointments?patient_id={patient_id}").get_json()["items"]
    assert [a["id"] for a in by_patient] == ids
    monday = clinic.api.get(
        "/appointments",
        query_string={"date": clinic.monday.isoformat(), "location_id": clinic.location_id},
    ).get_json()["items"]
    assert ids[0] in {a["id"] for a in monday} and ids[1] not in {a["id"] for a in monday}
    assert all(a["location_id"] == clinic.location_id for a in monday)
    assert clinic.api.get(f"/appointments/{ids[0]}").get_json() == by_patient[0]

    clinic.api.post(f"/appointments/{ids[0]}/cancel", json={"reason": "ill"})
    live = clinic.api.get(f"/appointments?patient_id={patient_id}&include_released=false")
    assert [a["id"] for a in live.get_json()["items"]] == ids[1:]
    problem(clinic.api.get("/appointments/4242"), 404)
    problem(clinic.api.get("/appointments?date=tomorrow"), 422)


def test_lists_take_a_fixed_number_of_queries(app: Flask, clinic: Clinic) -> None:
    """Listing sessions or reading the board costs the same few queries for 1 or 6 sessions."""
    few, many = clinic.new_patient(), clinic.new_patient()
    clinic.book(few, count=1, weekdays=(0,))
    clinic.book(many, count=6, weekdays=(0, 2, 4))

    def statements(path: str) -> int:
        seen: list[str] = []

        def count(*args: Any) -> None:
            seen.append(str(args[2]))

        with app.app_context():
            engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            assert clinic.api.get(path).status_code == 200
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    assert statements(f"/appointments?patient_id={few}") == statements(
        f"/appointments?patient_id={many}"
    )
    board = f"/locations/{clinic.location_id}/board?date="
    assert statements(board + clinic.monday.isoformat()) <= 10


def test_the_board_shows_one_locations_day(clinic: Clinic) -> None:
    patient_id = clinic.new_patient()
    series = clinic.book(patient_id, count=1, weekdays=(0,))
    [session] = series["appointments"]

    response = clinic.api.get(
        f"/locations/{clinic.location_id}/board", query_string={"date": clinic.monday.isoformat()}
    )
    assert response.status_code == 200
    board = response.get_json()
    assert board["day"] == clinic.monday.isoformat() and board["is_closed"] is False
    [shown] = [s for s in board["sessions"] if s["appointment_id"] == session["id"]]
    assert shown["patient_id"] == patient_id and shown["status_label"] == "Booked"
    lane = next(lane for lane in board["lanes"] if lane["chair_id"] == session["chair_id"])
    assert session["id"] in {s["appointment_id"] for s in lane["sessions"]}
    assert any(member["staff_id"] == session["monitor_id"] for member in board["staff"])
    assert board["status_counts"]["Booked"] >= 1

    today = clinic.api.get(f"/locations/{clinic.location_id}/board").get_json()
    assert today["day"] == clinic.today.isoformat()
    problem(clinic.api.get("/locations/4242/board"), 404)
    problem(clinic.api.get(f"/locations/{clinic.location_id}/board?date=9999-12-31"), 422)
