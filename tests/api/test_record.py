"""The session record over the API: the same validation as the pages, the checkpoints, the
discharge gate naming each condition, amendments, the REMS forms due, and the OpenAPI
entries for all of them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import Flask

from clinic.clock import FixedClock
from clinic.extensions import db
from clinic.models import RecordEntry, TreatmentType
from tests.api.conftest import ApiClient, TodaySession, audit_events, problem
from tests.builders import count_rows

MINUTE = dt.timedelta(minutes=1)


def iso(moment: dt.datetime) -> str:
    return moment.isoformat()


def _vitals(at: dt.datetime, **overrides: Any) -> dict[str, Any]:
    return {
        "taken_at": iso(at),
        "systolic": 126,
        "diastolic": 80,
        "heart_rate": 74,
        "spo2": 98,
        **overrides,
    }


def _set_treatment(app: Flask, **values: Any) -> None:
    """The today_session's treatment type (the newest), with these settings."""
    with app.app_context():
        treatment = db.session.scalar(
            sa.select(TreatmentType).order_by(TreatmentType.id.desc()).limit(1)
        )
        for name, value in values.items():
            setattr(treatment, name, value)
        db.session.commit()


def test_the_record_over_the_api_from_check_in_to_discharge(
    app: Flask,
    clock: FixedClock,
    api_as: Callable[..., ApiClient],
    today_session: Callable[..., TodaySession],
) -> None:
    booked = today_session(minutes=30)
    start = booked.starts_at
    _set_treatment(app, max_dose_mg_per_kg=1.0)
    clock.set(start - 40 * MINUTE)
    nurse = api_as("nurse")
    path = f"/appointments/{booked.appointment_id}"
    assert (
        nurse.post(
            f"{path}/check-in", json={"escort_name": "Sam Garcia", "escort_confirmed": True}
        ).status_code
        == 200
    )
    # Bad input: refused with the field named, nothing saved.
    refused = problem(nurse.post(f"{path}/record/vitals", json=_vitals(clock(), systolic=320)), 422)
    assert refused["errors"] == [
        {"field": "body.systolic", "message": "Systolic blood pressure must be between 40 and 300."}
    ]
    future = problem(nurse.post(f"{path}/record/vitals", json=_vitals(clock() + 5 * MINUTE)), 422)
    assert "in the future" in future["detail"]
    problem(nurse.post(f"{path}/record/vitals", json={**_vitals(clock()), "pulse": 70}), 422)
    with app.app_context():
        assert count_rows(db.session, RecordEntry) == 0
    baseline = nurse.post(f"{path}/record/vitals", json=_vitals(clock()))
    assert baseline.status_code == 201 and baseline.get_json()["recorded_by"] == "api-nurse"
    early = problem(nurse.post(f"{path}/start-treatment"), 422)
    assert "at the earliest (30 minutes before the booked" in early["detail"]
    clock.set(start)
    nurse.post(f"{path}/start-treatment")
    too_much = problem(
        nurse.post(
            f"{path}/record/iv-dose",
            json={
                "infusion_starts_at": iso(start),
                "weight_kg": 80,
                "mg_per_kg": 2,
                "total_mg": 160,
            },
        ),
        422,
    )
    assert {e["field"] for e in too_much["errors"]} == {"body.mg_per_kg"}
    clock.set(start + 46 * MINUTE)
    dose = nurse.post(
        f"{path}/record/iv-dose",
        json={
            "infusion_starts_at": iso(start),
            "infusion_ends_at": iso(start + 45 * MINUTE),
            "weight_kg": 80,
            "mg_per_kg": 0.5,
            "total_mg": 40,
        },
    )
    assert dose.status_code == 201, dose.get_json()
    nurse.post(f"{path}/start-monitoring")
    checkpoints = nurse.get(f"{path}/checkpoints").get_json()
    assert [(c["label"], c["state"]) for c in checkpoints] == [
        ("Baseline", "done"),
        ("Before discharge", "upcoming"),
    ]
    refused = problem(nurse.post(f"{path}/discharge", json={"escort_confirmed": True}), 422)
    assert "Monitoring since the dose has lasted 1 minutes" in refused["detail"]
    assert "No discharge assessment" in refused["detail"]
    clock.set(start + 95 * MINUTE)
    nurse.post(f"{path}/record/vitals", json=_vitals(clock()))
    assessment = nurse.post(
        f"{path}/record/assessment", json={"taken_at": iso(clock()), "score": 9}
    )
    assert assessment.status_code == 201
    record = nurse.get(f"{path}/record").get_json()
    assert record["discharge_conditions"] == []
    assert len(record["entries"]) == 4 and record["treatment_started_at"] is not None
    discharged = nurse.post(f"{path}/discharge", json={"escort_confirmed": True})
    assert discharged.status_code == 200 and discharged.get_json()["status"] == "discharged"


