"""How the services' refusals become problem documents: one mapping for every API view.

Views call a service and let its :class:`~clinic.errors.DomainError` rise. The error's class
decides the status (``error.status``: 404, 409 or 422, the reasons are in
``clinic.errors``), so a refusal gets the same status here as in the web UI; ``detail``
carries the service's own message (the words the web UI shows). Nothing is rolled back
here: a service that fails mid-transaction rolls back itself, and the request's session is
closed at teardown either way.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from ..errors import DomainError
from ..scheduling.errors import SlotTaken
from .problems import problem_response

# The UI shows a fresh preview with SlotTaken's own message; an API client asks for one.
SLOT_TAKEN_DETAIL = (
    "That slot was just taken by another booking. Ask for a fresh preview and book again."
)


def problem_detail(error: DomainError) -> str:
    """The message, followed by each field's own message (a client may show only this)."""
    if isinstance(error, SlotTaken):
        return f"{SLOT_TAKEN_DETAIL} {error.detail}" if error.detail else SLOT_TAKEN_DETAIL
    if not error.fields:
        return error.message
    return f"{error.message} " + " ".join(f"{name}: {text}" for name, text in error.fields.items())


def problem_extra(error: DomainError) -> dict[str, Any]:
    """Extension members: ``rule`` names the scheduling rule that refused (or ``taken``);
    the error's ``extra`` (e.g. ``affected_sessions`` of a change refused by the impact check)."""
    rule = getattr(error, "rule", None)
    extra = dict(error.extra)
    if isinstance(rule, str):
        extra["rule"] = rule
    return extra


def domain_problem(error: DomainError) -> Response:
    return problem_response(
        error.status,
        problem_detail(error),
        # Field errors name where in the request they are; the services' fields are body
        # members (path ids are checked before a service is called).
        errors=[{"field": f"body.{name}", "message": text} for name, text in error.fields.items()],
        extra=problem_extra(error),
    )


def install_domain_handlers(blueprint: Blueprint) -> None:
    blueprint.register_error_handler(DomainError, domain_problem)
