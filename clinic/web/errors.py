"""Error pages and the app-wide answer to a domain error; pages never echo the request."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Flask, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from ..errors import DomainError, NotFound
from ..scheduling.impact import ImpactConflict
from .answers import IMPACT_CONFIRMED, refusal_page
from .formtools import safe_return_url

log = logging.getLogger("clinic.web")


def register_errorhandlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> tuple[str, int]:
        return render_template(
            "error.html",
            code=400,
            title="Form expired",
            message="This form has expired or was not sent from this site. "
            "Go back, reload the page and try again.",
        ), 400

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError) -> ResponseReturnValue:
        """A refusal no form page answered: a record that is gone is a 404 page; a refused
        button press is flashed and sent back to its blueprint's page; anything else shows
        the refusal's sentence on the error page with the refusal's status. A change the
        impact check refused lists the sessions it affects and asks to confirm it."""
        if isinstance(error, ImpactConflict) and request.method == "POST":
            return confirm_impact(error)
        back = refusal_page(request.blueprint) if request.method == "POST" else None
        missing = isinstance(error, NotFound)
        if back is not None and (back.not_found_too or not missing):
            flash(error.message, "error")
            # A page of a blueprint this app does not register falls back to the home page.
            endpoint = back.endpoint if back.endpoint in app.view_functions else "main.home"
            page = url_for(endpoint)
            return redirect(safe_return_url(page, arg=back.next_arg) if back.next_arg else page)
        if missing:
            return render_template(
                "error.html", code=404, title="Not Found", message=GENERIC_MESSAGES[404]
            ), 404
        return render_template(
            "error.html", code=error.status, title="Not possible", message=error.message
        ), error.status

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[str, int]:
        code = error.code or 500
        return render_template(
            "error.html", code=code, title=error.name, message=GENERIC_MESSAGES.get(code, "")
        ), code

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception) -> tuple[str, int]:
        # Log the exception type and the route only: exception messages can carry
        # patient data (e.g. a failing INSERT's parameters).
        log.error(
            "unhandled %s on %s %s",
            type(error).__name__,
            request.method,
            request.url_rule.rule if request.url_rule else "?",
        )
        return render_template(
            "error.html", code=500, title="Something went wrong", message=GENERIC_MESSAGES[500]
        ), 500


def confirm_impact(error: ImpactConflict) -> ResponseReturnValue:
    """The confirm step: the affected sessions with each reason, and the submitted form again
    (hidden, with a fresh CSRF token) to send with the confirmation; or go back."""
    replay = [
        (name, value)
        for name, values in request.form.lists()
        if name not in ("csrf_token", IMPACT_CONFIRMED)
        for value in values
    ]
    referrer = urlsplit(request.referrer or "")
    same_site = referrer.netloc == request.host and referrer.path.startswith("/")
    back = referrer.path + (f"?{referrer.query}" if referrer.query else "")
    return render_template(
        "impact/confirm.html",
        error=error,
        affected=error.affected,
        replay=replay,
        action=request.path,
        confirm_field=IMPACT_CONFIRMED,
        back=back if same_site else url_for("main.home"),
    ), error.status


GENERIC_MESSAGES = {
    403: "Your role does not allow this. Ask a clinic administrator if you need it.",
    404: "There is nothing at this address.",
    405: "That action is not available here.",
    413: "That was far more data than any form here takes. Go back and shorten it.",
    500: "The request could not be completed and nothing was changed. "
    "Please try again; if it keeps happening, tell your administrator.",
}
