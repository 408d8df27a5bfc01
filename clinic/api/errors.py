"""How the services' refusals become problem documents: one mapping for every API view.

Views call a service and let its error rise; the status says what kind of refusal it was,
``detail`` carries the service's own message (the same words the web UI shows).
"""

from __future__ import annotations

from flask import Blueprint, Response

from ..extensions import db
from ..patients import PatientError, PatientNotFound
from ..scheduling.board import BoardNotFound
from ..scheduling.errors import (
    InvalidRequest,
    NotFound,
    RuleViolation,
    SchedulingError,
    SlotTaken,
)
from .problems import problem_response


def install_domain_handlers(blueprint: Blueprint) -> None:
    @blueprint.errorhandler(PatientError)
    def patient_invalid(error: PatientError) -> Response:
        db.session.rollback()
        return problem_response(
            422,
            f"{error.message} "
            + " ".join(f"{name}: {text}" for name, text in error.fields.items()),
            errors=[
                {"field": f"body.{name}", "message": text} for name, text in error.fields.items()
            ],
        )

    @blueprint.errorhandler(PatientNotFound)
    @blueprint.errorhandler(BoardNotFound)
    def record_missing(error: LookupError) -> Response:
        db.session.rollback()
        return problem_response(404, str(error))

    @blueprint.errorhandler(SchedulingError)
    def scheduling_refused(error: SchedulingError) -> Response:
        db.session.rollback()
        if isinstance(error, NotFound):
            return problem_response(404, error.message)
        if isinstance(error, InvalidRequest):
            return problem_response(422, error.message)
        detail = error.message
        if isinstance(error, SlotTaken):
            # The UI shows a fresh preview with this message; an API client asks for one.
            detail = (
                "That slot was just taken by another booking. Ask for a fresh preview "
                "and book again."
            )
            if error.detail:
                detail = f"{detail} {error.detail}"
        extra = {"rule": error.rule} if isinstance(error, RuleViolation) else None
        # A rule's refusal or a status that does not allow the change: the request was
        # well formed but conflicts with the schedule as it is now.
        return problem_response(409, detail, extra=extra)
