"""Booking through the web: the series wizard, a single session, reschedule and cancel."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import (
    Appointment,
    AppointmentStatus,
    AuditEvent,
    Chair,
    Notification,
    Series,
    TreatmentType,
)
from clinic.web.series import decode_slot
from tests.builders import TODAY, build_world, count_rows


@pytest.fixture
def world_ids(app):
    with app.app_context():
        world = build_world(db.session, chairs=3)
        return {
            "today": TODAY,
            "first": TODAY + dt.timedelta(days=7),
            "location": world.location.id,
            "patient": world.patients[0].id,
            "other_patient": world.patients[1].id,
            "protocol": world.iv_protocol.id,
            "iv": world.iv.id,
            "nurse": world.nurses[0].id,
        }


def plan_data(ids, **overrides):
    data = {
        "patient_id": str(ids["patient"]),
        "location_id": str(ids["location"]),
        "mode": "protocol",
        "protocol_id": str(ids["protocol"]),
        "treatment_type_id": str(ids["iv"]),
        "count": "6",
        "min_hours_between": "24",
        "first_date": ids["first"].isoformat(),
        "preferred_start": "09:00",
        "preferred_end": "12:00",
        "action": "preview",
    }
    data.update(overrides)
    return data


def choices(html: str) -> dict[str, str]:
    """The checked choice of each session in a rendered preview."""
    picked = {}
    for match in re.finditer(
        r'<input type="radio" name="(choice_\d+)" value="([^"]+)"([^>]*)>', html
    ):
        name, value, rest = match.groups()
        if "checked" in rest or name not in picked:
            picked[name] = value
    return picked


def test_wizard_steps_patient_then_plan(client, login, world_ids):
    login("receptionist")
    step1 = client.get("/series/new?q=tester1").get_data(as_text=True)
    assert f"/series/new?patient_id={world_ids['patient']}" in step1
    step2 = client.get(f"/series/new?patient_id={world_ids['patient']}")
    html = step2.get_data(as_text=True)
    assert step2.status_code == 200
    for label in ("Location", "Protocol", "First date", "Weekdays the patient can come"):
        assert label in html
    assert "IV ketamine induction" in html
    assert client.get("/series/new?patient_id=999999").status_code == 404


def test_preview_then_confirm_books_the_whole_series(app, client, login, world_ids):
    login("receptionist")
    preview = client.post("/series/new", data=plan_data(world_ids))
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "every date can be met" in html
    picked = choices(html)
    assert len(picked) == 6
    slots = [decode_slot(value) for value in picked.values()]
    assert all(slot is not None for slot in slots)
    with app.app_context():
        assert count_rows(db.session, Appointment) == 0  # a preview writes nothing
    confirmed = client.post(
        "/series/new", data={**plan_data(world_ids), **picked, "action": "confirm"}
    )
    assert confirmed.status_code == 302
    assert re.match(r"/series/\d+$", confirmed.headers["Location"])
    with app.app_context():
        booked = db.session.scalars(sa.select(Appointment).order_by(Appointment.starts_at)).all()
        assert len(booked) == 6
        assert {a.series_id for a in booked} != {None}
        assert [a.starts_at for a in booked] == sorted(s.starts_at for s in slots)
        assert count_rows(db.session, Notification) > 0
        assert db.session.scalar(sa.select(AuditEvent.id).where(AuditEvent.action == "series.book"))
    page = client.get(confirmed.headers["Location"]).get_data(as_text=True)
    assert "0 of 6 sessions done" in page


def test_a_slot_taken_meanwhile_gives_a_message_and_a_fresh_preview(app, client, login, world_ids):
    login("receptionist")
    html = client.post("/series/new", data=plan_data(world_ids)).get_data(as_text=True)
    picked = choices(html)
    first = decode_slot(picked["choice_1"])
    # Another receptionist books the same chair at the same time for someone else.
    insert_session(
        app,
        world_ids,
        patient_id=world_ids["other_patient"],
        starts_at=first.starts_at,
        chair_id=first.chair_id,
        monitor_id=first.monitor_id,
    )
    response = client.post(
        "/series/new", data={**plan_data(world_ids), **picked, "action": "confirm"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "That slot was just taken" in html
    assert "Preview:" in html  # a fresh preview to choose from
    assert choices(html)["choice_1"] != picked["choice_1"]
    with app.app_context():
        assert count_rows(db.session, Series) == 0  # nothing half-saved
        assert count_rows(db.session, Appointment) == 1


def test_wizard_refuses_bad_plans_with_clear_messages(app, client, login, world_ids):
    login("receptionist")
    cases = [
        ({"first_date": "soon"}, "Choose the date of the first session"),
        ({"protocol_id": ""}, "Choose a protocol"),
        ({"mode": "custom", "count": "", "weekdays": []}, "Enter how many sessions"),
        ({"mode": "custom", "count": "500", "weekdays": ["0", "2"]}, "between 1 and 60"),
        ({"preferred_start": "25:99"}, "Enter a time as HH:MM"),
        ({"preferred_start": "15:00", "preferred_end": "09:00"}, "ends before it starts"),
        ({"location_id": "999999"}, "location"),
    ]
    for overrides, message in cases:
        response = client.post("/series/new", data=plan_data(world_ids, **overrides))
        assert response.status_code in (404, 422), (overrides, response.status_code)
        assert message.lower() in response.get_data(as_text=True).lower(), overrides
    # A forged choice value is refused and a fresh preview shown; nothing is booked.
    response = client.post(
        "/series/new",
        data={**plan_data(world_ids), "choice_1": "garbage", "action": "confirm"},
    )
    assert response.status_code == 422
    assert "Choose a time for session 1" in response.get_data(as_text=True)
    with app.app_context():
        assert count_rows(db.session, Appointment) == 0


def test_custom_pattern_series(app, client, login, world_ids):
    login("admin")
    data = plan_data(
        world_ids, mode="custom", count="3", weekdays=["1", "3"], min_hours_between="48"
    )
    html = client.post("/series/new", data=data).get_data(as_text=True)
    picked = choices(html)
    assert len(picked) == 3
    response = client.post("/series/new", data={**data, **picked, "action": "confirm"})
    assert response.status_code == 302
    with app.app_context():
        days = [a.starts_at.weekday() for a in db.session.scalars(sa.select(Appointment))]
        assert len(days) == 3


def test_single_session_booking(app, client, login, world_ids):
    login("receptionist")
    query = (
        f"/sessions/new?patient_id={world_ids['patient']}&find=1&treatment_type_id="
        f"{world_ids['iv']}&location_id={world_ids['location']}&date={world_ids['first']}"
    )
    html = client.get(query).get_data(as_text=True)
    values = re.findall(r'name="slot_choice" value="([^"]+)"', html)
    assert values
    response = client.post(
        "/sessions/new",
        data={
            "patient_id": str(world_ids["patient"]),
            "treatment_type_id": str(world_ids["iv"]),
            "location_id": str(world_ids["location"]),
            "date": world_ids["first"].isoformat(),
            "slot_choice": values[0],
        },
    )
    assert response.status_code == 302
    with app.app_context():
        assert count_rows(db.session, Appointment) == 1
    # The same time again for the same patient: refused with words, not a 500.
    again = client.post(
        "/sessions/new",
        data={
            "patient_id": str(world_ids["patient"]),
            "treatment_type_id": str(world_ids["iv"]),
            "location_id": str(world_ids["location"]),
            "date": world_ids["first"].isoformat(),
            "slot_choice": values[0],
        },
    )
    assert again.status_code in (409, 422)
    with app.app_context():
        assert count_rows(db.session, Appointment) == 1


def _book_series(client, ids) -> list[int]:
    html = client.post("/series/new", data=plan_data(ids)).get_data(as_text=True)
    response = client.post(
        "/series/new", data={**plan_data(ids), **choices(html), "action": "confirm"}
    )
    assert response.status_code == 302
    return [
        int(n)
        for n in re.findall(
            r"/sessions/(\d+)\"", client.get(response.headers["Location"]).get_data(as_text=True)
        )
    ]


def test_reschedule_one_and_cancel_following(app, client, login, world_ids):
    login("receptionist")
    ids = _book_series(client, world_ids)
    assert len(ids) == 6
    with app.app_context():
        first = db.session.get(Appointment, ids[0])
        tz = first.location.tz
        old_start = first.starts_at
        local = old_start.astimezone(tz)
    page = client.get(f"/sessions/{ids[0]}/reschedule").get_data(as_text=True)
    assert "Only this session" in page
    new_local = (local + dt.timedelta(hours=3)).strftime("%H:%M")
    moved = client.post(
        f"/sessions/{ids[0]}/reschedule",
        data={"scope": "one", "new_date": local.date().isoformat(), "new_time": new_local},
    )
    assert moved.status_code == 302, moved.get_data(as_text=True)
    with app.app_context():
        appointment = db.session.get(Appointment, ids[0])
        assert appointment.starts_at == old_start + dt.timedelta(hours=3)
        assert appointment.calendar_sequence == 1

    missing_reason = client.post(f"/sessions/{ids[3]}/cancel", data={"scope": "following"})
    assert missing_reason.status_code == 422
    assert "Give a reason for cancelling" in missing_reason.get_data(as_text=True)
    cancelled = client.post(
        f"/sessions/{ids[3]}/cancel", data={"scope": "following", "reason": "Moving abroad"}
    )
    assert cancelled.status_code == 302
    with app.app_context():
        statuses = [db.session.get(Appointment, n).status for n in ids]
        assert statuses[:3] == [AppointmentStatus.BOOKED] * 3
        assert statuses[3:] == [AppointmentStatus.CANCELLED] * 3


def test_reschedule_refusals_rerender_with_reasons(app, client, login, world_ids):
    login("receptionist")
    ids = _book_series(client, world_ids)
    bad = client.post(
        f"/sessions/{ids[0]}/reschedule",
        data={"scope": "one", "new_date": "2020-01-01", "new_time": "09:00"},
    )
    assert bad.status_code == 422
    assert "has passed" in bad.get_data(as_text=True)
    garbage = client.post(
        f"/sessions/{ids[0]}/reschedule", data={"scope": "one", "new_date": "x", "new_time": "y"}
    )
    assert garbage.status_code == 422
    assert "Enter a date" in garbage.get_data(as_text=True)
    bad_scope = client.post(
        f"/sessions/{ids[0]}/reschedule",
        data={
            "scope": "everything",
            "new_date": world_ids["first"].isoformat(),
            "new_time": "10:00",
        },
    )
    assert bad_scope.status_code == 422
    assert client.get("/sessions/999999/reschedule").status_code == 404
    assert client.get("/sessions/999999/cancel").status_code == 404


def test_session_page_offers_reschedule_and_cancel_only_to_booking_roles(
    app, client, login, world_ids
):
    appointment_id = insert_session(
        app,
        world_ids,
        patient_id=world_ids["patient"],
        starts_at=dt.datetime.combine(world_ids["first"], dt.time(15), tzinfo=dt.UTC),
    )
    login("nurse")
    html = client.get(f"/sessions/{appointment_id}").get_data(as_text=True)
    assert "Reschedule" not in html and "Cancel session" not in html
    client.post("/logout")
    login("receptionist")
    html = client.get(f"/sessions/{appointment_id}").get_data(as_text=True)
    assert "Reschedule" in html and "Cancel session" in html


def insert_session(
    app,
    ids,
    *,
    patient_id: int,
    starts_at: dt.datetime,
    chair_id: int | None = None,
    monitor_id: int | None = None,
) -> int:
    """A session written straight to the database, as another receptionist's booking."""
    with app.app_context():
        iv = db.session.get(TreatmentType, ids["iv"])
        treatment_ends_at, ends_at, busy_until = iv.windows(starts_at)
        chair_id = chair_id or db.session.scalar(
            sa.select(Chair.id).where(Chair.location_id == ids["location"]).order_by(Chair.id)
        )
        appointment = Appointment(
            patient_id=patient_id,
            treatment_type_id=iv.id,
            location_id=ids["location"],
            chair_id=chair_id,
            monitor_id=monitor_id or ids["nurse"],
            starts_at=starts_at,
            treatment_ends_at=treatment_ends_at,
            ends_at=ends_at,
            busy_until=busy_until,
        )
        db.session.add(appointment)
        db.session.commit()
        return appointment.id
