"""Schedule (one per chair, one per monitor) and Slot: free slots are the front desk's own
availability search, every rule applied; busy slots are the time live sessions hold."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from fhir.resources.R4B.schedule import Schedule

from clinic import scheduling
from clinic.extensions import db
from clinic.fhir.mapping import TREATMENT_TYPE_SYSTEM, chair_schedule_id, monitor_schedule_id
from clinic.fhir.slots import STARTS_PER_DAY
from clinic.models import Location
from tests.builders import NOW, NY, TODAY, at, close_day
from tests.fhir.conftest import bundle, entries, outcome
from tests.fhir.test_appointment import add

TOMORROW = TODAY + dt.timedelta(days=1)


def day_query(day: dt.date, **extra: str) -> str:
    pairs = [("start", f"ge{day.isoformat()}"), ("start", f"le{day.isoformat()}")]
    return "?" + urlencode([*pairs, *extra.items()])


def front_desk_slots(app, world, day: dt.date, treatment_id: int) -> list[scheduling.Slot]:
    """What the front desk's search offers that day (the same function, called directly)."""
    with app.app_context():
        return scheduling.find_slots(
            db.session,
            treatment_type_id=treatment_id,
            location_id=world.location_id,
            start_date=day,
            end_date=day,
            now=NOW,
            limit=1000,
            per_day=STARTS_PER_DAY,
        )


def test_there_is_one_schedule_per_chair_and_per_monitor(fhir_as, world):
    found = entries(fhir_as("nurse").get("/Schedule"))
    ids = {s.id for s in found}
    chairs = {chair_schedule_id(i) for i in [*world.chair_ids, world.nasal_chair_id]}
    monitors = {monitor_schedule_id(i) for i in world.nurse_ids}
    # The prescriber is consulted, not booked: no schedule of their own.
    assert ids == chairs | monitors
    by_id = {s.id: s for s in found}
    iv_chair = by_id[chair_schedule_id(world.chair_ids[0])]
    assert [c.coding[0].code for c in iv_chair.serviceType] == [str(world.iv_id)]
    nasal_chair = by_id[chair_schedule_id(world.nasal_chair_id)]
    assert [c.coding[0].code for c in nasal_chair.serviceType] == [str(world.nasal_id)]


def test_a_schedule_is_read_by_id_and_an_unknown_one_is_not_found(fhir_as, world):
    api = fhir_as()
    answer = api.get(f"/Schedule/{monitor_schedule_id(world.nurse_ids[1])}")
    assert isinstance(answer.resource, Schedule)
    assert answer.resource.actor[0].display == "Nurse Number2"
    outcome(api.get(f"/Schedule/{monitor_schedule_id(world.prescriber_id)}"), 404)
    outcome(api.get("/Schedule/chair-99999999999"), 404)
    outcome(api.get("/Schedule/nonsense"), 404)


def test_free_slots_are_the_front_desks_search_for_that_day(app, fhir_as, world):
    expected = front_desk_slots(app, world, TOMORROW, world.iv_id)
    assert expected, "the world has free time tomorrow"
    answer = fhir_as().get(
        "/Slot"
        + day_query(TOMORROW, status="free", **{"service-type": str(world.iv_id)})
        + "&_count=100"
    )
    slots = entries(answer)
    assert bundle(answer).total == len(expected)
    assert [(s.start, s.schedule.reference) for s in slots] == [
        (slot.starts_at, f"Schedule/{chair_schedule_id(slot.chair_id)}") for slot in expected
    ]
    assert {s.status for s in slots} == {"free"}
    assert slots[0].end == expected[0].ends_at
    assert slots[0].serviceType[0].coding[0].system == TREATMENT_TYPE_SYSTEM


def test_a_closed_day_has_no_free_slots(app, fhir_as, world):
    with app.app_context():
        close_day(db.session, db.session.get(Location, world.location_id), TOMORROW, "Training")
    api = fhir_as()
    query = {"status": "free", "service-type": f"{TREATMENT_TYPE_SYSTEM}|{world.iv_id}"}
    assert entries(api.get("/Slot" + day_query(TOMORROW, **query))) == []
    after = TOMORROW + dt.timedelta(days=1)
    assert entries(api.get("/Slot" + day_query(after, **query)))