def test_an_amendment_over_the_api_keeps_the_original(
    app: Flask,
    clock: FixedClock,
    api_as: Callable[..., ApiClient],
    today_session: Callable[..., TodaySession],
) -> None:
    booked = today_session(minutes=30)
    clock.set(booked.starts_at - 20 * MINUTE)
    nurse = api_as("nurse")
    path = f"/appointments/{booked.appointment_id}"
    nurse.post(f"{path}/check-in")
    wrong = nurse.post(f"{path}/record/vitals", json=_vitals(clock(), heart_rate=170)).get_json()
    problem(nurse.post(f"/record-entries/{wrong['id']}/amend", json={"reason": "typo"}), 422)
    fixed = nurse.post(
        f"/record-entries/{wrong['id']}/amend",
        json={"reason": "Typed 170 for 70", "vitals": _vitals(clock(), heart_rate=70)},
    )
    assert fixed.status_code == 201 and fixed.get_json()["amends_id"] == wrong["id"]
    record = nurse.get(f"{path}/record").get_json()
    assert [e["heart_rate"] for e in record["entries"]] == [170, 70]
    assert record["current_entry_ids"] == [fixed.get_json()["id"]]
    assert audit_events(app, "record.amend")
    problem(
        nurse.post(
            "/record-entries/99999/amend",
            json={"reason": "x", "note": {"taken_at": iso(clock()), "text": "a"}},
        ),
        404,
    )


def test_the_front_desk_cannot_write_the_record_or_discharge(
    api_as: Callable[..., ApiClient], today_session: Callable[..., TodaySession]
) -> None:
    booked = today_session(minutes=30)
    desk = api_as("receptionist")
    path = f"/appointments/{booked.appointment_id}"
    assert desk.get(f"{path}/record").status_code == 200
    problem(desk.post(f"{path}/record/vitals", json=_vitals(dt.datetime.now(dt.UTC))), 403)
    problem(desk.post(f"{path}/discharge", json={"escort_confirmed": True}), 403)
    problem(desk.post(f"{path}/rems-form/submitted", json={"reference": "R"}), 403)


def test_rems_forms_due_over_the_api(
    app: Flask,
    clock: FixedClock,
    api_as: Callable[..., ApiClient],
    today_session: Callable[..., TodaySession],
) -> None:
    booked = today_session(minutes=-30)
    _set_treatment(app, route="nasal", needs_rems_enrollment=True)
    clock.set(booked.starts_at + 5 * MINUTE)
    nurse = api_as("nurse")
    nurse.post(f"/appointments/{booked.appointment_id}/check-in")
    items = nurse.get("/rems/forms-due").get_json()["items"]
    [row] = [i for i in items if i["appointment_id"] == booked.appointment_id]
    assert row["days_left"] == 7
    problem(
        nurse.post(
            f"/appointments/{booked.appointment_id}/rems-form/submitted", json={"reference": ""}
        ),
        422,
    )
    done = nurse.post(
        f"/appointments/{booked.appointment_id}/rems-form/submitted", json={"reference": "REMS-1"}
    )
    assert done.status_code == 200 and done.get_json()["rems_reference"] == "REMS-1"
    assert booked.appointment_id not in [
        i["appointment_id"] for i in nurse.get("/rems/forms-due").get_json()["items"]
    ]


def test_the_openapi_document_describes_the_record(app: Flask, client) -> None:
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in (
        "/api/v1/appointments/{appointment_id}/record",
        "/api/v1/appointments/{appointment_id}/checkpoints",
        "/api/v1/appointments/{appointment_id}/record/vitals",
        "/api/v1/appointments/{appointment_id}/record/iv-dose",
        "/api/v1/appointments/{appointment_id}/record/nasal-dose",
        "/api/v1/appointments/{appointment_id}/record/assessment",
        "/api/v1/record-entries/{entry_id}/amend",
        "/api/v1/rems/forms-due",
        "/api/v1/appointments/{appointment_id}/rems-form/submitted",
    ):
        assert path in paths, path
    vitals = paths["/api/v1/appointments/{appointment_id}/record/vitals"]["post"]
    assert "201" in vitals["responses"] and "422" in vitals["responses"]
