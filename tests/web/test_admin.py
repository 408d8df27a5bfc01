"""Admin pages: every change validates, audits, and a refused change saves nothing."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import (
    AuditEvent,
    Certification,
    Chair,
    ChairBlock,
    Closure,
    Location,
    OpeningHours,
    Protocol,
    Role,
    Shift,
    ShiftTemplate,
    Staff,
    TimeOff,
    TreatmentType,
    User,
)
from tests.builders import TODAY, World, add_session, build_world, count_rows

STRONG = "violet-harbour-lantern-42"


@pytest.fixture
def admin(client, login):
    return login("admin")


@pytest.fixture
def world(app):
    with app.app_context():
        world = build_world(db.session)
        return {
            "location": world.location.id,
            "chair": world.chairs[0].id,
            "nurse": world.nurses[0].id,
            "patient": world.patients[0].id,
            "iv": world.iv.id,
            "protocol": world.iv_protocol.id,
        }


def audit_actions(app) -> list[str]:
    with app.app_context():
        return [
            action
            for action in db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id))
            if not action.startswith("auth.")
        ]


def rows(app, model) -> int:
    with app.app_context():
        return count_rows(db.session, model)


def test_overview_lists_sections_and_expiring_certifications(app, client, admin, world):
    with app.app_context():
        cert = db.session.scalars(
            sa.select(Certification).where(Certification.staff_id == world["nurse"])
        ).first()
        cert.expires_on = TODAY + dt.timedelta(days=9)
        db.session.commit()
    html = client.get("/admin/").get_data(as_text=True)
    for text in ("Locations", "Staff", "Treatment types", "Protocols", "Users", "in 9 days"):
        assert text in html


def test_add_location_then_refuse_a_duplicate(app, client, admin):
    response = client.post(
        "/admin/locations",
        data={"name": "North Clinic", "timezone": "America/Chicago", "phone": "", "active": "y"},
    )
    assert response.status_code == 302
    duplicate = client.post(
        "/admin/locations", data={"name": "north clinic", "timezone": "America/Denver"}
    )
    assert duplicate.status_code == 422
    assert "Another location already has this name." in duplicate.get_data(as_text=True)
    # A value that is not on the list (a tampered form) is refused in words too.
    off_list = client.post("/admin/locations", data={"name": "South", "timezone": "Mars/Olympus"})
    assert off_list.status_code == 422
    assert "Choose one of the options in the list." in off_list.get_data(as_text=True)
    assert rows(app, Location) == 1
    assert audit_actions(app) == ["location.create"]


def test_opening_hours_replace_the_week_and_bad_times_change_nothing(app, client, admin, world):
    url = f"/admin/locations/{world['location']}/hours"
    good = {
        "d0_opens1": "08:00",
        "d0_closes1": "12:00",
        "d0_opens2": "13:00",
        "d0_closes2": "18:00",
    }
    assert client.post(url, data=good).status_code == 302
    with app.app_context():
        hours = db.session.scalars(
            sa.select(OpeningHours).where(OpeningHours.location_id == world["location"])
        ).all()
        assert [(h.weekday, h.opens.hour, h.closes.hour) for h in hours] == [
            (0, 8, 12),
            (0, 13, 18),
        ]
    for bad, message in (
        ({"d1_opens1": "18:00", "d1_closes1": "08:00"}, "closing time must be after"),
        ({"d1_opens1": "nine", "d1_closes1": "17:00"}, "Enter a time as HH:MM"),
        (
            {
                "d1_opens1": "08:00",
                "d1_closes1": "14:00",
                "d1_opens2": "13:00",
                "d1_closes2": "18:00",
            },
            "overlap",
        ),
    ):
        response = client.post(url, data=bad)
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)
    with app.app_context():
        assert count_rows(db.session, OpeningHours) == 2
    assert audit_actions(app).count("location.hours") == 1


def test_closures_are_refused_over_booked_sessions(app, client, admin, world):
    free_day = TODAY + dt.timedelta(days=20)
    busy_day = TODAY + dt.timedelta(days=21)
    with app.app_context():
        from clinic.models import Patient

        location = db.session.get(Location, world["location"])
        patient = db.session.get(Patient, world["patient"])
        add_session(
            db.session,
            World(
                location=location,
                iv=db.session.get(TreatmentType, world["iv"]),
                nasal=db.session.get(TreatmentType, world["iv"]),
                iv_protocol=db.session.get(Protocol, world["protocol"]),
                chairs=[db.session.get(Chair, world["chair"])],
                nurses=[db.session.get(Staff, world["nurse"])],
            ),
            patient=patient,
            starts_at=dt.datetime.combine(busy_day, dt.time(10), tzinfo=location.tz),
        )
    url = f"/admin/locations/{world['location']}/closures"
    assert (
        client.post(url, data={"date": free_day.isoformat(), "reason": "Staff day"}).status_code
        == 302
    )
    refused = client.post(url, data={"date": busy_day.isoformat(), "reason": "Holiday"})
    # The impact check lists the session and asks to confirm (tests/impact confirm it).
    assert refused.status_code == 409
    assert "would leave 1 booked session breaking a rule" in refused.get_data(as_text=True)
    assert "The clinic is closed on" in refused.get_data(as_text=True)
    again = client.post(url, data={"date": free_day.isoformat()})
    assert "already closed on this day" in again.get_data(as_text=True)
    past = client.post(url, data={"date": "2001-01-01"})
    assert "in the past" in past.get_data(as_text=True)
    assert rows(app, Closure) == 1
    with app.app_context():
        closure_id = db.session.scalar(sa.select(Closure.id))
    assert client.post(f"/admin/closures/{closure_id}/delete").status_code == 302
    assert rows(app, Closure) == 0
    assert audit_actions(app)[-2:] == ["closure.create", "closure.delete"]


def test_chairs_and_out_of_service_blocks(app, client, admin, world):
    url = f"/admin/locations/{world['location']}/chairs"
    assert (
        client.post(
            url, data={"label": "IV 9", "capabilities": ["iv", "nasal"], "active": "y"}
        ).status_code
        == 302
    )
    none_ticked = client.post(url, data={"label": "IV 10"})
    assert "Tick at least one" in none_ticked.get_data(as_text=True)
    same_label = client.post(url, data={"label": "iv 9", "capabilities": ["iv"]})
    assert "already has a chair with this label" in same_label.get_data(as_text=True)
    with app.app_context():
        chair = db.session.scalar(sa.select(Chair).where(Chair.label == "IV 9"))
        assert chair.capabilities == ["iv", "nasal"]
        chair_id = chair.id
    tomorrow = (TODAY + dt.timedelta(days=1)).isoformat()
    block_url = f"/admin/chairs/{chair_id}/blocks"
    backwards = client.post(
        block_url,
        data={
            "start_date": tomorrow,
            "start_time": "14:00",
            "end_date": tomorrow,
            "end_time": "09:00",
        },
    )
    assert backwards.status_code == 422
    assert "The end must be after the start." in backwards.get_data(as_text=True)
    assert (
        client.post(
            block_url,
            data={
                "start_date": tomorrow,
                "start_time": "09:00",
                "end_date": tomorrow,
                "end_time": "14:00",
                "reason": "Pump service",
            },
        ).status_code
        == 302
    )
    assert rows(app, ChairBlock) == 1
    page = client.get(f"/admin/chairs/{chair_id}").get_data(as_text=True)
    assert "Pump service" in page
    renamed = client.post(
        f"/admin/chairs/{chair_id}", data={"label": "IV 9b", "capabilities": ["iv"]}
    )
    assert renamed.status_code == 302
    with app.app_context():
        assert db.session.get(Chair, chair_id).active is False  # unticked "In use"


def test_staff_certifications_shifts_and_time_off(app, client, admin, world):
    created = client.post(
        "/admin/staff",
        data={"name": "Robin Reyes", "email": "robin@x.example", "role": "nurse", "active": "y"},
    )
    assert created.status_code == 302
    staff_id = int(created.headers["Location"].rsplit("/", 1)[1])
    bad_staff = client.post(
        "/admin/staff", data={"name": "", "email": "robin@x.example", "role": "nurse"}
    )
    html = bad_staff.get_data(as_text=True)
    assert "Enter the name." in html
    assert "Another staff member has this email address." in html

    certs = f"/admin/staff/{staff_id}/certifications"
    assert (
        client.post(
            certs, data={"kind": "acls", "valid_from": "2025-01-01", "expires_on": "2027-01-01"}
        ).status_code
        == 302
    )
    wrong_way = client.post(
        certs, data={"kind": "RN", "valid_from": "2025-01-01", "expires_on": "2024-01-01"}
    )
    assert "must not be before" in wrong_way.get_data(as_text=True)
    with app.app_context():
        kinds = db.session.scalars(
            sa.select(Certification.kind).where(Certification.staff_id == staff_id)
        ).all()
        assert kinds == ["ACLS"]

    shifts = f"/admin/staff/{staff_id}/shifts"
    shift = {
        "location_id": str(world["location"]),
        "weekday": str(TODAY.weekday()),
        "starts": "08:00",
        "ends": "16:00",
        "effective_from": TODAY.isoformat(),
    }
    assert client.post(shifts, data=shift).status_code == 302
    overlapping = client.post(shifts, data={**shift, "starts": "12:00", "ends": "18:00"})
    assert "overlaps another" in overlapping.get_data(as_text=True)
    backwards = client.post(shifts, data={**shift, "starts": "16:00", "ends": "08:00"})
    assert "must end after it starts" in backwards.get_data(as_text=True)
    with app.app_context():
        assert count_rows(db.session, ShiftTemplate) >= 1
        concrete = db.session.scalars(sa.select(Shift).where(Shift.staff_id == staff_id)).all()
        assert len(concrete) >= 20  # about six months of that weekday

    off = f"/admin/staff/{staff_id}/time-off"
    day = (TODAY + dt.timedelta(days=3)).isoformat()
    assert (
        client.post(off, data={"start_date": day, "end_date": day, "reason": "Leave"}).status_code
        == 302
    )
    missing = client.post(off, data={"start_date": "", "end_date": day})
    assert "Enter the first day." in missing.get_data(as_text=True)
    assert rows(app, TimeOff) == 1
    actions = audit_actions(app)
    for action in (
        "staff.create",
        "certification.create",
        "shift_template.create",
        "time_off.create",
    ):
        assert action in actions


def test_time_off_over_monitored_sessions_is_refused(app, client, admin, world):
    with app.app_context():
        from clinic.models import Appointment

        iv = db.session.get(TreatmentType, world["iv"])
        location = db.session.get(Location, world["location"])
        starts = dt.datetime.combine(TODAY + dt.timedelta(days=5), dt.time(10), tzinfo=location.tz)
        a, b, c = iv.windows(starts)
        db.session.add(
            Appointment(
                patient_id=world["patient"],
                treatment_type_id=iv.id,
                location_id=location.id,
                chair_id=world["chair"],
                monitor_id=world["nurse"],
                starts_at=starts,
                treatment_ends_at=a,
                ends_at=b,
                busy_until=c,
            )
        )
        db.session.commit()
    day = (TODAY + dt.timedelta(days=5)).isoformat()
    refused = client.post(
        f"/admin/staff/{world['nurse']}/time-off", data={"start_date": day, "end_date": day}
    )
    assert refused.status_code == 409
    assert "would leave 1 booked session breaking a rule" in refused.get_data(as_text=True)
    assert rows(app, TimeOff) == 0


def test_treatment_types_and_protocols(app, client, admin, world):
    good = {
        "name": "IV booster",
        "route": "iv",
        "chair_capability": "iv",
        "prep_minutes": "10",
        "treatment_minutes": "40",
        "monitoring_minutes": "40",
        "turnover_minutes": "10",
        "required_certifications": "rn, acls ,ketamine iv",
        "max_patients_per_monitor": "2",
        "needs_escort": "y",
        "active": "y",
    }
    assert client.post("/admin/treatment-types", data=good).status_code == 302
    with app.app_context():
        booster = db.session.scalar(
            sa.select(TreatmentType).where(TreatmentType.name == "IV booster")
        )
        assert booster.required_certifications == ["RN", "ACLS", "KETAMINE_IV"]
        assert booster.chair_minutes == 100
        booster_id = booster.id
    bad = client.post(
        "/admin/treatment-types",
        data={
            **good,
            "name": "Other",
            "treatment_minutes": "0",
            "max_patients_per_monitor": "x",
        },
    )
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422
    assert "Enter between 1 and 480 minutes." in html and "Enter a number from 1 to 10." in html
    assert rows(app, TreatmentType) == 3

    protocol = {
        "name": "Booster pair",
        "treatment_type_id": str(booster_id),
        "phase1_sessions": "2",
        "phase1_per_week": "1",
        "min_hours_between": "72",
        "active": "y",
    }
    assert client.post("/admin/protocols", data=protocol).status_code == 302
    bad_protocol = client.post(
        "/admin/protocols",
        data={**protocol, "name": "Broken", "phase1_per_week": "9", "max_span_days": "abc"},
    )
    html = bad_protocol.get_data(as_text=True)
    assert "Sessions per week must be between 1 and 7." in html or "whole number" in html
    with app.app_context():
        saved = db.session.scalar(sa.select(Protocol).where(Protocol.name == "Booster pair"))
        assert saved.phases == [{"sessions": 2, "sessions_per_week": 1}]
        assert count_rows(db.session, Protocol) == 2
    edit = client.get(f"/admin/protocols/{saved.id}").get_data(as_text=True)
    assert 'value="Booster pair"' in edit


def test_users_roles_and_the_last_admin(app, client, admin, world):
    weak = client.post(
        "/admin/users", data={"username": "rita", "role": "receptionist", "password": "short"}
    )
    assert weak.status_code == 422
    assert "at least 12 characters" in weak.get_data(as_text=True)
    created = client.post(
        "/admin/users",
        data={"username": "rita", "role": "receptionist", "password": STRONG, "staff_id": ""},
    )
    assert created.status_code == 302
    taken = client.post(
        "/admin/users", data={"username": "RITA", "role": "nurse", "password": STRONG}
    )
    assert "This username is taken." in taken.get_data(as_text=True)
    with app.app_context():
        rita = db.session.scalar(sa.select(User).where(User.username == "rita"))
        assert rita.check_password(STRONG)
        rita_id = rita.id
    promoted = client.post(
        f"/admin/users/{rita_id}",
        data={"role": "nurse", "active": "y", "staff_id": str(world["nurse"])},
    )
    assert promoted.status_code == 302
    with app.app_context():
        rita = db.session.get(User, rita_id)
        assert (rita.role, rita.staff_id) == (Role.NURSE, world["nurse"])
    # The only admin cannot remove their own admin access.
    refused = client.post(f"/admin/users/{admin.id}", data={"role": "nurse", "active": "y"})
    assert refused.status_code == 422
    assert "cannot remove your own admin access" in refused.get_data(as_text=True)
    reset = client.post(
        f"/admin/users/{rita_id}/password", data={"password": "another-long-passphrase-7"}
    )
    assert reset.status_code == 302
    with app.app_context():
        assert db.session.get(User, rita_id).check_password("another-long-passphrase-7")
        assert db.session.get(User, admin.id).role == Role.ADMIN
    actions = audit_actions(app)
    assert (
        "user.create" in actions and "user.update" in actions and "user.password_change" in actions
    )


def test_unknown_records_are_404_not_500(client, admin):
    for url in (
        "/admin/locations/9999",
        "/admin/chairs/9999",
        "/admin/staff/9999",
        "/admin/certifications/9999",
        "/admin/treatment-types/9999",
        "/admin/protocols/9999",
        "/admin/users/9999",
    ):
        assert client.get(url).status_code == 404, url
    for url in (
        "/admin/closures/9999/delete",
        "/admin/chair-blocks/9999/delete",
        "/admin/certifications/9999/delete",
        "/admin/shift-templates/9999/delete",
        "/admin/time-off/9999/delete",
        "/admin/locations/9999/hours",
        "/admin/staff/9999/time-off",
    ):
        assert client.post(url).status_code in (404, 422), url


def test_a_value_off_the_list_is_refused_in_words(app, client, admin, world):
    response = client.post(
        "/admin/users",
        data={"username": "sam", "role": "receptionist", "password": STRONG, "staff_id": "<b>"},
    )
    assert response.status_code == 422
    assert "Choose one of the options in the list." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(User.id).where(User.username == "sam")) is None


def test_services_refuse_unknown_roles_routes_and_zones_for_every_caller(session):
    from clinic import setup
    from clinic.audit import SYSTEM

    with pytest.raises(setup.SetupError) as staff:
        setup.save_staff(
            session,
            staff_id=None,
            name="X",
            email=None,
            role="pilot",
            active=True,
            actor=SYSTEM,
            now=dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC),
        )
    assert staff.value.fields == {"role": "Choose nurse, prescriber or tech."}
    with pytest.raises(setup.SetupError) as location:
        setup.save_location(
            session,
            location_id=None,
            data=setup.LocationInput(name="Y", timezone="Mars/Olympus"),
            actor=SYSTEM,
            now=dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC),
        )
    assert "time zone" in location.value.fields["timezone"]
    assert count_rows(session, Staff) == 0 and count_rows(session, Location) == 0
