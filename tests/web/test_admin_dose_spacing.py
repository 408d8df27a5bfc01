"""The treatment type form sets the dose spacing, and refuses a bad one saving nothing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import TreatmentType
from tests.builders import build_world

GOOD = {
    "name": "IV booster",
    "route": "iv",
    "chair_capability": "iv",
    "prep_minutes": "10",
    "treatment_minutes": "40",
    "monitoring_minutes": "40",
    "turnover_minutes": "10",
    "required_certifications": "RN, ACLS",
    "max_patients_per_monitor": "2",
    "min_hours_between_doses": "72",
    "needs_escort": "y",
    "active": "y",
}


@pytest.fixture
def admin(client, login):
    return login("admin")


@pytest.fixture
def world(app):
    with app.app_context():
        return build_world(db.session)


def spacing_of(app, name):
    with app.app_context():
        return db.session.scalar(
            sa.select(TreatmentType.min_hours_between_doses).where(TreatmentType.name == name)
        )


def test_an_admin_sets_the_dose_spacing_of_a_treatment_type(app, client, admin, world):
    assert client.post("/admin/treatment-types", data=GOOD).status_code == 302
    assert spacing_of(app, "IV booster") == 72
    page = client.get("/admin/treatment-types").get_data(as_text=True)
    assert 'name="min_hours_between_doses"' in page and 'value="24"' in page


@pytest.mark.parametrize("value", ["", "-1", "673", "soon"])
def test_a_bad_dose_spacing_is_refused_and_nothing_is_saved(app, client, admin, world, value):
    answer = client.post("/admin/treatment-types", data={**GOOD, "min_hours_between_doses": value})
    assert answer.status_code == 422
    assert "Enter the least hours between two doses, from 0 to 672" in answer.get_data(as_text=True)
    assert spacing_of(app, "IV booster") is None
