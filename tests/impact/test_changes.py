"""Each change to the world that a hard rule reads, through the admin pages and the API.

Choices (time off, shifts, chairs, hours, closures, blocks, treatment types) are refused with
the affected sessions and their reasons, change nothing, and are recorded on confirmation
(the page's confirm form; ``?proceed=true`` in the API) with the sessions on the worklist.
Facts (a certification shortened or removed, a nurse leaving, REMS withdrawn) are recorded
at once, their sessions on the worklist.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import (
    AuditEvent,
    Certification,
    ChairBlock,
    Closure,
    Patient,
    ShiftTemplate,
    TimeOff,
    TreatmentType,
)
from tests.api.conftest import ApiClient, problem
from tests.builders import CLINIC_HOURS, TODAY

from .conftest import TUESDAY, Clinic, worklist

NY_OFFSET = "-05:00"  # New York in March before the change to summer time


def tuesday(hhmm: str) -> str:
    return f"{TUESDAY.isoformat()}T{hhmm}:00{NY_OFFSET}"


def hours_form(tuesday_hours: tuple[str, str]) -> dict[str, str]:
    data = {}
    for weekday, (opens, closes) in CLINIC_HOURS.items():
        data[f"d{weekday}_opens1"] = f"{opens:%H:%M}"
        data[f"d{weekday}_closes1"] = f"{closes:%H:%M}"
    data["d1_opens1"], data["d1_closes1"] = tuesday_hours
    return data


def hours_json(tuesday_hours: tuple[str, str]) -> dict[str, Any]:
    intervals = [
        {"weekday": weekday, "opens": f"{opens:%H:%M}", "closes": f"{closes:%H:%M}"}
        for weekday, (opens, closes) in CLINIC_HOURS.items()
        if weekday != 1
    ]
    intervals.append({"weekday": 1, "opens": tuesday_hours[0], "closes": tuesday_hours[1]})
    return {"intervals": intervals}


def treatment_form(app: Any, treatment_type_id: int, **changes: Any) -> dict[str, Any]:
    with app.app_context():
        t = db.session.get(TreatmentType, treatment_type_id)
        data: dict[str, Any] = {
            "name": t.name,
            "route": t.route.value,
            "chair_capability": t.chair_capability,
            "prep_minutes": str(t.prep_minutes),
            "treatment_minutes": str(t.treatment_minutes),
            "monitoring_minutes": str(t.monitoring_minutes),
            "turnover_minutes": str(t.turnover_minutes),
            "required_certifications": ", ".join(t.required_certifications),
            "max_patients_per_monitor": str(t.max_patients_per_monitor),
            "min_hours_between_doses": str(t.min_hours_between_doses),
            "patient_notice": t.patient_notice,
        }
        for flag in ("needs_prescriber_on_site", "needs_rems_enrollment", "needs_escort", "active"):
            if getattr(t, flag):
                data[flag] = "y"
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return data


def certification_form(app: Any, certification_id: int, expires_on: dt.date) -> dict[str, str]:
    with app.app_context():
        c = db.session.get(Certification, certification_id)
        return {
            "kind": c.kind,
            "number": c.number,
            "valid_from": c.valid_from.isoformat(),
            "expires_on": expires_on.isoformat(),
        }


@dataclass(frozen=True)
class Change:
    name: str
    # (clinic, app) -> (url, form data) for the admin page
    page: Callable[[Clinic, Any], tuple[str, dict[str, Any]]]
    # (clinic) -> (method, path, json body or None) for the API
    api: Callable[[Clinic], tuple[str, str, dict[str, Any] | None]]
    affected: Callable[[Clinic], set[int]]
    reason: str
    # Whether the change was recorded (for a refused choice: that it was not).
    recorded: Callable[[Clinic, Any], bool]


def _count(app: Any, query: Any) -> int:
    with app.app_context():
        return int(db.session.scalar(query) or 0)


def _esketamine(c: Clinic) -> set[int]:
    return {c.esketamine_id}


def _iv(c: Clinic) -> set[int]:
    return {c.iv_session_id}


def _both(c: Clinic) -> set[int]:
    return {c.esketamine_id, c.iv_session_id}


def _time_off_of(staff: Callable[[Clinic], int]) -> Callable[[Clinic, Any], bool]:
    return lambda c, app: bool(
        _count(app, sa.select(sa.func.count(TimeOff.id)).where(TimeOff.staff_id == staff(c)))
    )


def _template_gone(template: Callable[[Clinic], int]) -> Callable[[Clinic, Any], bool]:
    return lambda c, app: (
        not _count(
            app, sa.select(sa.func.count(ShiftTemplate.id)).where(ShiftTemplate.id == template(c))
        )
    )


def _chair_state(c: Clinic, app: Any, chair_id: int) -> tuple[bool, list[str]]:
    from clinic.models import Chair

    with app.app_context():
        chair = db.session.get(Chair, chair_id)
        return chair.active, list(chair.capabilities)


def _tuesday_closes(c: Clinic, app: Any) -> str:
    from clinic.models import OpeningHours

    with app.app_context():
        closes = db.session.scalar(
            sa.select(OpeningHours.closes).where(
                OpeningHours.location_id == c.location_id, OpeningHours.weekday == 1
            )
        )
        return f"{closes:%H:%M}"


CHOICES = [
    Change(
        "prescriber_time_off",
        page=lambda c, app: (
            f"/admin/staff/{c.prescriber_id}/time-off",
            {
                "start_date": TUESDAY.isoformat(),
                "start_time": "08:30",
                "end_date": TUESDAY.isoformat(),
                "end_time": "10:00",
                "reason": "Conference",
            },
        ),
        api=lambda c: (
            "POST",
            f"/staff/{c.prescriber_id}/time-off",
            {"starts_at": tuesday("08:30"), "ends_at": tuesday("10:00"), "reason": "Conference"},
        ),
        affected=_esketamine,
        reason="Dr. Helen Alvarez is off (Conference)",
        recorded=_time_off_of(lambda c: c.prescriber_id),
    ),
    Change(
        "prescriber_shift_removed",
        page=lambda c, app: (f"/admin/shift-templates/{c.prescriber_template_id}/delete", {}),
        api=lambda c: ("DELETE", f"/shift-templates/{c.prescriber_template_id}", None),
        affected=_esketamine,
        reason="Dr. Helen Alvarez is not on shift at Riverside at 09:00",
        recorded=_template_gone(lambda c: c.prescriber_template_id),
    ),
    Change(
        "monitor_time_off",
        page=lambda c, app: (
            f"/admin/staff/{c.nurse_id}/time-off",
            {
                "start_date": TUESDAY.isoformat(),
                "start_time": "12:00",
                "end_date": TUESDAY.isoformat(),
                "end_time": "15:00",
            },
        ),
        api=lambda c: (
            "POST",
            f"/staff/{c.nurse_id}/time-off",
            {"starts_at": tuesday("12:00"), "ends_at": tuesday("15:00")},
        ),
        affected=_iv,
        reason="Nurse Maria Kim is off",
        recorded=_time_off_of(lambda c: c.nurse_id),
    ),
    Change(
        "monitor_shift_removed",
        page=lambda c, app: (f"/admin/shift-templates/{c.nurse_template_id}/delete", {}),
        api=lambda c: ("DELETE", f"/shift-templates/{c.nurse_template_id}", None),
        affected=_both,
        reason="not on shift",
        recorded=_template_gone(lambda c: c.nurse_template_id),
    ),
    Change(
        "chair_deactivated",
        page=lambda c, app: (
            f"/admin/chairs/{c.nasal_chair_id}",
            {"label": "Nasal 1", "capabilities": "nasal"},
        ),
        api=lambda c: ("PATCH", f"/chairs/{c.nasal_chair_id}", {"active": False}),
        affected=_esketamine,
        reason="Chair Nasal 1 is out of service",
        recorded=lambda c, app: not _chair_state(c, app, c.nasal_chair_id)[0],
    ),
    Change(
        "capability_removed",
        page=lambda c, app: (
            f"/admin/chairs/{c.iv_chair_id}",
            {"label": "IV 1", "capabilities": "nasal", "active": "y"},
        ),
        api=lambda c: ("PATCH", f"/chairs/{c.iv_chair_id}", {"capabilities": ["nasal"]}),
        affected=_iv,
        reason="cannot take IV ketamine",
        recorded=lambda c, app: _chair_state(c, app, c.iv_chair_id)[1] == ["nasal"],
    ),
    Change(
        "hours_narrowed",
        page=lambda c, app: (
            f"/admin/locations/{c.location_id}/hours",
            hours_form(("08:00", "09:30")),
        ),
        api=lambda c: (
            "PUT",
            f"/locations/{c.location_id}/opening-hours",
            hours_json(("08:00", "09:30")),
        ),
        affected=_both,
        reason="outside the opening hours",
        recorded=lambda c, app: _tuesday_closes(c, app) == "09:30",
    ),
    Change(
        "closure",
        page=lambda c, app: (
            f"/admin/locations/{c.location_id}/closures",
            {"date": TUESDAY.isoformat(), "reason": "Burst pipe"},
        ),
        api=lambda c: (
            "POST",
            f"/locations/{c.location_id}/closures",
            {"date": TUESDAY.isoformat(), "reason": "Burst pipe"},
        ),
        affected=_both,
        reason="The clinic is closed on 3 March (Burst pipe).",
        recorded=lambda c, app: bool(_count(app, sa.select(sa.func.count(Closure.id)))),
    ),
    Change(
        "chair_block",
        page=lambda c, app: (
            f"/admin/chairs/{c.iv_chair_id}/blocks",
            {
                "start_date": TUESDAY.isoformat(),
                "start_time": "12:00",
                "end_date": TUESDAY.isoformat(),
                "end_time": "16:00",
                "reason": "Pump repair",
            },
        ),
        api=lambda c: (
            "POST",
            f"/chairs/{c.iv_chair_id}/blocks",
            {"starts_at": tuesday("12:00"), "ends_at": tuesday("16:00"), "reason": "Pump repair"},
        ),
        affected=_iv,
        reason="out of service (Pump repair)",
        recorded=lambda c, app: bool(_count(app, sa.select(sa.func.count(ChairBlock.id)))),
    ),
    Change(
        "treatment_type_deactivated",
        page=lambda c, app: (
            f"/admin/treatment-types/{c.nasal_id}",
            treatment_form(app, c.nasal_id, active=None),
        ),
        api=lambda c: ("PATCH", f"/treatment-types/{c.nasal_id}", {"active": False}),
        affected=_esketamine,
        reason="is no longer offered",
        recorded=lambda c, app: (
            not _count(
                app,
                sa.select(sa.func.count(TreatmentType.id)).where(
                    TreatmentType.id == c.nasal_id, TreatmentType.active
                ),
            )
        ),
    ),
]

FACTS = [
    Change(
        "certification_shortened",
        page=lambda c, app: (
            f"/admin/certifications/{c.nurse_iv_certification_id}",
            certification_form(app, c.nurse_iv_certification_id, TODAY),
        ),
        api=lambda c: (
            "PATCH",
            f"/certifications/{c.nurse_iv_certification_id}",
            {"expires_on": TODAY.isoformat()},
        ),
        affected=_iv,
        reason="KETAMINE_IV expires on 2 March, before the session on 3 March",
        recorded=lambda c, app: True,
    ),
    Change(
        "certification_deleted",
        page=lambda c, app: (f"/admin/certifications/{c.nurse_iv_certification_id}/delete", {}),
        api=lambda c: ("DELETE", f"/certifications/{c.nurse_iv_certification_id}", None),
        affected=_iv,
        reason="does not hold KETAMINE_IV",
        recorded=lambda c, app: (
            not _count(
                app,
                sa.select(sa.func.count(Certification.id)).where(
                    Certification.id == c.nurse_iv_certification_id
                ),
            )
        ),
    ),
    Change(
        "staff_left",
        page=lambda c, app: (
            f"/admin/staff/{c.nurse_id}",
            {"name": "Maria Kim", "role": "nurse", "email": ""},
        ),
        api=lambda c: ("PATCH", f"/staff/{c.nurse_id}", {"active": False}),
        affected=_both,
        reason="Nurse Maria Kim no longer works here.",
        recorded=lambda c, app: True,
    ),
    Change(
        "rems_withdrawn",
        page=lambda c, app: (f"/patients/{c.esketamine_patient_id}/edit", {}),
        api=lambda c: ("PATCH", f"/patients/{c.esketamine_patient_id}", {"rems_enrolled_on": None}),
        affected=_esketamine,
        reason="needs the patient's REMS enrollment; none is recorded",
        recorded=lambda c, app: (
            _count(
                app,
                sa.select(sa.func.count(Patient.id)).where(Patient.rems_enrolled_on.is_(None)),
            )
            == 1
        ),
    ),
]


def patient_form(app: Any, patient_id: int) -> dict[str, str]:
    with app.app_context():
        p = db.session.get(Patient, patient_id)
        data = {
            "mrn": p.mrn,
            "given_name": p.given_name,
            "family_name": p.family_name,
            "date_of_birth": p.date_of_birth.isoformat(),
            "email": p.email or "",
            "phone": p.phone or "",
            "escort_name": p.escort_name or "",
            "escort_phone": p.escort_phone or "",
            "rems_enrolled_on": "",
            "notes": p.notes or "",
            "active": "y",
        }
        if p.email_opt_in:
            data["email_opt_in"] = "y"
        return data


def confirm_form(page: str) -> dict[str, list[str]]:
    """The hidden fields of the confirm page's form, as the browser would send them."""
    form = re.search(r"<form[^>]*data-impact-confirm>(.*?)</form>", page, re.S)
    assert form, "the page has no confirm form"
    fields: dict[str, list[str]] = {}
    for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form[1]):
        fields.setdefault(html.unescape(name), []).append(html.unescape(value))
    return fields


