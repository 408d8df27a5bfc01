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
        # Each a patient of its own; two-hour steps on four chairs, 24 a day at most (the
        # PostgreSQL exclusion constraints refuse overlaps, as they should).
        for first_day, count in ((1, 3), (3, 30)):
            for n in range(count):
                day = TODAY + dt.timedelta(days=first_day + n // 24)
                add_session(
                    db.session,
                    built,
                    patient=make_patient(db.session, 1000 * first_day + n),
                    starts_at=built.at(day, f"{7 + 2 * (n % 24 // 4):02d}:00"),
                    chair=built.chairs[n % 4],
                    monitor=built.nurses[n % 2],
                    commit=False,
                )
        db.session.commit()

    def days(first: int, last: int) -> str:
        low, high = (TODAY + dt.timedelta(days=d) for d in (first, last))
        return f"/Appointment?date=ge{low.isoformat()}&date=le{high.isoformat()}&_count=50"

    few, few_statements = statements_for(app, fhir_as, days(1, 1))
    many, many_statements = statements_for(app, fhir_as, days(3, 4))
    assert (few, many) == (3, 30)
    assert len(many_statements) == len(few_statements)
