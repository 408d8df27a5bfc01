"""ASVS 7.4.2 / 14.3.3: out-of-range ids, dates and parameters answer 4xx, never 5xx, on
every route; the CRLF ``next`` cannot break the redirect; no server version is disclosed.

Routes come from ``app.url_map``, so a route added later is walked too.
"""

from __future__ import annotations

import re
import threading
import urllib.request
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from clinic.extensions import db
from clinic.models import Role
from tests.builders import TEST_PASSWORD, make_user
from tests.testapp import ClinicClient

HUGE = "99999999999999999999999"
OUT_OF_RANGE_QUERY = {
    "date": "9999-12-31",
    "day": "9999-12-31",
    "date_from": "0001-01-01",
    "date_to": "9999-12-31",
    "start": "9999-12-31",
    "end": "9999-12-31",
    "week": "9999-12-31",
    "patient_id": HUGE,
    "before": HUGE,
    "page": HUGE,
    "location": HUGE,
    "location_id": HUGE,
    "chair_id": HUGE,
    "limit": HUGE,
    "next": "/%0d%0aX-Injected:%20yes",
}


def out_of_range_path(rule_text: str) -> str:
    """The rule with every parameter replaced by a value no record can have."""

    def fill(match: re.Match[str]) -> str:
        converter = match.group(1) or ""
        name = match.group(2)
        if converter.startswith(("int", "id")):
            return HUGE
        if converter.startswith("path"):
            return "x"
        if "date" in name or name == "day":
            return "9999-12-31"
        return HUGE

    return re.sub(r"<(?:([a-z]+)(?:\([^)]*\))?:)?([a-z_]+)>", fill, rule_text)


def logged_in(app: Flask, role: Role) -> ClinicClient:
    app.test_client_class = ClinicClient
    with app.app_context():
        make_user(db.session, f"range-{role.value}", role)
    client: Any = app.test_client()
    client.log_in(f"range-{role.value}", TEST_PASSWORD)
    assert client.is_logged_in()
    return client


def test_every_route_answers_out_of_range_values_without_a_server_error(app):
    client = logged_in(app, Role.ADMIN)
    query = "&".join(f"{key}={value}" for key, value in OUT_OF_RANGE_QUERY.items())
    problems = []
    walked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in {"static", "auth.logout"}:
            continue
        path = out_of_range_path(rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if method == "GET":
                response = client.get(f"{path}?{query}")
            elif path.startswith("/api/"):
                response = client.open(path, method=method, json={})
            else:
                data = {**OUT_OF_RANGE_QUERY, "csrf_token": client.csrf_token()}
                response = client.open(f"{path}?{query}", method=method, data=data)
            walked += 1
            if response.status_code >= 500:
                problems.append(f"{method} {path}: {response.status_code}")
            response.close()
    assert walked > 50
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    "path",
    [
        f"/patients/{HUGE}",
        f"/sessions/{HUGE}",
        f"/series/{HUGE}",
        f"/admin/users/{HUGE}",
        "/patients/2147483648",
    ],
)
def test_an_id_beyond_any_record_is_not_found(app, path):
    client = logged_in(app, Role.ADMIN)
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("path", ["/notifications/", "/audit/"])
@pytest.mark.parametrize("date", ["9999-12-31", "0001-01-01"])
def test_a_date_outside_the_calendar_is_refused_with_a_message(app, path, date):
    client = logged_in(app, Role.ADMIN)
    response = client.get(f"{path}?date_from=2026-01-01&date_to={date}")
    assert response.status_code in (200, 400)
    assert "Enter a date between 1900 and 2999." in response.get_data(as_text=True)


def test_a_crlf_next_logs_in_and_goes_home_without_injecting_a_header(app):
    app.test_client_class = ClinicClient
    with app.app_context():
        make_user(db.session, "crlf", Role.RECEPTIONIST)
    client: Any = app.test_client()
    response = client.post(
        "/login?next=/%0d%0aX-Injected:%20yes",
        data={"username": "crlf", "password": TEST_PASSWORD},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert "X-Injected" not in response.headers


def test_the_built_in_server_names_no_version(app):
    from clinic.serving import ClinicRequestHandler

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=ClinicRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/login"
        with urllib.request.urlopen(url) as answer:
            server_header = answer.headers.get("Server", "")
    finally:
        server.shutdown()
        thread.join()
    assert server_header == "clinic"
    assert not re.search(r"\d", server_header)