def test_a_monitors_schedule_has_the_slots_the_search_gives_that_monitor(app, fhir_as, world):
    nurse = world.nurse_ids[1]
    expected = [
        s.starts_at
        for s in front_desk_slots(app, world, TOMORROW, world.iv_id)
        if s.monitor_id == nurse
    ]
    query = {
        "status": "free",
        "service-type": str(world.iv_id),
        "schedule": f"Schedule/{monitor_schedule_id(nurse)}",
        "_count": "100",
    }
    slots = entries(fhir_as().get("/Slot" + day_query(TOMORROW, **query)))
    assert [s.start for s in slots] == expected
    assert {s.schedule.reference for s in slots} <= {f"Schedule/{monitor_schedule_id(nurse)}"}


def test_a_booked_session_is_busy_time_on_its_chair_and_its_monitor(app, fhir_as, world):
    appointment_id = add(app, world, hhmm="10:00", chair=2)
    api = fhir_as()
    chair = chair_schedule_id(world.chair_ids[2])
    busy = entries(api.get("/Slot" + day_query(TOMORROW, status="busy", schedule=chair)))
    assert [(s.start, s.status) for s in busy] == [(at(TOMORROW, "10:00"), "busy")]
    # The chair is held through turnover, the monitor until monitoring ends.
    whole = api.get(f"/Appointment/{appointment_id}").resource
    assert busy[0].end > whole.end
    monitor = monitor_schedule_id(world.nurse_ids[0])
    watched = entries(api.get("/Slot" + day_query(TOMORROW, status="busy", schedule=monitor)))
    assert [(s.start, s.end) for s in watched] == [(whole.start, whole.end)]
    # Which patient is not said.
    assert "Patient" not in api.get("/Slot" + day_query(TOMORROW, status="busy")).response.text


def test_the_booked_time_is_no_longer_free(app, fhir_as, world):
    query = {"status": "free", "service-type": str(world.iv_id), "_count": "100"}
    api = fhir_as()
    chair = chair_schedule_id(world.chair_ids[0])
    before = entries(api.get("/Slot" + day_query(TOMORROW, schedule=chair, **query)))
    assert before
    local = before[0].start.astimezone(NY)
    add(app, world, hhmm=local.strftime("%H:%M"), chair=0)
    after = entries(api.get("/Slot" + day_query(TOMORROW, schedule=chair, **query)))
    assert before[0].start not in [s.start for s in after]


def test_free_slots_need_a_service_type(fhir_as, world):
    answer = fhir_as().get("/Slot?status=free")
    assert "service-type" in outcome(answer, 400).issue[0].diagnostics
    assert bundle(fhir_as().get("/Slot?status=busy")).total == 0


def test_slot_search_refuses_a_window_over_a_month_and_bad_parameters(fhir_as, world):
    api = fhir_as()
    iv = str(world.iv_id)
    outcome(api.get(f"/Slot?service-type={iv}&start=ge2026-03-01&start=le2026-06-01"), 400)
    outcome(api.get(f"/Slot?service-type={iv}&start=ge2026-02-30"), 400)
    outcome(api.get(f"/Slot?service-type={iv}&status=open"), 400)
    outcome(api.get("/Slot?service-type=iv"), 400)
    outcome(api.get("/Slot?schedule=Patient/1"), 400)


def test_slot_search_pages(app, fhir_as, world):
    query = {"status": "free", "service-type": str(world.iv_id), "_count": "3"}
    first = bundle(fhir_as().get("/Slot" + day_query(TOMORROW, **query)))
    assert len(first.entry) == 3 and first.total > 3
    next_url = next(link.url for link in first.link if link.relation == "next")
    second = bundle(fhir_as().get(next_url))
    assert second.entry[0].resource.start >= first.entry[-1].resource.start
    assert second.entry[0].resource.id != first.entry[-1].resource.id
