"""The web layer's one path from a domain error to an answer.

A form page calls ``submit``: validate the form, call one service, and either flash the
success and redirect, or put the refusal's ``fields`` next to their form fields, flash its
``message`` and render the page again with the error's own status. Anything else that
raises a ``DomainError`` (a button without a form page, a page load) is answered by the
app-wide handler in ``web/errors.py``. Views never roll back: the services do, and
Flask-SQLAlchemy removes the session when the request ends.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Blueprint, flash, redirect, request
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm

from ..errors import DomainError, Invalid, NotFound
from ..scheduling.impact import ImpactConflict
from .formtools import apply_errors

T = TypeVar("T")

INVALID_FORM = "Please correct the highlighted fields."
# The hidden field of the impact confirm page (``templates/impact/confirm.html``).
IMPACT_CONFIRMED = "impact_confirmed"


def impact_confirmed() -> bool:
    """Did the admin confirm the change on the page listing the sessions it affects?"""
    return request.form.get(IMPACT_CONFIRMED) == "1"


def show_refusal(form: FlaskForm | None, error: DomainError) -> None:
    """Flash the refusal and put each field message next to its field (or flash it)."""
    unplaced = apply_errors(form, error.fields) if form is not None else list(error.fields.values())
    for message in [error.message, *unplaced]:
        flash(message, "error")
    # A lost race may say what it lost to ("Chair IV 1 is booked from 09:00 to 11:00.").
    detail = getattr(error, "detail", None)
    if isinstance(detail, str) and detail:
        flash(detail, "info")


class Refusal:
    """What ``attempt`` returns when the service refused: the status to answer with."""

    def __init__(self, error: DomainError) -> None:
        self.error = error
        self.status = error.status


def attempt(form: FlaskForm | None, call: Callable[[], T]) -> T | Refusal:
    """Run one service; a refusal is flashed (fields placed on ``form``) and returned as a
    ``Refusal`` for the view to re-render with. ``NotFound`` goes on to the 404 handler, and
    a change the impact check lists sessions for to its confirm page (``web/errors.py``)."""
    try:
        return call()
    except (NotFound, ImpactConflict):
        raise
    except DomainError as error:
        show_refusal(form, error)
        return Refusal(error)


def submit(
    form: FlaskForm,
    call: Callable[[], T],
    *,
    done: str | Callable[[T], str],
    redirect_to: Callable[[T], str],
    rerender: Callable[[], Any],
) -> ResponseReturnValue:
    """Validate ``form``, run ``call`` (one service), and answer.

    ``rerender`` renders the page with the submitted form; it is used when the form does not
    validate (422, like any ``Invalid``) and when the service refuses (the error's status).
    A ``NotFound`` is not caught: the app-wide handler answers it with a 404 page.
    """
    if not form.validate_on_submit():
        flash(INVALID_FORM, "error")
        return rerender(), Invalid.status
    result = attempt(form, call)
    if isinstance(result, Refusal):
        return rerender(), result.status
    flash(done if isinstance(done, str) else done(result), "success")
    return redirect(redirect_to(result))


@dataclass(frozen=True, slots=True)
class RefusalPage:
    """Where the app-wide handler sends a refused button press of one blueprint."""

    endpoint: str
    # Whether a record that is gone is flashed too (a list page explains it) or is a 404.
    not_found_too: bool = False
    # The form field that may name a safe same-site page to go back to instead (None: none).
    next_arg: str | None = "next"


_REFUSAL_PAGES: dict[str, RefusalPage] = {}


def refusals_return_to(
    blueprint: Blueprint,
    endpoint: str,
    *,
    not_found_too: bool = False,
    next_arg: str | None = "next",
) -> None:
    """A ``DomainError`` escaping one of ``blueprint``'s POST views is flashed and answered
    with a redirect to ``endpoint`` (or to the safe same-site page the form names)."""
    _REFUSAL_PAGES[blueprint.name] = RefusalPage(endpoint, not_found_too, next_arg)


def refusal_page(blueprint: str | None) -> RefusalPage | None:
    return _REFUSAL_PAGES.get(blueprint or "")
