"""The booking forms refuse a second dose too close to the first, in words naming it."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from clinic.extensions import db
from clinic.models import Appointment
from tests.builders import TODAY, build_world, count_rows


@pytest.fixture
def world_ids(app):
    today = TODAY
    with app.app_context():
        world = build_world(db.session, today=today, chairs=3)
        return {
            "first": today + dt.timedelta(days=7),
            "location": world.location.id,
            "patient": world.patients[0].id,
            "given_name": world.patients[0].given_name,
            "iv": world.iv.id,
        }


def test_a_second_single_session_the_same_day_is_refused_naming_the_first(
    app, client, login, world_ids
):
    login("receptionist")
    ids = world_ids
    query = (
        f"/sessions/new?patient_id={ids['patient']}&find=1&treatment_type_id="
        f"{ids['iv']}&location_id={ids['location']}&date={ids['first']}"
    )
    values = re.findall(r'name="slot_choice" value="([^"]+)"', client.get(query).get_data(True))
    assert values
    form = {
        "patient_id": str(ids["patient"]),
        "treatment_type_id": str(ids["iv"]),
        "location_id": str(ids["location"]),
        "date": ids["first"].isoformat(),
    }
    assert client.post("/sessions/new", data={**form, "slot_choice": values[0]}).status_code == 302
    # Four hours later, same chair and nurse: free, but only four hours after the first dose.
    starts, chair, nurse, prescriber = values[0].split("|")
    later = (dt.datetime.fromisoformat(starts) + dt.timedelta(hours=4)).isoformat()
    again = client.post(
        "/sessions/new", data={**form, "slot_choice": f"{later}|{chair}|{nurse}|{prescriber}"}
    )
    assert again.status_code == 422
    page = again.get_data(as_text=True)
    assert f"{ids['given_name']} already has an IV ketamine infusion at" in page
    assert "doses must be at least 24 h apart" in page
    with app.app_context():
        assert count_rows(db.session, Appointment) == 1
    # And the search no longer offers anything within a day of it.
    offered = re.findall(r'name="slot_choice" value="([^"]+)"', client.get(query).get_data(True))
    booked_at = dt.datetime.fromisoformat(starts)
    for value in offered:
        gap = abs(dt.datetime.fromisoformat(value.split("|")[0]) - booked_at)
        assert gap >= dt.timedelta(hours=24), value
