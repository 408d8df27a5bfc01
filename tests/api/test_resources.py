"""The clinic's set-up, read-only: locations, chairs, staff, treatment types, protocols."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from clinic.extensions import db
from clinic.models import NO_DRIVING_NOTICE, Chair
from tests.api.conftest import ApiClient, problem


@pytest.fixture
def api(api_as: Callable[..., ApiClient], demo: dict[str, Any]) -> ApiClient:
    return api_as("nurse")  # the least privileged role reads the set-up too


def test_locations_list_with_opening_hours(api: ApiClient, demo: dict[str, Any]) -> None:
    items = api.get("/locations").get_json()["items"]
    assert [item["id"] for item in items] == [demo["location_id"]]
    location = items[0]
    assert location["timezone"] == "America/New_York"
    assert {"weekday": 0, "opens": "08:00", "closes": "18:00"} in location["opening_hours"]
    assert api.get(f"/locations/{demo['location_id']}").get_json() == location


def test_chairs_list_filter_and_read(app: Flask, api: ApiClient, demo: dict[str, Any]) -> None:
    chairs = api.get(f"/chairs?location_id={demo['location_id']}").get_json()["items"]
    assert len(chairs) >= 2 and all(c["location_id"] == demo["location_id"] for c in chairs)
    assert api.get("/chairs?location_id=999").get_json() == {"items": []}
    with app.app_context():
        retired = db.session.get(Chair, chairs[0]["id"])
        retired.active = False
        db.session.commit()
    active = api.get("/chairs").get_json()["items"]
    everything = api.get("/chairs?include_inactive=true").get_json()["items"]
    assert chairs[0]["id"] not in {c["id"] for c in active}
    assert chairs[0]["id"] in {c["id"] for c in everything}
    chair = api.get(f"/chairs/{chairs[1]['id']}").get_json()
    assert chair == chairs[1] and chair["capabilities"]


def test_staff_with_certifications_and_role_filter(api: ApiClient) -> None:
    nurses = api.get("/staff?role=nurse").get_json()["items"]
    prescribers = api.get("/staff?role=prescriber").get_json()["items"]
    assert nurses and prescribers
    assert {member["role"] for member in nurses} == {"nurse"}
    maria = next(member for member in nurses if member["name"] == "Maria Kim")
    kinds = {cert["kind"] for cert in maria["certifications"]}
    assert {"RN", "ACLS", "KETAMINE_IV"} <= kinds
    assert "email" not in maria
    assert api.get(f"/staff/{maria['id']}").get_json() == maria
    problem(api.get("/staff?role=janitor"), 422)


def test_treatment_types_carry_the_no_driving_notice(api: ApiClient) -> None:
    items = api.get("/treatment-types").get_json()["items"]
    assert {item["route"] for item in items} == {"iv", "nasal"}
    for item in items:
        assert item["full_patient_notice"].startswith(NO_DRIVING_NOTICE)
        assert api.get(f"/treatment-types/{item['id']}").get_json() == item


def test_protocols_list_filter_and_read(api: ApiClient) -> None:
    protocols = api.get("/protocols").get_json()["items"]
    iv = next(p for p in protocols if p["name"] == "IV ketamine induction")
    assert iv["session_count"] == sum(phase["sessions"] for phase in iv["phases"])
    same_type = api.get(f"/protocols?treatment_type_id={iv['treatment_type_id']}").get_json()
    assert [p["id"] for p in same_type["items"]] == [iv["id"]]
    assert api.get(f"/protocols/{iv['id']}").get_json() == iv


@pytest.mark.parametrize(
    ("path", "what"),
    [
        ("/locations/999", "location"),
        ("/chairs/999", "chair"),
        ("/staff/999", "staff member"),
        ("/treatment-types/999", "treatment type"),
        ("/protocols/999", "protocol"),
    ],
)
def test_unknown_records_are_404(api: ApiClient, path: str, what: str) -> None:
    assert problem(api.get(path), 404)["detail"] == f"There is no {what} with id 999."


def test_a_list_takes_a_constant_number_of_queries(app: Flask, api: ApiClient) -> None:
    """Staff with their certifications: two queries whatever the number of staff."""
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        assert len(api.get("/staff").get_json()["items"]) >= 5
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    reads = [s for s in statements if "FROM staff" in s or "FROM certification" in s]
    assert len(reads) == 2, reads
