"""Idempotency-Key on API writes (issue 12, point 3): a retried write returns the first
answer without doing the work again; the same key with another request is a 422; a key
still in flight is a 409; failed requests release their key; expired keys are pruned."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from clinic.api.idempotency import claim, fingerprint, prune_idempotency_keys
from clinic.extensions import db
from clinic.models import Appointment, IdempotencyKey, Patient, Series, User
from tests.api.conftest import ApiClient, problem
from tests.api.test_booking import Clinic, _choice
from tests.builders import NOW

KEY = "7f1d3c52-1b4e-4d59-9a57-3f0f3c1f2a10"


@pytest.fixture
def clinic(api_as: Callable[..., ApiClient], demo: dict[str, Any]) -> Clinic:
    return Clinic(api_as("receptionist"), demo)


def count(app: Flask, model: Any) -> int:
    with app.app_context():
        return int(db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def booking_body(clinic: Clinic, patient_id: int) -> dict[str, Any]:
    preview = clinic.preview(patient_id)
    assert preview["complete"]
    return {
        "patient_id": patient_id,
        "plan": clinic.custom_plan(),
        "proposals": [_choice(item["slot"]) for item in preview["sessions"]],
    }


def patient_body(n: int) -> dict[str, Any]:
    return {
        "mrn": f"IDEM-{n}",
        "given_name": "Retry",
        "family_name": f"Patient{n}",
        "date_of_birth": "1980-05-05",
    }


def test_the_same_series_sent_twice_with_one_key_is_booked_once(app, clinic):
    body = booking_body(clinic, clinic.new_patient())
    before = (count(app, Appointment), count(app, Series))

    first = clinic.api.post("/series", json=body, headers={"Idempotency-Key": KEY})
    again = clinic.api.post("/series", json=body, headers={"Idempotency-Key": f'"{KEY}"'})

    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert (count(app, Appointment), count(app, Series)) == (before[0] + 3, before[1] + 1)


def test_without_a_key_a_second_identical_search_and_book_is_refused_by_dose_spacing(app, clinic):
    """Sending the same plan twice (no proposals: the API searches) used to book a second
    infusion two hours after the first; now the search finds no dose far enough away."""
    body = {"patient_id": clinic.new_patient(), "plan": clinic.custom_plan()}
    assert clinic.api.post("/series", json=body).status_code == 201
    before = count(app, Appointment)
    refused = problem(clinic.api.post("/series", json=body), 422)
    assert "already has an IV ketamine infusion" in refused["detail"]
    assert "doses must be at least 24 h apart" in refused["detail"]
    assert count(app, Appointment) == before


def test_the_same_key_with_another_body_is_a_422_and_books_nothing(app, clinic):
    headers = {"Idempotency-Key": KEY}
    first = clinic.api.post("/patients", json=patient_body(1), headers=headers)
    assert first.status_code == 201
    before = count(app, Patient)
    refused = problem(clinic.api.post("/patients", json=patient_body(2), headers=headers), 422)
    assert "already used with a different request" in refused["detail"]
    assert count(app, Patient) == before


def test_json_key_order_does_not_make_another_request(app, clinic):
    headers = {"Idempotency-Key": KEY, "Content-Type": "application/json"}
    body = patient_body(3)
    first = clinic.api.post("/patients", json=body, headers=headers)
    reordered = '{"date_of_birth": "1980-05-05", "family_name": "Patient3", ' + (
        '"given_name": "Retry", "mrn": "IDEM-3"}'
    )
    again = clinic.api.post("/patients", data=reordered, headers=headers)
    assert again.status_code == 201 and again.get_json() == first.get_json()


def test_keys_belong_to_their_token_user(app, clinic, api_as):
    other = api_as("receptionist", "second-receptionist")
    headers = {"Idempotency-Key": KEY}
    mine = clinic.api.post("/patients", json=patient_body(4), headers=headers)
    theirs = other.post("/patients", json=patient_body(5), headers=headers)
    assert mine.status_code == theirs.status_code == 201
    assert mine.get_json()["id"] != theirs.get_json()["id"]


def test_a_failed_request_releases_its_key(app, clinic):
    headers = {"Idempotency-Key": KEY}
    bad = {**patient_body(6), "date_of_birth": "not a date"}
    problem(clinic.api.post("/patients", json=bad, headers=headers), 422)
    fixed = clinic.api.post("/patients", json=patient_body(6), headers=headers)
    assert fixed.status_code == 201
    assert count(app, IdempotencyKey) == 1


@pytest.mark.parametrize("key", ["", " ", "x" * 256, "naïve", 'has"quote'])
def test_a_malformed_key_is_a_400_and_changes_nothing(app, clinic, key):
    before = count(app, Patient)
    body = problem(
        clinic.api.post("/patients", json=patient_body(7), headers={"Idempotency-Key": key}), 400
    )
    assert "Idempotency-Key header must be 1 to 255 visible ASCII characters" in body["detail"]
    assert count(app, Patient) == before
    assert count(app, IdempotencyKey) == 0


def user_id(app: Flask, username: str) -> int:
    with app.app_context():
        found = db.session.scalar(sa.select(User.id).where(User.username == username))
        assert found is not None
        return int(found)


def test_a_key_still_in_flight_is_a_409(app, clinic):
    """The first request has claimed the key (as the API does before running the work) and
    not finished: the retry must neither wait nor do the work a second time."""
    body = patient_body(8)
    with app.app_context():
        claim(
            db.session(),
            user_id=user_id(app, "api-receptionist"),
            key=KEY,
            fingerprint=fingerprint("POST", "/api/v1/patients?", json.dumps(body).encode()),
            method="POST",
            path="/api/v1/patients?",
            now=NOW,
        )
    before = count(app, Patient)
    refused = problem(
        clinic.api.post("/patients", json=body, headers={"Idempotency-Key": KEY}), 409
    )
    assert "still being processed" in refused["detail"]
    assert count(app, Patient) == before


def test_state_changes_replay_too(app, clinic):
    series = clinic.book(clinic.new_patient())
    session = series["appointments"][0]
    headers = {"Idempotency-Key": KEY}
    body = {"scope": "one", "reason": "Patient asked"}
    first = clinic.api.post(f"/appointments/{session['id']}/cancel", json=body, headers=headers)
    again = clinic.api.post(f"/appointments/{session['id']}/cancel", json=body, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.get_json() == first.get_json()
    # Without the key the same cancel is refused: the session is already cancelled.
    problem(clinic.api.post(f"/appointments/{session['id']}/cancel", json=body), 422)


def test_expired_keys_are_pruned_and_may_be_used_again(app, clinic):
    headers = {"Idempotency-Key": KEY}
    assert clinic.api.post("/patients", json=patient_body(9), headers=headers).status_code == 201
    with app.app_context():
        db.session.execute(
            sa.update(IdempotencyKey).values(
                created_at=NOW - dt.timedelta(hours=25),
                expires_at=NOW - dt.timedelta(hours=1),
            )
        )
        db.session.commit()
    # Expired: a new request under the old key is done, not refused.
    again = clinic.api.post("/patients", json=patient_body(10), headers=headers)
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
    with app.app_context():
        db.session.execute(sa.update(IdempotencyKey).values(expires_at=NOW))
        db.session.commit()
        assert prune_idempotency_keys(db.session(), now=NOW) == 1
        db.session.commit()
    assert count(app, IdempotencyKey) == 0


def test_the_openapi_document_offers_the_header_on_every_write(app, client):
    document = client.get("/api/v1/openapi.json").get_json()
    for path, methods in document["paths"].items():
        for method, entry in methods.items():
            names = {p["name"] for p in entry["parameters"] if p["in"] == "header"}
            if method == "get":
                assert "Idempotency-Key" not in names, path
            else:
                assert "Idempotency-Key" in names, (method, path)
                assert {"400", "409", "422"} <= set(entry["responses"]), (method, path)


def test_two_identical_requests_at_once_do_the_work_once(app, token_for):
    """Two threads, each with its own client and connection, send the same request with the
    same key at the same moment: one does the work; the other is told it is in flight (409)
    or, if the first has finished, gets its answer."""
    import threading

    headers = {**token_for("receptionist"), "Idempotency-Key": KEY}
    barrier = threading.Barrier(2)
    answers: list[tuple[int, Any]] = []

    def send() -> None:
        with app.test_client() as client:
            barrier.wait()
            response = client.post("/api/v1/patients", json=patient_body(11), headers=headers)
            answers.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    statuses = sorted(status for status, _ in answers)
    assert statuses in ([201, 201], [201, 409]), answers
    if statuses == [201, 201]:
        assert answers[0][1] == answers[1][1]
    with app.app_context():
        made = db.session.scalar(
            sa.select(sa.func.count()).select_from(Patient).where(Patient.mrn == "IDEM-11")
        )
    assert made == 1
