"""The front desk's booking gaps (issue 16): plans on open days only, the wizard's defaults
and a past first date, the reschedule page's free times and refusals, make-up sessions, and
what the pages say about days that offer nothing."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from clinic.catalog import ESKETAMINE_INDUCTION
from clinic.extensions import db
from clinic.models import (
    Appointment,
    AppointmentStatus,
    Location,
    OpeningHours,
    Patient,
    Series,
    Staff,
)
from clinic.scheduling import plan_custom
from clinic.scheduling.plans import PlanRequest, location_calendar, plan_series
from tests.builders import (
    NOW,
    TODAY,
    at,
    build_world,
    close_day,
    make_protocol,
    time_off,
)
from tests.web.test_booking import _book_series, choices, insert_session, plan_data

FRIDAY = TODAY + dt.timedelta(days=4)  # Fri 6 Mar 2026
ESKETAMINE = "Esketamine induction and maintenance"


@pytest.fixture
def ids(app):
    with app.app_context():
        world = build_world(db.session, chairs=3)
        nasal_protocol = make_protocol(db.session, world.nasal, ESKETAMINE_INDUCTION)
        db.session.commit()
        return {
            "today": TODAY,
            "first": TODAY + dt.timedelta(days=7),
            "location": world.location.id,
            "patient": world.patients[0].id,
            "other_patient": world.patients[1].id,
            "patients": [p.id for p in world.patients],
            "protocol": world.iv_protocol.id,
            "nasal_protocol": nasal_protocol.id,
            "iv": world.iv.id,
            "nurse": world.nurses[0].id,
            "nurses": [n.id for n in world.nurses],
            "chairs": [c.id for c in world.chairs],
        }


def location(ids) -> Location:
    return db.session.get(Location, ids["location"])


def shut_weekends(location_id: int) -> None:
    db.session.execute(
        sa.delete(OpeningHours).where(
            OpeningHours.location_id == location_id, OpeningHours.weekday.in_((5, 6))
        )
    )
    db.session.commit()


# --- plans ----------------------------------------------------------------------------


def test_a_protocol_plan_without_weekdays_lands_only_on_open_days(app, ids):
    with app.app_context():
        shut_weekends(ids["location"])
        close_day(
            db.session,
            location(ids),
            FRIDAY + dt.timedelta(days=5),
            "Staff training",
        )
        plan = plan_series(
            db.session,
            PlanRequest(
                location_id=ids["location"], first_date=FRIDAY, protocol_id=ids["protocol"]
            ),
            now=NOW,
        )
    # From a Friday, three a week used to be Friday, Sunday, Tuesday.
    assert all(day.weekday() < 5 for day in plan.dates), plan.dates
    assert FRIDAY + dt.timedelta(days=5) not in plan.dates  # the closure (a Wednesday)
    assert plan.dates[0] == FRIDAY and len(plan.dates) == 6


def test_a_first_date_on_a_closed_day_starts_on_the_next_open_day(app, ids):
    with app.app_context():
        shut_weekends(ids["location"])
        saturday = FRIDAY + dt.timedelta(days=1)
        plan = plan_series(
            db.session,
            PlanRequest(
                location_id=ids["location"], first_date=saturday, protocol_id=ids["protocol"]
            ),
            now=NOW,
        )
    assert plan.dates[0] == saturday + dt.timedelta(days=2)  # Monday


def test_a_custom_plan_skips_closures_and_refuses_a_shut_weekday(app, ids):
    with app.app_context():
        shut_weekends(ids["location"])
        monday = TODAY + dt.timedelta(days=7)
        close_day(db.session, location(ids), monday, "Holiday")
        calendar = location_calendar(db.session, location_id=ids["location"], now=NOW)
        plan = plan_custom(
            treatment_type_id=ids["iv"],
            location_id=ids["location"],
            first_date=monday,
            count=3,
            weekdays=[0, 2],
            calendar=calendar,
        )
        assert monday not in plan.dates and plan.dates[0] == monday + dt.timedelta(days=2)
        with pytest.raises(Exception) as refused:
            plan_custom(
                treatment_type_id=ids["iv"],
                location_id=ids["location"],
                first_date=monday,
                count=3,
                weekdays=[0, 6],
                calendar=calendar,
            )
        assert "not open on Sundays" in refused.value.fields["weekdays"]


# --- the wizard -------------------------------------------------------------------------


def selected_protocol(html: str) -> str:
    select = re.search(r'<select[^>]*name="protocol_id".*?</select>', html, flags=re.S).group(0)
    return re.search(
        r'<option[^>]*selected[^>]*value="(\d+)"|<option value="(\d+)" selected', select
    ).group(0)


def test_the_default_protocol_is_one_the_patient_may_have(app, client, login, ids):
    login("receptionist")
    html = client.get(f"/series/new?patient_id={ids['patient']}").get_data(as_text=True)
    chosen = selected_protocol(html)
    assert f'value="{ids["protocol"]}"' in chosen  # IV, not esketamine (no REMS enrollment)
    assert "needs REMS enrollment" in html
    with app.app_context():
        patient = db.session.get(Patient, ids["patient"])
        patient.rems_enrolled_on = TODAY - dt.timedelta(days=30)
        db.session.commit()
    html = client.get(f"/series/new?patient_id={ids['patient']}").get_data(as_text=True)
    assert f'value="{ids["nasal_protocol"]}"' in selected_protocol(html)  # first in the list


def test_a_first_date_in_the_past_is_refused_at_the_preview(client, login, ids):
    login("receptionist")
    past = (TODAY - dt.timedelta(days=3)).isoformat()
    response = client.post("/series/new", data=plan_data(ids, first_date=past))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "27 February has passed; the earliest day is today, 2 March." in html
    assert "Preview:" not in html and not choices(html)


def test_alternatives_are_offered_in_time_order(app, client, login, ids):
    with app.app_context():
        # Nobody can monitor on the first date: the preview offers days either side.
        target = ids["first"]
        for nurse_id in ids["nurses"]:
            time_off(
                db.session,
                db.session.get(Staff, nurse_id),
                at(target, "00:00"),
                at(target + dt.timedelta(days=1), "00:00"),
                "Course",
            )
    login("receptionist")
    html = client.post("/series/new", data=plan_data(ids)).get_data(as_text=True)
    block = html.split('name="choice_1"', 1)[1].split('name="choice_2"', 1)[0]
    days = re.findall(r"(\d{1,2} [A-Z][a-z]{2,}) \d\d:\d\d", block)
    assert len(days) >= 2, block
    parsed = [
        dt.datetime.strptime(f"{d} 2026", "%d %b %Y")
        if len(d.split()[1]) == 3
        else dt.datetime.strptime(f"{d} 2026", "%d %B %Y")
        for d in days
    ]
    assert parsed == sorted(parsed), days


def test_the_booked_message_says_what_a_patient_without_email_gets(app, client, login, ids):
    with app.app_context():
        patient = db.session.get(Patient, ids["patient"])
        patient.email = None
        db.session.commit()
    login("receptionist")
    html = client.post("/series/new", data=plan_data(ids)).get_data(as_text=True)
    booked = client.post(
        "/series/new",
        data={**plan_data(ids), **choices(html), "action": "confirm"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "Invitations go out by email" not in booked
    assert "Nothing is sent to the patient (no email address on file, no text consent)" in booked


# --- reschedule -------------------------------------------------------------------------


def test_show_free_times_uses_the_typed_date_and_says_when_there_are_none(app, client, login, ids):
    login("receptionist")
    session_ids = _book_series(client, ids)
    other_day = ids["first"] + dt.timedelta(days=9)
    response = client.post(
        f"/sessions/{session_ids[0]}/reschedule",
        data={
            "scope": "one",
            "new_date": other_day.isoformat(),
            "new_time": "09:00",
            "action": "show",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Free on" in html and other_day.strftime("%-d %B") in html
    with app.app_context():
        first = db.session.get(Appointment, session_ids[0])
        assert first.starts_at.astimezone(first.location.tz).date() == ids["first"]  # unmoved
        close_day(db.session, location(ids), other_day, "Inventory")
    closed = client.post(
        f"/sessions/{session_ids[0]}/reschedule",
        data={
            "scope": "one",
            "new_date": other_day.isoformat(),
            "new_time": "09:00",
            "action": "show",
        },
    ).get_data(as_text=True)
    assert f"is closed on {other_day.strftime('%-d %B')} (Inventory)." in closed
    # Looking needs only the date: the time may still be empty.
    no_time = client.post(
        f"/sessions/{session_ids[0]}/reschedule",
        data={
            "scope": "one",
            "new_date": ids["first"].isoformat(),
            "new_time": "",
            "action": "show",
        },
    )
    assert no_time.status_code == 200 and "Free on" in no_time.get_data(as_text=True)


def test_a_refused_reschedule_gives_the_real_reason(app, client, login, ids):
    login("receptionist")
    session_ids = _book_series(client, ids)
    with app.app_context():
        first = db.session.get(Appointment, session_ids[0])
        tz = first.location.tz
        day = first.starts_at.astimezone(tz).date() + dt.timedelta(days=30)
    # Every chair is taken at 10:00 that day by other patients' sessions.
    others = [p for p in ids["patients"] if p != ids["patient"]]
    for n, chair_id in enumerate(ids["chairs"]):
        insert_session(
            app,
            ids,
            patient_id=others[n % len(others)],
            starts_at=at(day, "10:00"),
            chair_id=chair_id,
            monitor_id=ids["nurses"][n % len(ids["nurses"])],
        )
    response = client.post(
        f"/sessions/{session_ids[0]}/reschedule",
        data={"scope": "one", "new_date": day.isoformat(), "new_time": "10:00"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code in (409, 422)
    assert "That slot was just taken" not in html
    assert "fresh preview" not in html
    assert "That time is not free: " in html


# --- make-up sessions -------------------------------------------------------------------


def test_a_cancelled_session_can_be_made_up_within_the_series(app, client, login, ids):
    login("receptionist")
    session_ids = _book_series(client, ids)
    assert (
        client.post(
            f"/sessions/{session_ids[2]}/cancel", data={"scope": "one", "reason": "Unwell"}
        ).status_code
        == 302
    )
    with app.app_context():
        series_id = db.session.get(Appointment, session_ids[0]).series_id
    page = client.get(f"/series/{series_id}").get_data(as_text=True)
    assert "0 of 5 sessions done (1 cancelled" in page
    link = re.search(r'href="(/sessions/new\?[^"]*series_id=[^"]*)"', page).group(1)
    day = ids["first"] + dt.timedelta(days=20)
    found = client.get(link.replace("&amp;", "&") + f"&find=1&date={day.isoformat()}")
    html = found.get_data(as_text=True)
    assert "Make-up session" in html
    slot = re.search(r'name="slot_choice" value="([^"]+)"', html).group(1)
    booked = client.post(
        "/sessions/new",
        data={
            "csrf_token": client.csrf_token(),
            "patient_id": str(ids["patient"]),
            "series_id": str(series_id),
            "treatment_type_id": str(ids["iv"]),
            "location_id": str(ids["location"]),
            "date": day.isoformat(),
            "slot_choice": slot,
        },
    )
    assert booked.status_code == 302 and booked.headers["Location"] == f"/series/{series_id}"
    with app.app_context():
        members = db.session.scalars(
            sa.select(Appointment).where(Appointment.series_id == series_id)
        ).all()
        live = [a for a in members if a.status is AppointmentStatus.BOOKED]
        assert len(members) == 7 and len(live) == 6
    assert "0 of 6 sessions done (1 cancelled" in client.get(f"/series/{series_id}").get_data(
        as_text=True
    )


def test_a_make_up_for_another_patients_series_is_a_404(app, client, login, ids):
    login("receptionist")
    session_ids = _book_series(client, ids)
    with app.app_context():
        series_id = db.session.get(Appointment, session_ids[0]).series_id
        assert db.session.get(Series, series_id).patient_id == ids["patient"]
    response = client.get(f"/sessions/new?patient_id={ids['other_patient']}&series_id={series_id}")
    assert response.status_code == 404


# --- one session: the chosen day itself -------------------------------------------------


@pytest.mark.parametrize("when", ["past", "closed"])
def test_a_search_on_a_past_or_closed_day_says_so(app, client, login, ids, when):
    day = TODAY - dt.timedelta(days=2) if when == "past" else TODAY + dt.timedelta(days=3)
    if when == "closed":
        with app.app_context():
            close_day(db.session, location(ids), day, "Public holiday")
    login("receptionist")
    html = client.get(
        f"/sessions/new?patient_id={ids['patient']}&treatment_type_id={ids['iv']}"
        f"&location_id={ids['location']}&date={day.isoformat()}&find=1"
    ).get_data(as_text=True)
    expected = (
        "28 February has passed; the earliest day is today, 2 March. Free times from today on:"
        if when == "past"
        else "is closed on 5 March (Public holiday). Free times on the following days:"
    )
    assert expected in html
