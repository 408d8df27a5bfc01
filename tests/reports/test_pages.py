"""The Reports pages: who may see them, bad input, the CSV matching the page, the audit
trail, and a fixed number of queries per report whatever the range."""

from __future__ import annotations

import csv
import datetime as dt
import io
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import AuditEvent
from clinic.reports import REPORTS, ReportScope, ReportSettings, build_report
from tests.builders import NOW
from tests.reports.world import DAY, NEXT_DAY, day_world, message_world, series_world
from tests.unit.querycount import recorded_statements

RANGE = {"first_day": DAY.isoformat(), "last_day": NEXT_DAY.isoformat()}


class TableText(HTMLParser):
    """The cells of every table on a page, as text: [caption, header, *rows] per table."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._caption: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "caption":
            self._caption = []
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "caption" and self._caption is not None:
            self.tables[-1].append(["".join(self._caption).strip()])
            self._caption = None
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[-1].append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        for part in (self._cell, self._caption):
            if part is not None:
                part.append(data)


def page_tables(html: str) -> list[list[list[str]]]:
    parser = TableText()
    parser.feed(html)
    return parser.tables


def csv_tables(text: str) -> list[list[list[str]]]:
    tables: list[list[list[str]]] = [[]]
    for row in csv.reader(io.StringIO(text)):
        if not row:
            tables.append([])
        else:
            tables[-1].append(row)
    return [table for table in tables if table]


@pytest.mark.parametrize(
    ("role", "status"), [("admin", 200), ("manager", 200), ("receptionist", 403), ("nurse", 403)]
)
def test_only_admins_and_managers_see_reports(client, login, role, status):
    login(role)
    assert client.get("/reports/").status_code == status
    assert client.get("/reports/utilisation").status_code == status
    assert client.get("/reports/utilisation.csv").status_code == status


def test_an_anonymous_visitor_is_sent_to_log_in(client):
    response = client.get("/reports/attendance")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_manager_sees_reports_and_the_board_but_changes_nothing(client, login):
    from clinic.permissions import Permission, can

    login("manager")
    home = client.get("/reports/").get_data(as_text=True)
    assert ">Reports<" in home and ">Book a series<" not in home and ">Admin<" not in home
    assert can("manager", Permission.VIEW_SCHEDULE)
    assert not any(
        can("manager", permission)
        for permission in Permission
        if permission not in (Permission.VIEW_REPORTS, Permission.VIEW_SCHEDULE)
    )


@pytest.mark.parametrize(
    "query",
    [
        {"first_day": "2026-03-05", "last_day": "2026-03-01"},
        {"first_day": "not a date"},
        {"first_day": "2020-01-01", "last_day": "2026-03-01"},
        {"location": "999999"},
    ],
)
def test_bad_filters_get_a_clear_message_and_no_report(client, login, query):
    login("manager")
    response = client.get("/reports/utilisation", query_string=query)
    assert response.status_code == 400
    assert "Correct the fields above" in response.get_data(as_text=True)
    assert client.get("/reports/utilisation.csv", query_string=query).status_code == 400


def test_an_unknown_report_is_not_found(client, login):
    login("manager")
    assert client.get("/reports/nothing-here").status_code == 404
    assert client.get("/reports/nothing-here.csv").status_code == 404


@pytest.mark.parametrize("key", list(REPORTS))
def test_each_report_page_shows_charts_tables_and_definitions_and_the_csv_matches(
    app, client, login, key
):
    with app.app_context():
        (message_world if key == "messages" else day_world)(db.session)
    login("manager")
    page = client.get(f"/reports/{key}", query_string=RANGE)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.count('src="data:image/svg+xml;base64,') >= 1
    assert "How each figure is computed" in html
    download = client.get(f"/reports/{key}.csv", query_string=RANGE)
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert csv_tables(download.get_data(as_text=True)) == page_tables(html)


def test_the_csv_download_is_in_the_audit_trail(client, login, app):
    login("admin")
    client.get("/reports/series.csv", query_string=RANGE)
    with app.app_context():
        event = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "report.export")
        ).one()
    assert event.username == "admin-user" and event.entity_id == "series"
    assert "2026-02-23..2026-02-24" in event.summary


def test_the_reports_nav_item_shows_for_managers_only(client, login):
    login("receptionist")
    assert 'href="/reports/"' not in client.get("/").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": client.csrf_token()})
    login("manager")
    assert 'href="/reports/"' in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("key", list(REPORTS))
def test_each_report_sends_the_same_number_of_queries_whatever_the_range(session, key):
    (message_world if key == "messages" else series_world if key == "series" else day_world)(
        session
    )
    counts = []
    for scope in (
        ReportScope(DAY, DAY),
        ReportScope(dt.date(2025, 12, 1), dt.date(2026, 3, 31)),
        ReportScope(dt.date(2024, 1, 1), dt.date(2026, 12, 31)),
    ):
        session.rollback()  # each run opens its own transaction
        with recorded_statements(db.engine) as statements:
            build_report(session, key, scope=scope, settings=ReportSettings(), now=NOW)
        counts.append(len(statements))
    assert counts[0] == counts[1] == counts[2], counts
    # Utilisation: locations, their opening hours, chairs, closures, blocks, two aggregates;
    # on SQLite, each transaction's BEGIN IMMEDIATE as well.
    assert counts[0] <= 8


def test_the_late_cancellation_window_is_set_in_the_config_with_24_hours_by_default(
    app, client, login
):
    from clinic.reports import report_settings_from_config

    assert app.config["REPORTS_LATE_CANCEL_HOURS"] == 24
    assert report_settings_from_config(app.config).late_cancel_hours == 24
    login("manager")
    assert "window is 24 hours" in client.get("/reports/attendance").get_data(as_text=True)
    app.config["REPORTS_LATE_CANCEL_HOURS"] = 2
    assert "window is 2 hours" in client.get("/reports/attendance").get_data(as_text=True)
