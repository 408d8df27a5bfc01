"""Errors as ``application/problem+json`` (RFC 9457), and the handlers that make sure every
failure inside ``/api/v1`` is answered that way: bad input, unknown addresses, wrong methods,
domain refusals and, as a last resort, unexpected exceptions (never echoing their text)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from flask import Blueprint, Flask, Response, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import RequestRedirect

log = logging.getLogger("clinic.api")

PROBLEM_MEDIA_TYPE = "application/problem+json"

# The title of each status, as RFC 9457 suggests: the same for every problem of that kind.
TITLES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Invalid input",
    500: "Internal error",
}

GENERIC_DETAILS = {
    400: "The request could not be understood.",
    401: "Send a valid API token as 'Authorization: Bearer <token>'.",
    403: "The token's user has a role that does not allow this.",
    404: "There is nothing at this address.",
    405: "This method is not allowed on this address.",
    413: "The request body is too large.",
    415: "Send the request body as JSON with 'Content-Type: application/json'.",
    500: "The request could not be completed and nothing was changed.",
}


class ApiProblem(Exception):
    """Raised by API views and the request parsing to answer with a problem document."""

    def __init__(
        self,
        status: int,
        detail: str | None = None,
        *,
        errors: Iterable[Mapping[str, str]] = (),
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        self.status = status
        self.detail = detail or GENERIC_DETAILS.get(status, TITLES.get(status, "Error"))
        self.errors = [dict(error) for error in errors]
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})
        super().__init__(self.detail)


def problem_response(
    status: int,
    detail: str | None = None,
    *,
    errors: Iterable[Mapping[str, str]] = (),
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail or GENERIC_DETAILS.get(status, TITLES.get(status, "Error")),
    }
    error_list = [dict(error) for error in errors]
    if error_list:
        body["errors"] = error_list
    body.update(extra or {})
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_MEDIA_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def from_problem(problem: ApiProblem) -> Response:
    return problem_response(
        problem.status,
        problem.detail,
        errors=problem.errors,
        headers=problem.headers,
        extra=problem.extra,
    )


def from_http_exception(error: HTTPException) -> Response:
    code = error.code or 500
    headers: dict[str, str] = {}
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        headers["Allow"] = ", ".join(sorted(error.valid_methods))
    # The werkzeug descriptions are generic English; keep ours (they name the fix).
    return problem_response(code if code in TITLES else 400, headers=headers)


def install_blueprint_handlers(blueprint: Blueprint) -> None:
    """Answer every error raised inside an API view with a problem document.

    Called once, when the blueprint is built: Flask refuses new handlers on a blueprint
    after its first registration.
    """

    @blueprint.errorhandler(ApiProblem)
    def api_problem(error: ApiProblem) -> Response:
        return from_problem(error)

    @blueprint.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        return from_http_exception(error)

    @blueprint.errorhandler(Exception)
    def unexpected_error(error: Exception) -> Response:
        # Type and route only: an exception's message can carry patient data.
        log.error(
            "unhandled %s on %s %s",
            type(error).__name__,
            request.method,
            request.url_rule.rule if request.url_rule else "?",
        )
        return problem_response(500)


def install_routing_hook(app: Flask, url_prefix: str) -> None:
    """Answer routing failures under ``url_prefix`` (no such address, wrong method).

    Those happen before Flask knows the blueprint, so its error handlers never see them; a
    before-request hook on the app catches them for API paths and leaves the web UI's error
    pages alone.
    """

    @app.before_request
    def api_routing_error() -> Response | None:
        error = request.routing_exception
        if error is None or not is_api_path(request.path, url_prefix):
            return None
        if isinstance(error, RequestRedirect) or not isinstance(error, HTTPException):
            return None
        return from_http_exception(error)


def is_api_path(path: str, url_prefix: str) -> bool:
    return path == url_prefix or path.startswith(url_prefix + "/")
