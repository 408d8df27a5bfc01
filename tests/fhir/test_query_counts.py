"""A search costs the same few statements for 3 results as for 30: no query per row."""

from __future__ import annotations

import datetime as dt

from clinic.extensions import db
from tests.builders import TODAY, add_session, make_patient
from tests.fhir.conftest import bundle
from tests.fhir.test_appointment import load_world
from tests.unit.querycount import recorded_statements, writes


def statements_for(app, fhir_as, path: str) -> tuple[int, list[str]]:
    api = fhir_as()  # a fresh token each time: both searches pay its first-use update
    with app.app_context():
        engine = db.engine
    with recorded_statements(engine) as statements:
        found = bundle(api.get(path))
    return len(found.entry or []), statements


def test_a_patient_search_of_30_costs_what_one_of_3_does(app, fhir_as, world):
    with app.app_context():
        for n in range(3):
            make_patient(db.session, 100 + n, family_name=f"Few{n}")
        for n in range(30):
            make_patient(db.session, 200 + n, family_name=f"Many{n}")
        db.session.commit()
    few, few_statements = statements_for(app, fhir_as, "/Patient?name=few&_count=50")
    many, many_statements = statements_for(app, fhir_as, "/Patient?name=many&_count=50")
    assert (few, many) == (3, 30)
    assert len(many_statements) == len(few_statements)
    # The audit rows of all 30 go out in one INSERT (beside the token's use).
    assert len([s for s in writes(many_statements) if "audit_event" in s]) == 1


def test_an_appointment_search_of_30_costs_what_one_of_3_does(app, fhir_as, world):
    with app.app_context():
        built = load_world(world)
        for day_offset, count in ((1, 3), (2, 30)):
            day = TODAY + dt.timedelta(days=day_offset)
            for n in range(count):
                patient = make_patient(db.session, 1000 * day_offset + n)
                add_session(
                    db.session,
                    built,
                    patient=patient,
                    starts_at=built.at(day, f"{7 + n // 4:02d}:{(n % 4) * 15:02d}"),
                    chair=built.chairs[n % 4],
                    monitor=built.nurses[n % 2],
                    commit=False,
                )
        db.session.commit()
    one = (TODAY + dt.timedelta(days=1)).isoformat()
    two = (TODAY + dt.timedelta(days=2)).isoformat()
    few, few_statements = statements_for(app, fhir_as, f"/Appointment?date={one}&_count=50")
    many, many_statements = statements_for(app, fhir_as, f"/Appointment?date={two}&_count=50")
    assert (few, many) == (3, 30)
    assert len(many_statements) == len(few_statements)
