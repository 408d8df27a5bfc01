"""The read-only FHIR R4 interface under ``/fhir/R4``: translate parameters, call the
queries, answer ``application/fhir+json``.

Authentication is the JSON API's (``clinic.api.auth``: bearer tokens, the role decides);
the CapabilityStatement is public, as FHIR clients (and SMART) read it before they have
credentials, and it holds no data. Every failure, from a bad parameter to a server error,
is answered as an OperationOutcome with its status.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from importlib import metadata as package_metadata
from typing import Any, TypeVar
from urllib.parse import urlencode

from fhir.resources.R4B.resource import Resource
from fhir.resources.R4B.schedule import Schedule
from flask import Blueprint, Response, request, url_for
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect

from .. import clock
from ..api.auth import api_actor, authenticate_request
from ..api.problems import ApiProblem
from ..errors import DomainError
from ..extensions import db
from ..permissions import Permission, can
from . import mapping as m
from . import resources, search
from .capability import SEARCH_PARAMETERS, capability_statement
from .params import (
    MAX_ID,
    FhirError,
    Paging,
    SearchParameters,
    bad_parameter,
    parse_date,
    parse_id,
    parse_reference,
    parse_token,
    split_values,
)
from .slots import SlotQuery, search_slots

log = logging.getLogger("clinic.fhir")

URL_PREFIX = "/fhir/R4"
bp = Blueprint("fhir", __name__, url_prefix=URL_PREFIX)
F = TypeVar("F", bound=Callable[..., Any])

# HTTP status -> OperationOutcome issue code (http://hl7.org/fhir/issue-type).
ISSUE_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    409: "conflict",
    422: "processing",
    500: "exception",
}

GENERIC_DIAGNOSTICS = {
    400: "The request could not be read: a parameter holds a character or value that is not "
    "accepted (such as a NUL control character).",
    429: "Too many requests; wait a moment and try again.",
}

# --- Answers ------------------------------------------------------------------------------


def fhir_response(resource: Resource, status: int = 200) -> Response:
    return Response(resource.model_dump_json(), status=status, mimetype=m.MEDIA_TYPE)


def outcome(
    status: int, diagnostics: str, *, code: str | None = None, headers: Any = None
) -> Response:
    body = resources.operation_outcome(
        diagnostics, code=code or ISSUE_CODES.get(status, "processing")
    )
    response = fhir_response(body, status)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


@bp.errorhandler(FhirError)
def fhir_error(error: FhirError) -> Response:
    return outcome(error.status, error.diagnostics, code=error.code, headers=error.headers)


@bp.errorhandler(ApiProblem)
def api_problem(error: ApiProblem) -> Response:
    # The API's authentication raises these (401 with its WWW-Authenticate challenge).
    return outcome(error.status, error.detail, headers=error.headers)


@bp.errorhandler(DomainError)
def domain_error(error: DomainError) -> Response:
    return outcome(error.status, error.message)


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException) -> Response:
    return _http_outcome(error)


@bp.errorhandler(Exception)
def unexpected_error(error: Exception) -> Response:
    # Type and route only: an exception's message can carry patient data.
    log.error(
        "unhandled %s on %s %s",
        type(error).__name__,
        request.method,
        request.url_rule.rule if request.url_rule else "?",
    )
    return outcome(500, "The request could not be completed.")


def _http_outcome(error: HTTPException) -> Response:
    status = error.code or 500
    headers = {}
    if isinstance(error, MethodNotAllowed):
        headers["Allow"] = ", ".join(sorted(error.valid_methods or ()))
        return outcome(405, "This server is read-only: only GET is supported.", headers=headers)
    if isinstance(error, NotFound):
        return outcome(404, "There is no FHIR resource type or interaction at this address.")
    return outcome(status if status >= 400 else 400, error.description or "Bad request.")


@bp.before_app_request
def fhir_routing_error() -> Response | None:
    """Unknown addresses and methods under ``/fhir/R4`` fail before the blueprint is known,
    so its handlers never see them; answer those as OperationOutcomes too."""
    error = request.routing_exception
    if error is None or not (
        request.path == URL_PREFIX or request.path.startswith(URL_PREFIX + "/")
    ):
        return None
    if isinstance(error, RequestRedirect) or not isinstance(error, HTTPException):
        return None
    return _http_outcome(error)


JSON_FORMATS = frozenset({"json", "application/json", m.MEDIA_TYPE})


@bp.before_request
def only_json() -> None:
    """FHIR's ``_format``: this server speaks JSON only."""
    requested = request.args.get("_format")
    if requested is not None and requested.split(";")[0].strip() not in JSON_FORMATS:
        raise FhirError(406, "Only JSON is served: use _format=json or leave it out.")


