"""The admin's audit trail: search, paging, CSV export, and no way to change a row."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
import sqlalchemy as sa

from clinic.audit import Actor, AuditTrailIsAppendOnly, record_event
from clinic.extensions import db
from clinic.models import AuditEvent, Location

DAY = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)


def add_events(app, specs) -> None:
    """specs: (username, user_id, action, patient_id, at, summary)."""
    with app.app_context():
        for username, user_id, action, patient_id, at, summary in specs:
            event = record_event(
                db.session,
                Actor(user_id=user_id, username=username, source_address="10.0.0.5"),
                action=action,
                entity_type="patient" if patient_id else "user",
                entity_id=patient_id or user_id,
                patient_id=patient_id,
                summary=summary,
            )
            event.at = at
        db.session.commit()


@pytest.fixture
def trail(app):
    add_events(
        app,
        [
            ("rita", 11, "patient.view", 7, DAY - dt.timedelta(days=2), "patient 7"),
            ("rita", 11, "appointment.cancel", 7, DAY, "appointment 70"),
            ("nina", 12, "appointment.check_in", 8, DAY, "appointment 80"),
            ("nina", 12, "patient.view", 9, DAY + dt.timedelta(days=1), "=HYPERLINK(1)"),
        ],
    )


def audit_rows(response) -> list[str]:
    """The HTML of each table row on the page."""
    html = response.get_data(as_text=True)
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html else ""
    return body.split("<tr>")[1:]


@pytest.mark.parametrize("role", ["receptionist", "nurse"])
def test_only_admins_see_the_audit_trail(client, login, role):
    login(role)
    assert client.get("/audit/").status_code == 403
    assert client.get("/audit/export.csv").status_code == 403


def test_anonymous_users_are_sent_to_log_in(client):
    response = client.get("/audit/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_trail_lists_newest_first_with_ids_not_details(client, login, trail):
    login("admin")
    response = client.get("/audit/")
    assert response.status_code == 200
    rows = audit_rows(response)
    # The admin's own login is the newest: password, enrolment of the second factor, login.
    assert "auth.login" in rows[0]
    assert "auth.two_factor_enrol" in rows[1]
    assert "auth.two_factor_enrol_start" in rows[2]
    assert "auth.password_ok" in rows[3]
    assert "patient.view" in rows[4] and "nina" in rows[4]
    assert len(rows) == 8


def test_search_by_user(client, login, trail):
    login("admin")
    rows = audit_rows(client.get("/audit/?user=RITA"))
    assert len(rows) == 2 and all("rita" in row for row in rows)


def test_search_by_patient(client, login, trail):
    login("admin")
    rows = audit_rows(client.get("/audit/?patient_id=7"))
    assert len(rows) == 2
    assert {"patient.view", "appointment.cancel"} == {
        action for row in rows for action in ("patient.view", "appointment.cancel") if action in row
    }


def test_search_by_date_range_and_action(client, login, trail):
    login("admin")
    rows = audit_rows(client.get("/audit/?date_from=2026-03-02&date_to=2026-03-02"))
    assert len(rows) == 2
    rows = audit_rows(client.get("/audit/?date_from=2026-03-02&action=appointment.check"))
    assert len(rows) == 1 and "nina" in rows[0]


def test_dates_are_the_clinics_local_days(app, client, login):
    with app.app_context():
        db.session.add(Location(name="Riverside", timezone="America/New_York"))
        db.session.commit()
    # 03:00 UTC on 3 March is still 2 March in New York.
    add_events(
        app, [("rita", 11, "patient.view", 7, dt.datetime(2026, 3, 3, 3, tzinfo=dt.UTC), "")]
    )
    login("admin")
    rows = audit_rows(client.get("/audit/?date_from=2026-03-02&date_to=2026-03-02"))
    assert len(rows) == 1 and "22:00:00" in rows[0]


@pytest.mark.parametrize(
    "query",
    [
        "date_from=2026-02-30",
        "date_from=2026-03-05&date_to=2026-03-01",
        "patient_id=abc",
        "patient_id=99999999999999999999",
        "user=" + "x" * 200,
    ],
)
def test_bad_search_input_gets_a_clear_message_not_an_error(client, login, query):
    login("admin")
    response = client.get(f"/audit/?{query}")
    assert response.status_code == 400
    assert 'class="error"' in response.get_data(as_text=True)


def test_csv_export_applies_the_filters_and_is_itself_audited(app, client, login, trail):
    login("admin")
    response = client.get("/audit/export.csv?user=nina")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [row["action"] for row in rows] == ["patient.view", "appointment.check_in"]
    assert rows[0]["patient_id"] == "9"
    assert rows[0]["summary"] == "'=HYPERLINK(1)"  # a spreadsheet will not run it
    assert rows[0]["source_address"] == "10.0.0.5"
    with app.app_context():
        export = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "audit.export")
        ).one()
        assert export.summary == "user=nina"


def test_long_trails_are_paged(app, client, login):
    add_events(app, [("rita", 11, "patient.view", n, DAY, "") for n in range(1, 131)])
    login("admin")
    first = client.get("/audit/?user=rita")
    assert len(audit_rows(first)) == 100
    html = first.get_data(as_text=True)
    assert "130 matching entries" in html
    older = next(
        part.split('"', 1)[0]
        for part in html.split('href="')[1:]
        if "before=" in part.split('"', 1)[0]
    ).replace("&amp;", "&")
    assert len(audit_rows(client.get(older))) == 30
    export = client.get("/audit/export.csv?user=rita").get_data(as_text=True)
    assert len(export.strip().splitlines()) == 131  # header + every row, not one page


def test_the_app_offers_no_way_to_change_audit_rows(app):
    audit_rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("audit.")]
    assert audit_rules
    for rule in audit_rules:
        assert rule.methods <= {"GET", "HEAD", "OPTIONS"}, rule


def test_the_orm_refuses_to_change_or_delete_an_audit_row(app, trail):
    with app.app_context():
        event = db.session.scalars(sa.select(AuditEvent)).first()
        event.summary = "rewritten"
        with pytest.raises(AuditTrailIsAppendOnly):
            db.session.commit()
        db.session.rollback()
        event = db.session.scalars(sa.select(AuditEvent)).first()
        db.session.delete(event)
        with pytest.raises(AuditTrailIsAppendOnly):
            db.session.commit()
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 4
