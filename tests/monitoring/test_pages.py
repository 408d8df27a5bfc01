"""The record on the session page: recording through the forms, refusals next to the field
with nothing saved, the checkpoints and the chart, roles, and the REMS forms due page."""

from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa

from clinic.audit import Actor
from clinic.extensions import db
from clinic.models import Appointment, AppointmentStatus, RecordEntry, Role, SessionRecord
from clinic.scheduling import status
from tests.builders import NOW, TODAY, add_session, build_world, make_user
from tests.monitoring.walk import MINUTE, walk_to_discharge

DESK = Actor(user_id=None, username="desk")


@pytest.fixture
def world_ids(app, clock):
    """An IV session at 08:00 (checked in at 07:00, the clock's NOW) and a nasal one
    yesterday, attended and discharged."""
    with app.app_context():
        world = build_world(db.session, today=TODAY)
        iv = add_session(
            db.session, world, patient=world.patients[0], starts_at=world.at(TODAY, "08:00")
        )
        status.check_in(db.session, appointment_id=iv.id, actor=DESK, now=NOW)
        yesterday = TODAY.replace(day=TODAY.day - 1)
        nasal = add_session(
            db.session,
            world,
            patient=world.patients[1],
            starts_at=world.at(yesterday, "09:00"),
            chair=world.nasal_chairs[0],
            treatment=world.nasal,
        )
        nurse = make_user(db.session, "nurse-walk", Role.NURSE)
        walk_to_discharge(db.session, nasal.id, Actor(user_id=nurse.id, username="nurse-walk"))
        return {"iv": iv.id, "nasal": nasal.id}


def test_a_nurse_records_vitals_from_the_session_page(app, client, login, clock, world_ids):
    login("nurse")
    clock.advance(10 * MINUTE)
    response = client.post(
        f"/sessions/{world_ids['iv']}/record/vitals",
        data={
            "taken_at": "07:05",
            "systolic": "131",
            "diastolic": "82",
            "heart_rate": "77",
            "spo2": "98",
        },
    )
    assert response.status_code == 302
    page = client.get(f"/sessions/{world_ids['iv']}").get_data(as_text=True)
    assert "BP 131/82 · HR 77 · SpO2 98%" in page
    assert 'data-state="done"' in page  # the baseline checkpoint
    with app.app_context():
        entry = db.session.scalars(
            sa.select(RecordEntry).where(RecordEntry.appointment_id == world_ids["iv"])
        ).one()
        assert entry.recorded_by == "nurse-user" and entry.recorded_at == clock()


def test_implausible_vitals_are_shown_next_to_the_field_and_nothing_is_saved(
    app, client, login, clock, world_ids
):
    login("nurse")
    response = client.post(
        f"/sessions/{world_ids['iv']}/record/vitals",
        data={
            "taken_at": "07:00",
            "systolic": "320",
            "diastolic": "82",
            "heart_rate": "77",
            "spo2": "98",
        },
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Systolic blood pressure must be between 40 and 300." in page
    assert 'value="320"' in page  # kept as typed
    future = client.post(
        f"/sessions/{world_ids['iv']}/record/vitals",
        data={
            "taken_at": "09:00",
            "systolic": "120",
            "diastolic": "80",
            "heart_rate": "77",
            "spo2": "98",
        },
    )
    assert future.status_code == 422 and "is in the future" in future.get_data(as_text=True)
    with app.app_context():
        assert not db.session.scalars(
            sa.select(RecordEntry).where(RecordEntry.appointment_id == world_ids["iv"])
        ).all()


def test_the_front_desk_reads_but_does_not_write_the_record(app, client, login, clock, world_ids):
    login("receptionist")
    page = client.get(f"/sessions/{world_ids['iv']}")
    assert page.status_code == 200 and "Monitoring record" in page.get_data(as_text=True)
    assert 'id="record-vitals"' not in page.get_data(as_text=True)
    response = client.post(
        f"/sessions/{world_ids['iv']}/record/note", data={"taken_at": "07:00", "text": "hello"}
    )
    assert response.status_code == 403
    assert client.post(f"/sessions/{world_ids['iv']}/discharge").status_code == 403
    assert (
        client.post(f"/rems/{world_ids['nasal']}/submitted", data={"reference": "X"}).status_code
        == 403
    )


def test_the_chart_is_a_local_svg_without_script(app, client, login, clock, world_ids):
    login("nurse")
    response = client.get(f"/sessions/{world_ids['nasal']}/vitals.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    body = response.get_data(as_text=True)
    assert "<script" not in body and "Systolic" in body and "Heart rate" in body
    assert "script-src" not in response.headers["Content-Security-Policy"]
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")


def test_rems_forms_due_lists_marks_and_exports(app, client, login, clock, world_ids):
    login("nurse")
    page = client.get("/rems/forms-due").get_data(as_text=True)
    assert f'data-appointment="{world_ids["nasal"]}"' in page
    assert f'data-appointment="{world_ids["iv"]}"' not in page  # IV needs no REMS form
    exported = client.get("/rems/forms-due.csv")
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True))))
    assert rows[0][-2:] == ["deadline", "days left"]
    assert rows[1][0] == str(world_ids["nasal"]) and rows[1][-1] == "6"
    assert rows[1][-2] == TODAY.replace(day=TODAY.day + 6).isoformat()
    session_page = client.get(f"/sessions/{world_ids['nasal']}").get_data(as_text=True)
    assert "REMS patient monitoring form" in session_page and "56 mg" in session_page
    done = client.post(f"/rems/{world_ids['nasal']}/submitted", data={"reference": "REMS-7781"})
    assert done.status_code == 302
    assert f'data-appointment="{world_ids["nasal"]}"' not in client.get("/rems/forms-due").get_data(
        as_text=True
    )
    again = client.post(
        f"/rems/{world_ids['nasal']}/submitted",
        data={"reference": "REMS-7782"},
        follow_redirects=True,
    )
    assert "already marked submitted (REMS-7781)" in again.get_data(as_text=True)
    with app.app_context():
        record = db.session.scalar(
            sa.select(SessionRecord).where(SessionRecord.appointment_id == world_ids["nasal"])
        )
        assert record.rems_reference == "REMS-7781" and record.rems_submitted_by == "nurse-user"


def test_discharge_from_the_page_lists_what_is_missing(app, client, login, clock, world_ids):
    clock.advance(60 * MINUTE)  # 08:00, the booked start
    login("nurse")
    assert client.post(f"/sessions/{world_ids['iv']}/start-treatment").status_code == 302
    assert client.post(f"/sessions/{world_ids['iv']}/start-monitoring").status_code == 302
    refused = client.post(f"/sessions/{world_ids['iv']}/discharge", data={"escort_confirmed": "y"})
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "No dose is recorded" in page and "Baseline" in page
    with app.app_context():
        assert db.session.get(Appointment, world_ids["iv"]).status == AppointmentStatus.MONITORING