@bp.after_request
def every_answer_is_fhir(response: Response) -> Response:
    """A safety net: an app-wide hook that answered before the view (the NUL-character
    guard of ``clinic.security.web`` answers an HTML 400 page) still reaches a FHIR client
    as an OperationOutcome with the same status."""
    if response.status_code < 400 or response.mimetype == m.MEDIA_TYPE:
        return response
    replaced = outcome(
        response.status_code,
        GENERIC_DIAGNOSTICS.get(response.status_code, "The request was refused."),
    )
    for name in ("WWW-Authenticate", "Allow", "Retry-After"):
        if name in response.headers:
            replaced.headers[name] = response.headers[name]
    return replaced


# --- Access -------------------------------------------------------------------------------


def requires(permission: Permission) -> Callable[[F], F]:
    """Authenticate the bearer token and check the role, as the JSON API does."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapped(**kwargs: Any) -> Response:
            user = authenticate_request()
            if not can(user.role, permission):
                raise FhirError(403, "The token's user has a role that does not allow this.")
            return view(**kwargs)

        # The mark the route walk checks on every view (as clinic.web.access.require).
        wrapped.required_permission = permission  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorator


def public(view: F) -> F:
    view.required_permission = None  # type: ignore[attr-defined]
    view.public = True  # type: ignore[attr-defined]
    return view


# --- Helpers ------------------------------------------------------------------------------


def base_url() -> str:
    return url_for("fhir.metadata", _external=True).rsplit("/", 1)[0]


def parameters(resource_type: str) -> SearchParameters:
    return SearchParameters(request.args, SEARCH_PARAMETERS[resource_type][1])


def bundle(found: Sequence[Resource], *, total: int, paging: Paging) -> Response:
    """A searchset with self, and next/previous links that keep the search's parameters."""
    kept = [(k, v) for k, v in request.args.items(multi=True) if k not in ("_offset", "_count")]
    here = request.base_url

    def link(offset: int) -> str:
        return here + "?" + urlencode([*kept, ("_count", paging.count), ("_offset", offset)])

    links = [("self", link(paging.offset))]
    if paging.count and paging.offset + paging.count < total:
        links.append(("next", link(paging.offset + paging.count)))
    if paging.count and paging.offset > 0:
        links.append(("previous", link(max(0, paging.offset - paging.count))))
    return fhir_response(resources.searchset(found, base_url=base_url(), total=total, links=links))


def numeric_id(resource_type: str, raw: str) -> int:
    """A path id: anything but an id that could exist is simply not found."""
    if not raw.isdigit() or len(raw) > 10 or not 1 <= int(raw) <= MAX_ID:
        raise FhirError(404, f"There is no {resource_type} with id '{raw[:64]}'.", code="not-found")
    return int(raw)


def ids_parameter(params: SearchParameters, resource_type: str) -> list[int] | None:
    raw = params.all("_id")
    if not raw:
        return None
    found: list[int] | None = None
    for value in raw:
        options = [parse_id("_id", v, resource_type=resource_type) for v in split_values(value)]
        found = options if found is None else [i for i in found if i in options]
    return found


def boolean(params: SearchParameters, name: str) -> bool | None:
    raw = params.one(name)
    if raw is None:
        return None
    if raw not in ("true", "false"):
        raise bad_parameter(name, "use true or false.")
    return raw == "true"


# --- metadata -----------------------------------------------------------------------------


