"""Who may do what on the board, patient, booking and admin pages: every route, every role.

The expectations are written out here, route by route, rather than read back from the
views, so a view that loses (or gains) its ``@require`` fails this test.
"""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import (
    Certification,
    ChairBlock,
    Closure,
    Series,
    ShiftTemplate,
    TimeOff,
    User,
)
from tests.builders import TODAY, add_session, build_world, make_user

ALL = {"admin", "receptionist", "nurse"}
DESK = {"admin", "receptionist"}
CLINICAL = {"admin", "nurse"}
ADMIN = {"admin"}

# endpoint: roles that may use it (GET and POST alike).
EXPECTED: dict[str, set[str]] = {
    "board.day": ALL,
    "board.week": ALL,
    "board.sheet": ALL,
    "patients.index": ALL,
    "patients.detail": ALL,
    "patients.new": DESK,
    "patients.edit": DESK,
    "series.session_detail": ALL,
    "series.detail": ALL,
    "series.check_in": ALL,
    "series.confirm_escort": ALL,
    "series.no_show": ALL,
    "series.start_treatment": CLINICAL,
    "series.start_monitoring": CLINICAL,
    "series.discharge": CLINICAL,
    "series.new": DESK,
    "series.book_single": DESK,
    "series.reschedule": DESK,
    "series.cancel": DESK,
    **{
        endpoint: ADMIN
        for endpoint in (
            "admin.index",
            "admin.locations",
            "admin.location",
            "admin.opening_hours",
            "admin.add_closure",
            "admin.delete_closure",
            "admin.add_chair",
            "admin.chair",
            "admin.add_chair_block",
            "admin.delete_chair_block",
            "admin.staff",
            "admin.staff_member",
            "admin.add_certification",
            "admin.certification",
            "admin.delete_certification",
            "admin.add_shift",
            "admin.delete_shift",
            "admin.add_time_off",
            "admin.delete_time_off",
            "admin.treatment_types",
            "admin.treatment_type",
            "admin.protocols",
            "admin.protocol",
            "admin.users",
            "admin.user",
            "admin.user_password",
            "admin.user_two_factor_reset",
        )
    },
}
BLUEPRINTS = ("board", "patients", "series", "admin")


@pytest.fixture
def ids(app):
    with app.app_context():
        world = build_world(db.session)
        series = Series(patient=world.patients[0], treatment_type=world.iv)
        db.session.add(series)
        appointment = add_session(
            db.session,
            world,
            patient=world.patients[0],
            starts_at=world.at(TODAY + dt.timedelta(days=3), "10:00"),
            series=series,
        )
        nurse = world.nurses[0]
        closure = Closure(location_id=world.location.id, date=TODAY + dt.timedelta(days=30))
        block = ChairBlock(
            chair_id=world.chairs[0].id,
            starts_at=world.at(TODAY + dt.timedelta(days=31), "08:00"),
            ends_at=world.at(TODAY + dt.timedelta(days=31), "09:00"),
        )
        time_off = TimeOff(
            staff_id=world.nurses[1].id,
            starts_at=world.at(TODAY + dt.timedelta(days=32), "08:00"),
            ends_at=world.at(TODAY + dt.timedelta(days=32), "09:00"),
        )
        db.session.add_all([closure, block, time_off])
        db.session.commit()
        return {
            "location_id": world.location.id,
            "patient_id": world.patients[0].id,
            "appointment_id": appointment.id,
            "series_id": series.id,
            "chair_id": world.chairs[0].id,
            "staff_id": nurse.id,
            "certification_id": db.session.scalar(
                sa.select(Certification.id).where(Certification.staff_id == nurse.id)
            ),
            "template_id": db.session.scalar(
                sa.select(ShiftTemplate.id).where(ShiftTemplate.staff_id == world.nurses[1].id)
            ),
            "closure_id": closure.id,
            "block_id": block.id,
            "time_off_id": time_off.id,
            "treatment_type_id": world.iv.id,
            "protocol_id": world.iv_protocol.id,
        }


def routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] in BLUEPRINTS:
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule, method


def url_for_rule(app, rule, ids, user_id) -> str:
    values = {}
    for argument in rule.arguments:
        values[argument] = user_id if argument == "user_id" else ids[argument]
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **values)


def test_every_route_of_the_ui_blueprints_has_an_expectation(app):
    endpoints = {rule.endpoint for rule, _ in routes(app)}
    assert endpoints == set(EXPECTED)
    for endpoint in endpoints:
        assert hasattr(app.view_functions[endpoint], "required_permission"), endpoint


@pytest.mark.parametrize("role", ["anonymous", "receptionist", "nurse", "admin"])
def test_who_may_use_each_route(app, client, login, ids, role):
    if role != "anonymous":
        login(role)
    with app.app_context():
        # A user to act on that is never the logged-in one (admins cannot demote themselves).
        other = db.session.scalar(sa.select(User.id).where(User.username == "someone-else"))
        if other is None:
            other = make_user(db.session, "someone-else", "receptionist").id
    problems = []
    for rule, method in routes(app):
        url = url_for_rule(app, rule, ids, other)
        response = client.get(url) if method == "GET" else client.post(url, data={})
        allowed = role in EXPECTED[rule.endpoint]
        status = response.status_code
        if role == "anonymous":
            ok = status == 302 and "/login" in response.headers.get("Location", "")
        elif allowed:
            ok = (
                status < 500
                and status != 403
                and "/login" not in response.headers.get("Location", "")
            )
        else:
            ok = status == 403
        if not ok:
            problems.append(f"{method} {url} as {role}: {status}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("role", "visible", "hidden"),
    [
        ("receptionist", ["Day board", "Patients", "Book a series"], ["Admin"]),
        ("nurse", ["Day board", "Patients"], ["Book a series", "Admin"]),
        ("admin", ["Day board", "Patients", "Book a series", "Admin"], []),
    ],
)
def test_navigation_shows_only_what_the_role_may_use(client, login, role, visible, hidden):
    login(role)
    nav = (
        client.get("/")
        .get_data(as_text=True)
        .split('<nav aria-label="Main">')[1]
        .split("</nav>")[0]
    )
    for label in visible:
        assert f">{label}<" in nav
    for label in hidden:
        assert f">{label}<" not in nav
