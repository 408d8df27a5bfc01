"""Public holidays as closures (issue 16): the admin picks the region, reviews the list and
confirms; loading twice adds nothing; booked days are refused; plans then skip them."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from clinic.audit import Actor
from clinic.extensions import db
from clinic.models import (
    Appointment,
    AuditEvent,
    Chair,
    Closure,
    Location,
    Patient,
    Staff,
    TreatmentType,
)
from clinic.scheduling.plans import PlanRequest, plan_series
from clinic.setup import SetupError, add_holiday_closures, public_holidays, set_holiday_region
from tests.builders import NOW, at, build_world, count_rows

ADMIN = Actor(user_id=None, username="admin")
CHRISTMAS = dt.date(2026, 12, 25)
NEW_YEAR = dt.date(2027, 1, 1)


@pytest.fixture
def location_id(app):
    with app.app_context():
        world = build_world(db.session, chairs=2)
        return world.location.id


def test_the_region_is_checked_against_the_holidays_library(app, location_id):
    with app.app_context():
        with pytest.raises(SetupError) as refused:
            set_holiday_region(
                db.session, location_id=location_id, country="XX", subdivision="", actor=ADMIN
            )
        assert "No public holidays are known" in refused.value.fields["country"]
        with pytest.raises(SetupError) as refused:
            set_holiday_region(
                db.session, location_id=location_id, country="us", subdivision="ZZ", actor=ADMIN
            )
        assert "has no region" in refused.value.fields["subdivision"]
        location = set_holiday_region(
            db.session, location_id=location_id, country="us", subdivision="ny", actor=ADMIN
        )
        assert (location.holiday_country, location.holiday_subdivision) == ("US", "NY")


def test_loading_holidays_closes_the_ticked_days_once(app, location_id):
    with app.app_context():
        set_holiday_region(
            db.session, location_id=location_id, country="US", subdivision="NY", actor=ADMIN
        )
        listed = {h.date: h for h in public_holidays(db.session, location_id=location_id, now=NOW)}
        assert listed[CHRISTMAS].name == "Christmas Day"
        assert listed[NEW_YEAR].name == "New Year's Day"
        assert dt.date(2026, 1, 1) not in listed  # past
        added = add_holiday_closures(
            db.session, location_id=location_id, dates=[CHRISTMAS, NEW_YEAR], actor=ADMIN, now=NOW
        )
        assert [c.reason for c in added] == ["Christmas Day", "New Year's Day"]
        again = add_holiday_closures(
            db.session, location_id=location_id, dates=[CHRISTMAS, NEW_YEAR], actor=ADMIN, now=NOW
        )
        assert again == []
        assert count_rows(db.session, Closure) == 2
        with pytest.raises(SetupError):  # not a holiday: the form cannot close any day
            add_holiday_closures(
                db.session,
                location_id=location_id,
                dates=[dt.date(2026, 12, 24)],
                actor=ADMIN,
                now=NOW,
            )


def test_a_protocol_plan_skips_loaded_holidays(app, location_id):
    with app.app_context():
        set_holiday_region(
            db.session, location_id=location_id, country="US", subdivision="", actor=ADMIN
        )
        add_holiday_closures(
            db.session, location_id=location_id, dates=[CHRISTMAS], actor=ADMIN, now=NOW
        )
        protocol_id = db.session.scalar(sa.text("SELECT id FROM protocol LIMIT 1"))
        plan = plan_series(
            db.session,
            PlanRequest(
                location_id=location_id, first_date=dt.date(2026, 12, 23), protocol_id=protocol_id
            ),
            now=NOW,
        )
    assert CHRISTMAS not in plan.dates


def test_the_admin_reviews_and_confirms_on_the_page(app, client, login, location_id):
    login("admin")
    page = client.get(f"/admin/locations/{location_id}").get_data(as_text=True)
    assert f"/admin/locations/{location_id}/holidays" in page
    saved = client.post(
        f"/admin/locations/{location_id}/holidays/region",
        data={"country": "US", "subdivision": "NY"},
    )
    assert saved.status_code == 302
    review = client.get(f"/admin/locations/{location_id}/holidays").get_data(as_text=True)
    assert "Christmas Day" in review and 'value="2026-12-25"' in review
    with app.app_context():
        assert count_rows(db.session, Closure) == 0  # nothing closed before confirming
    ticked = re.findall(r'name="day" value="([\d-]+)" checked>', review)
    assert "2026-12-25" in ticked
    done = client.post(
        f"/admin/locations/{location_id}/holidays/closures", data={"day": ["2026-12-25"]}
    )
    assert done.status_code == 302
    with app.app_context():
        [closure] = db.session.scalars(sa.select(Closure)).all()
        assert (closure.date, closure.reason) == (CHRISTMAS, "Christmas Day")
        assert db.session.scalar(
            sa.select(AuditEvent.id).where(AuditEvent.action == "location.holidays")
        )
    review = client.get(f"/admin/locations/{location_id}/holidays").get_data(as_text=True)
    assert "already closed" in review
    bad = client.post(f"/admin/locations/{location_id}/holidays/region", data={"country": "Narnia"})
    assert bad.status_code == 422


def test_a_receptionist_may_not_load_holidays(client, login, location_id):
    login("receptionist")
    assert client.get(f"/admin/locations/{location_id}/holidays").status_code == 403
    response = client.post(
        f"/admin/locations/{location_id}/holidays/region", data={"country": "US"}
    )
    assert response.status_code == 403


def test_a_holiday_with_sessions_booked_is_refused_naming_it(app, location_id):

    with app.app_context():
        set_holiday_region(
            db.session, location_id=location_id, country="US", subdivision="", actor=ADMIN
        )
        memorial = dt.date(2026, 5, 25)
        location = db.session.get(Location, location_id)

        iv = db.session.scalar(sa.select(TreatmentType).order_by(TreatmentType.id))
        starts = at(memorial, "10:00")
        ends_treat, ends, busy = iv.windows(starts)
        db.session.add(
            Appointment(
                patient_id=db.session.scalar(sa.select(Patient.id)),
                treatment_type_id=iv.id,
                location_id=location.id,
                chair_id=db.session.scalar(sa.select(Chair.id)),
                monitor_id=db.session.scalar(sa.select(Staff.id)),
                starts_at=starts,
                treatment_ends_at=ends_treat,
                ends_at=ends,
                busy_until=busy,
            )
        )
        db.session.commit()
        with pytest.raises(SetupError) as refused:
            add_holiday_closures(
                db.session, location_id=location_id, dates=[memorial], actor=ADMIN, now=NOW
            )
        assert "Memorial Day (2026-05-25): 1" in refused.value.fields["dates"]
        assert count_rows(db.session, Closure) == 0