@bp.get("/metadata")
@public
def metadata() -> Response:
    try:
        version = package_metadata.version("clinic")
    except package_metadata.PackageNotFoundError:
        version = "unknown"
    statement = capability_statement(
        base_url=base_url(), software_version=version, date=clock.now().date().isoformat()
    )
    return fhir_response(statement)


# --- Patient ------------------------------------------------------------------------------


@bp.get("/Patient")
@requires(Permission.VIEW_PATIENTS)
def patient_search() -> Response:
    params = parameters("Patient")
    paging = params.paging()
    page = search.search_patients(
        db.session(),
        identifiers=[
            [parse_token("identifier", v, system=m.MRN_SYSTEM) for v in split_values(raw)]
            for raw in params.all("identifier")
        ],
        names=[split_values(raw) for raw in params.all("name")],
        birthdates=[
            parse_date("birthdate", raw, allow_time=False) for raw in params.all("birthdate")
        ],
        active=boolean(params, "active"),
        ids=ids_parameter(params, "Patient"),
        paging=paging,
    )
    found = [resources.patient_resource(p) for p in page.rows]
    answer = bundle(found, total=page.total, paging=paging)
    search.record_reads(db.session(), api_actor(), patients=page.rows, interaction="search")
    return answer


@bp.get("/Patient/<resource_id>")
@requires(Permission.VIEW_PATIENTS)
def patient_read(resource_id: str) -> Response:
    patient = search.get_patient(db.session(), numeric_id("Patient", resource_id))
    if patient is None:
        raise FhirError(404, f"There is no Patient with id '{resource_id}'.", code="not-found")
    answer = fhir_response(resources.patient_resource(patient))
    search.record_reads(db.session(), api_actor(), patients=[patient], interaction="read")
    return answer


# --- Appointment --------------------------------------------------------------------------


def appointment_statuses(raw: str) -> frozenset[Any]:
    statuses: set[Any] = set()
    for code in split_values(raw):
        code = parse_token("status", code)
        if code not in m.APPOINTMENT_STATUS_CODES:
            raise bad_parameter("status", f"'{code}' is not an Appointment status code.")
        statuses |= m.db_statuses_for(code)
    return frozenset(statuses)


@bp.get("/Appointment")
@requires(Permission.VIEW_SCHEDULE)
def appointment_search() -> Response:
    params = parameters("Appointment")
    paging = params.paging()
    page = search.search_appointments(
        db.session(),
        patient_ids=[
            [parse_id("patient", v, resource_type="Patient") for v in split_values(raw)]
            for raw in params.all("patient")
        ],
        dates=[parse_date("date", raw) for raw in params.all("date")],
        statuses=[appointment_statuses(raw) for raw in params.all("status")],
        location_ids=[
            [
                parse_id(
                    "location",
                    parse_token("location", v, system=m.LOCATION_SYSTEM),
                    resource_type="Location",
                )
                for v in split_values(raw)
            ]
            for raw in params.all("location")
        ],
        ids=ids_parameter(params, "Appointment"),
        paging=paging,
    )
    found = [resources.appointment_resource(a) for a in page.rows]
    answer = bundle(found, total=page.total, paging=paging)
    search.record_reads(db.session(), api_actor(), appointments=page.rows, interaction="search")
    return answer


@bp.get("/Appointment/<resource_id>")
@requires(Permission.VIEW_SCHEDULE)
def appointment_read(resource_id: str) -> Response:
    appointment = search.get_appointment(db.session(), numeric_id("Appointment", resource_id))
    if appointment is None:
        raise FhirError(404, f"There is no Appointment with id '{resource_id}'.", code="not-found")
    answer = fhir_response(resources.appointment_resource(appointment))
    search.record_reads(db.session(), api_actor(), appointments=[appointment], interaction="read")
    return answer


# --- Schedule -----------------------------------------------------------------------------


def schedule_key(schedule_id: str) -> tuple[str, int] | None:
    """("chair", 3) for ``chair-3``; None for an id that names no schedule."""
    for kind, prefix in (
        ("chair", m.CHAIR_SCHEDULE_PREFIX),
        ("monitor", m.MONITOR_SCHEDULE_PREFIX),
    ):
        number = schedule_id.removeprefix(prefix)
        if number != schedule_id and number.isdigit() and len(number) <= 10:
            value = int(number)
            return (kind, value) if 1 <= value <= MAX_ID else None
    return None


