"""One mapping from domain errors to problem documents: the class decides the status."""

from __future__ import annotations

import json

import pytest
from flask import Flask

from clinic.accounts import UserError
from clinic.api.errors import SLOT_TAKEN_DETAIL, domain_problem
from clinic.errors import Conflict, DomainError, Invalid, NotFound, Refused
from clinic.patients import PatientError, PatientNotFound
from clinic.scheduling.errors import (
    InvalidTransition,
    MonitorUnavailable,
    SlotTaken,
)
from clinic.setup import SetupError


def answer(app: Flask, error: DomainError) -> tuple[int, dict]:
    with app.test_request_context("/api/v1/anything"):
        response = domain_problem(error)
    assert response.mimetype == "application/problem+json"
    return response.status_code, json.loads(response.get_data(as_text=True))


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (NotFound("gone"), 404),
        (PatientNotFound("There is no patient with id 7."), 404),
        (Invalid("bad"), 422),
        (PatientError({"mrn": "Enter the MRN."}), 422),
        (SetupError({"name": "Enter the name."}), 422),
        (UserError(fields={"password": "Too short."}), 422),
        # A rule refusal: asking again unchanged gets the same answer (RFC 9110 422).
        (Refused("closed"), 422),
        (MonitorUnavailable("No monitor is free."), 422),
        (InvalidTransition("This session cannot be cancelled."), 422),
        # A lost race: reload and retry may succeed (RFC 9110 409).
        (Conflict("taken"), 409),
        (SlotTaken(), 409),
    ],
)
def test_the_status_is_the_error_classes(app, error, status):
    code, body = answer(app, error)
    assert code == status == error.status
    assert body["status"] == status and body["detail"]


def test_a_rule_refusal_names_its_rule_and_keeps_the_services_words(app):
    code, body = answer(app, MonitorUnavailable("No monitor is free at 09:00."))
    assert (code, body["rule"], body["detail"]) == (422, "monitor", "No monitor is free at 09:00.")


def test_a_slot_taken_asks_for_a_fresh_preview_and_says_what_conflicted(app):
    code, body = answer(app, SlotTaken("Chair IV 1 is booked from 09:00 to 11:00."))
    assert code == 409 and body["rule"] == "taken"
    assert body["detail"] == f"{SLOT_TAKEN_DETAIL} Chair IV 1 is booked from 09:00 to 11:00."


def test_field_errors_name_the_body_member(app):
    code, body = answer(app, PatientError({"phone": "Not a number.", "mrn": "Taken."}))
    assert code == 422
    assert body["errors"] == [
        {"field": "body.phone", "message": "Not a number."},
        {"field": "body.mrn", "message": "Taken."},
    ]
    assert "phone: Not a number." in body["detail"] and "mrn: Taken." in body["detail"]
    assert "rule" not in body