def _page_data(change: Change, clinic: Clinic, app: Any) -> tuple[str, dict[str, Any]]:
    url, data = change.page(clinic, app)
    if change.name == "rems_withdrawn":
        data = patient_form(app, clinic.esketamine_patient_id)
    return url, data


@pytest.mark.parametrize("change", CHOICES, ids=lambda c: c.name)
def test_a_choice_on_the_admin_page_lists_the_sessions_then_is_confirmed(
    app, client, login, clinic, change
):
    login("admin")
    url, data = _page_data(change, clinic, app)
    refused = client.post(url, data=data)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 409, page
    assert "Confirm the change" in page
    for appointment_id in change.affected(clinic):
        assert f"#{appointment_id}<" in page
    assert html.escape(change.reason) in page or change.reason in html.unescape(page)
    assert not change.recorded(clinic, app)
    assert worklist(app) == {}

    fields = confirm_form(page)
    assert fields["impact_confirmed"] == ["1"]
    confirmed = client.post(url, data=fields, csrf=False)
    assert confirmed.status_code == 302, confirmed.get_data(as_text=True)
    assert change.recorded(clinic, app)
    entries = worklist(app)
    assert set(entries) == change.affected(clinic)
    assert any(change.reason in line for lines in entries.values() for line in lines)