def schedules(chair_ids: list[int] | None, staff_ids: list[int] | None) -> list[Schedule]:
    sources = search.schedule_sources(db.session(), chair_ids=chair_ids, staff_ids=staff_ids)
    found: list[Schedule] = [
        resources.chair_schedule(c, sources.treatment_types) for c in sources.chairs
    ]
    found += [resources.monitor_schedule(s) for s in sources.monitors]
    return found


@bp.get("/Schedule")
@requires(Permission.VIEW_SCHEDULE)
def schedule_search() -> Response:
    params = parameters("Schedule")
    paging = params.paging()
    chair_ids: list[int] | None = None
    staff_ids: list[int] | None = None
    for raw in params.all("_id"):
        keys = [schedule_key(parse_reference("_id", v, "Schedule")) for v in split_values(raw)]
        chairs = {k[1] for k in keys if k and k[0] == "chair"}
        staff = {k[1] for k in keys if k and k[0] == "monitor"}
        chair_ids = sorted(chairs if chair_ids is None else chairs & set(chair_ids))
        staff_ids = sorted(staff if staff_ids is None else staff & set(staff_ids))
    found = schedules(chair_ids, staff_ids)
    active = boolean(params, "active")
    if active is not None:
        found = [s for s in found if bool(s.active) is active]
    window = found[paging.offset : paging.offset + paging.count]
    return bundle(window, total=len(found), paging=paging)


@bp.get("/Schedule/<resource_id>")
@requires(Permission.VIEW_SCHEDULE)
def schedule_read(resource_id: str) -> Response:
    key = schedule_key(resource_id)
    found = []
    if key is not None:
        kind, number = key
        found = schedules(
            [number] if kind == "chair" else [], [number] if kind == "monitor" else []
        )
    if not found:
        raise FhirError(
            404, f"There is no Schedule with id '{resource_id[:64]}'.", code="not-found"
        )
    return fhir_response(found[0])


# --- Slot ---------------------------------------------------------------------------------


@bp.get("/Slot")
@requires(Permission.VIEW_SCHEDULE)
def slot_search() -> Response:
    params = parameters("Slot")
    paging = params.paging()
    statuses: set[str] | None = None
    for raw in params.all("status") or [f"{m.SLOT_FREE},{m.SLOT_BUSY}"]:
        codes = {parse_token("status", code) for code in split_values(raw)}
        unknown = sorted(codes - m.SLOT_STATUS_CODES)
        if unknown:
            raise bad_parameter("status", f"'{unknown[0]}' is not a Slot status code.")
        # A repeated parameter is AND: only the codes every repetition allows.
        statuses = codes if statuses is None else statuses & codes
    chair_id = monitor_id = None
    no_schedule = False
    if (schedule := params.one("schedule")) is not None:
        key = schedule_key(parse_reference("schedule", schedule, "Schedule"))
        if key is None:
            no_schedule = True
        elif key[0] == "chair":
            chair_id = key[1]
        else:
            monitor_id = key[1]
    treatment_type_id = None
    if (service_type := params.one("service-type")) is not None:
        code = parse_token("service-type", service_type, system=m.TREATMENT_TYPE_SYSTEM)
        if not code.isdigit() or len(code) > 10 or not 1 <= int(code) <= MAX_ID:
            raise bad_parameter("service-type", f"'{code}' is not a treatment type code.")
        treatment_type_id = int(code)
    query = SlotQuery(
        statuses=frozenset(statuses or ()),
        starts=[parse_date("start", raw) for raw in params.all("start")],
        chair_id=chair_id,
        monitor_id=monitor_id,
        no_schedule=no_schedule,
        treatment_type_id=treatment_type_id,
    )
    found = search_slots(db.session(), query=query, now=clock.now())
    window = found[paging.offset : paging.offset + paging.count]
    return bundle(window, total=len(found), paging=paging)
