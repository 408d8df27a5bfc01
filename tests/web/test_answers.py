"""The web layer's one path from input and refusals to answers: house fields keep their
wording, refusals keep their status, the views read the app's clock."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from clinic.clock import FixedClock, set_clock
from clinic.extensions import db
from clinic.models import Closure, Location
from clinic.scheduling.plans import next_weekday
from clinic.web.admin.forms import ProtocolForm, WindowForm
from clinic.web.forms import RescheduleForm
from tests.builders import build_world

FRIDAY_NOON = dt.datetime(2031, 5, 16, 16, 0, tzinfo=dt.UTC)


def test_next_weekday_skips_the_weekend():
    friday = dt.date(2031, 5, 16)
    assert next_weekday(friday) == dt.date(2031, 5, 19)
    assert next_weekday(dt.date(2031, 5, 19)) == dt.date(2031, 5, 20)


def test_house_fields_parse_and_word_bad_text_in_the_clinic_wording(app):
    with app.test_request_context(method="POST"):
        window = WindowForm(
            formdata=MultiDict({"start_date": "2031-05-19", "end_date": "19/05/2031"}),
            meta={"csrf": False},
        )
        assert not window.validate()
        assert window.end_date.errors == ["Enter the date as YYYY-MM-DD and the time as HH:MM."]
        assert window.window()[0] == dt.datetime(2031, 5, 19, 0, 0)

        moved = RescheduleForm(
            formdata=MultiDict({"new_date": "2031-05-19", "new_time": "09:30"}),
            meta={"csrf": False},
        )
        assert moved.validate()
        assert moved.new_start() == (dt.date(2031, 5, 19), dt.time(9, 30))


def test_a_protocol_phase_needs_both_numbers(app):
    with app.test_request_context(method="POST"):
        form = ProtocolForm(
            formdata=MultiDict({"phase1_sessions": "6", "phase1_per_week": "two"}),
            meta={"csrf": False},
        )
        form.treatment_type_id.choices = []
        assert not form.validate()
        assert "as whole numbers" in form.phase1_sessions.errors[0]


def test_the_wizard_proposes_the_next_weekday_of_the_app_clock(app, client, login):
    set_clock(app, FixedClock(FRIDAY_NOON))
    with app.app_context():
        world = build_world(db.session, today=FRIDAY_NOON.date())
        patient_id = world.patients[0].id
    login("receptionist")
    html = client.get(f"/series/new?patient_id={patient_id}").get_data(as_text=True)
    assert 'value="2031-05-19"' in html


def test_a_record_that_is_gone_is_a_plain_404(app, client, login):
    login("receptionist")
    response = client.get("/patients/999999")
    assert response.status_code == 404
    assert "There is nothing at this address." in response.get_data(as_text=True)


@pytest.mark.parametrize("typed", ["31/12/2031", "tomorrow"])
def test_a_bad_closure_date_is_refused_with_its_wording_and_saves_nothing(
    app, client, login, typed
):
    with app.app_context():
        location_id = build_world(db.session, today=FRIDAY_NOON.date()).location.id
    login("admin")
    response = client.post(
        f"/admin/locations/{location_id}/closures", data={"date": typed, "reason": "Holiday"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter the date as YYYY-MM-DD." in html and f'value="{typed}"' in html
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Closure.id))) == 0
        assert db.session.get(Location, location_id) is not None


def test_a_refused_button_is_flashed_on_its_own_page(app, client, login):
    login("admin")
    response = client.post("/admin/api-tokens/9999/revoke")
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/api-tokens"
    page = client.get("/admin/api-tokens").get_data(as_text=True)
    assert "There is no API token with id 9999." in page