def test_the_confirm_step_needs_a_valid_csrf_token(app, client, login, clinic):
    login("admin")
    url, data = CHOICES[7].page(clinic, app)
    page = client.post(url, data=data).get_data(as_text=True)
    fields = confirm_form(page)
    fields["csrf_token"] = ["forged"]
    assert client.post(url, data=fields, csrf=False).status_code == 400
    assert not CHOICES[7].recorded(clinic, app)


@pytest.mark.parametrize("change", FACTS, ids=lambda c: c.name)
def test_a_fact_on_the_admin_page_is_recorded_with_its_sessions_on_the_worklist(
    app, client, login, clinic, change
):
    login("admin")
    url, data = _page_data(change, clinic, app)
    response = client.post(url, data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert change.recorded(clinic, app)
    entries = worklist(app)
    assert set(entries) == change.affected(clinic)
    assert any(change.reason in line for lines in entries.values() for line in lines)


def _send(api: ApiClient, method: str, path: str, body: dict[str, Any] | None) -> Any:
    options: dict[str, Any] = {"headers": api.headers}
    if body is not None:
        options["json"] = body
    return api.client.open("/api/v1" + path, method=method, **options)


@pytest.mark.parametrize("change", CHOICES, ids=lambda c: c.name)
def test_a_choice_through_the_api_is_409_with_the_sessions_unless_it_proceeds(
    app, api_as, clinic, change
):
    api = api_as("admin")
    method, path, body = change.api(clinic)
    refused = problem(_send(api, method, path, body), 409)
    listed = {item["appointment_id"]: item for item in refused["affected_sessions"]}
    assert set(listed) == change.affected(clinic)
    assert any(change.reason in r for item in listed.values() for r in item["reasons"])
    assert not change.recorded(clinic, app)
    assert worklist(app) == {}

    done = _send(api, method, path + "?proceed=true", body)
    assert done.status_code in (200, 201, 204), done.get_data(as_text=True)
    assert change.recorded(clinic, app)
    assert set(worklist(app)) == change.affected(clinic)
    listed_api = api.get("/rebooking").get_json()["items"]
    assert {item["appointment_id"] for item in listed_api} == change.affected(clinic)


@pytest.mark.parametrize("change", FACTS, ids=lambda c: c.name)
def test_a_fact_through_the_api_is_recorded_with_its_sessions_on_the_worklist(
    app, api_as, clinic, change
):
    api = api_as("admin")
    method, path, body = change.api(clinic)
    response = _send(api, method, path, body)
    assert response.status_code in (200, 204), response.get_data(as_text=True)
    assert change.recorded(clinic, app)
    entries = worklist(app)
    assert set(entries) == change.affected(clinic)
    assert any(change.reason in line for lines in entries.values() for line in lines)
    with app.app_context():
        assert db.session.scalar(
            sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == "rebooking.add")
        )


def test_a_change_that_breaks_nothing_is_saved_at_once(app, api_as, clinic):
    api = api_as("admin")
    response = api.post(
        f"/staff/{clinic.prescriber_id}/time-off",
        json={"starts_at": tuesday("14:00"), "ends_at": tuesday("16:00")},
    )
    assert response.status_code == 201
    assert worklist(app) == {}
