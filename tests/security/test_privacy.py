"""Patient details never reach logs or error pages, whatever goes wrong.

The tests raise errors that carry a patient's name, date of birth, phone and email (in an
exception message, and in a failing INSERT's parameters), serve a patient search through the
real development server, and scan everything logged, at DEBUG level (so SQL logging is on
too), plus the raw stderr and the pages returned.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import urllib.error
import urllib.request

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from clinic.extensions import db
from clinic.models import Patient
from clinic.web.errors import GENERIC_MESSAGES

GIVEN, FAMILY = "Marguerite", "Quillfeather"
DATE_OF_BIRTH = dt.date(1971, 4, 13)
PHONE = "+15555550123"
EMAIL = "m.quillfeather@example.org"
PATIENT_VALUES = [
    GIVEN,
    FAMILY,
    DATE_OF_BIRTH.isoformat(),
    "04/13/1971",
    PHONE,
    "5555550123",
    EMAIL,
]


def leaked(text: str) -> list[str]:
    folded = text.lower()
    return [value for value in PATIENT_VALUES if value.lower() in folded]


def log_everything(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    # SQLAlchemy keeps its own loggers at WARNING unless told: as if an operator turned SQL
    # logging on to debug something. Parameters must stay hidden even then.
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")


def everything_logged(caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture) -> str:
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    records = "\n".join(formatter.format(record) for record in caplog.records)
    out, err = capfd.readouterr()
    return "\n".join([records, out, err])


def add_patient(session, **overrides) -> Patient:
    values = {
        "mrn": "PRIV-0001",
        "given_name": GIVEN,
        "family_name": FAMILY,
        "date_of_birth": DATE_OF_BIRTH,
        "phone": PHONE,
        "email": EMAIL,
    }
    patient = Patient(**(values | overrides))
    session.add(patient)
    session.commit()
    return patient


@pytest.fixture
def failing_views(app):
    """Views that fail the way real code can, with patient data in hand."""

    def raise_with_patient_data():
        raise RuntimeError(f"cannot book {GIVEN} {FAMILY} born {DATE_OF_BIRTH} ({PHONE}, {EMAIL})")

    def violate_a_constraint():
        add_patient(db.session)  # the MRN is taken: IntegrityError carrying every value
        return "unreachable"

    def violate_a_check():
        # A phone not in E.164 breaks the CHECK constraint.
        add_patient(db.session, mrn="PRIV-0002", phone=PHONE[1:])
        return "unreachable"

    app.add_url_rule("/test-privacy/exception", view_func=raise_with_patient_data)
    app.add_url_rule("/test-privacy/integrity", view_func=violate_a_constraint)
    app.add_url_rule("/test-privacy/check", view_func=violate_a_check)
    with app.app_context():
        add_patient(db.session)
    return app


@pytest.mark.parametrize("path", ["exception", "integrity", "check"])
def test_errors_with_patient_data_leave_no_trace_in_logs_or_pages(
    failing_views, client, caplog, capfd, path
):
    log_everything(caplog)
    response = client.get(f"/test-privacy/{path}")
    page = response.get_data(as_text=True)

    assert response.status_code == 500
    assert GENERIC_MESSAGES[500] in page
    assert leaked(page) == []
    logged = everything_logged(caplog, capfd)
    assert "unhandled" in logged  # the failure itself is logged...
    assert leaked(logged) == []  # ...without the patient


def test_database_errors_do_not_carry_statement_parameters(app):
    with app.app_context():
        add_patient(db.session)
        with pytest.raises(sa.exc.IntegrityError) as caught:
            add_patient(db.session)
        db.session.rollback()
    assert leaked(str(caught.value)) == []
    assert "hidden" in str(caught.value)


def test_patient_pages_log_nothing_about_the_patient(app, client, login, caplog, capfd):
    with app.app_context():
        patient_id = add_patient(db.session).id
    login("receptionist")
    log_everything(caplog)
    for path in [f"/patients/?q={FAMILY}", f"/patients/{patient_id}", "/patients/?q=1971-04-13"]:
        response = client.get(path)
        assert response.status_code == 200, path
    assert leaked(everything_logged(caplog, capfd)) == []


def test_the_development_servers_request_log_hides_query_strings(app, caplog, capfd):
    """`clinic serve` logs every request line; a patient search must not end up there."""
    caplog.set_level(logging.INFO, logger="werkzeug")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        for query in (f"q={GIVEN}+{FAMILY}", f"email={EMAIL}", f"phone={PHONE}"):
            url = f"http://127.0.0.1:{server.server_port}/patients/?{query}"
            try:
                urllib.request.urlopen(url, timeout=10).close()
            except urllib.error.HTTPError as error:
                error.close()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
    logged = everything_logged(caplog, capfd)
    assert "GET /patients/?[query hidden]" in logged
    assert leaked(logged) == []
