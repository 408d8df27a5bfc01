"""Declaring API operations: one decorator per view states its method, address, permission,
query and body models and its answer. The same declaration drives the request handling
(authentication, the permission check, parsing, validation, serialisation) and the OpenAPI
document (``clinic.api.openapi``), so the document cannot drift from what the code does.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Blueprint, Response, request
from pydantic import BaseModel, TypeAdapter, ValidationError
from werkzeug.routing import BaseConverter

from ..permissions import Permission, can
from .auth import authenticate_request
from .problems import ApiProblem

F = TypeVar("F", bound=Callable[..., Any])

# PostgreSQL ``integer``: a larger id cannot exist, and must not reach the database.
MAX_ID = 2**31 - 1
MAX_BODY_BYTES = 256 * 1024


class IdConverter(BaseConverter):
    """``<id:name>``: a record id in a path.

    Any run of digits matches, and an id outside 1..MAX_ID is answered 404 by the view
    wrapper: a converter that refused it would make werkzeug answer 405 for the other
    methods of the same path, which is wrong (the method is fine; the record is not there).
    """

    regex = r"\d{1,18}"
    weight = 50

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: Any) -> str:
        return str(int(value))


def public(view: F) -> F:
    """Mark a view as open to anyone, for the route walk that checks every view declares
    who may call it (``required_permission`` None, as opposed to missing)."""
    view.required_permission = None  # type: ignore[attr-defined]
    view.public = True  # type: ignore[attr-defined]
    return view


@dataclass(frozen=True)
class Operation:
    # The view function's name: unique in the blueprint, so also the operationId.
    name: str
    method: str
    summary: str
    tag: str
    # None only for the public description of the API itself.
    permission: Permission | None
    description: str = ""
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    # An optional body may be left out altogether: it then holds the model's defaults.
    body_required: bool = True
    # Any type pydantic can describe (a model, a list of models...), or None for no body.
    response: Any = None
    status: int = 200
    # Problem statuses this operation can answer beyond those its shape implies.
    errors: tuple[int, ...] = ()
    response_adapter: TypeAdapter[Any] | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Reply:
    """What a view returns when the status or headers differ from the declared ones."""

    body: Any
    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


class Api:
    """Registers operations on a blueprint."""

    def __init__(self, blueprint: Blueprint) -> None:
        self.blueprint = blueprint

    def get(self, rule: str, **options: Any) -> Callable[[F], F]:
        return self.operation("GET", rule, **options)

    def post(self, rule: str, **options: Any) -> Callable[[F], F]:
        return self.operation("POST", rule, **options)

    def patch(self, rule: str, **options: Any) -> Callable[[F], F]:
        return self.operation("PATCH", rule, **options)

    def operation(
        self,
        method: str,
        rule: str,
        *,
        summary: str,
        tag: str,
        permission: Permission,
        description: str = "",
        query: type[BaseModel] | None = None,
        body: type[BaseModel] | None = None,
        body_required: bool = True,
        response: Any = None,
        status: int = 200,
        errors: tuple[int, ...] = (),
    ) -> Callable[[F], F]:
        def decorator(view: F) -> F:
            operation = Operation(
                name=view.__name__,
                method=method,
                summary=summary,
                tag=tag,
                permission=permission,
                description=description,
                query=query,
                body=body,
                body_required=body_required,
                response=response,
                status=status,
                errors=errors,
                response_adapter=None if response is None else TypeAdapter(response),
            )

            @functools.wraps(view)
            def handle(**path_args: Any) -> Response:
                user = authenticate_request()
                if not can(user.role, permission):
                    raise ApiProblem(403)
                if any(not 1 <= value <= MAX_ID for value in path_args.values()):
                    raise ApiProblem(404, "There is no record with this id.")
                arguments = dict(path_args)
                parsed_query = parse_query(query)
                if query is not None:
                    arguments["query"] = parsed_query
                if body is not None:
                    arguments["body"] = parse_body(body, required=body_required)
                return render(operation, view(**arguments))

            # The same marks clinic.web.access.require leaves, so one route walk checks
            # that every view of the app, UI or API, declares who may call it.
            handle.required_permission = permission  # type: ignore[attr-defined]
            handle.api_operation = operation  # type: ignore[attr-defined]
            self.blueprint.add_url_rule(
                rule, endpoint=view.__name__, view_func=handle, methods=[method]
            )
            return handle  # type: ignore[return-value]

        return decorator


def parse_query(model: type[BaseModel] | None) -> BaseModel | None:
    # An unknown parameter is refused rather than ignored: a misspelt filter (``locationid``)
    # would otherwise quietly return everything.
    fields = model.model_fields if model is not None else {}
    unknown = sorted(name for name in request.args if name not in fields)
    if unknown:
        known = ", ".join(fields) or "none"
        raise ApiProblem(
            422,
            f"Unknown query parameter {unknown[0]!r}; this operation takes: {known}.",
            errors=[
                {"field": f"query.{name}", "message": "Unknown parameter."} for name in unknown
            ],
        )
    if model is None:
        return None
    # A parameter given twice arrives as a list, which a scalar field refuses (422).
    raw = {name: values[0] if len(values) == 1 else values for name, values in request.args.lists()}
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        raise invalid_input(error, location="query") from None


def parse_body(model: type[BaseModel], *, required: bool = True) -> BaseModel:
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise ApiProblem(413)
    raw = request.get_data(cache=False)
    if len(raw) > MAX_BODY_BYTES:
        raise ApiProblem(413)
    if not raw and not required:
        return model()
    if not request.is_json:
        raise ApiProblem(415)
    try:
        return model.model_validate_json(raw)
    except ValidationError as error:
        malformed = [e for e in error.errors(include_url=False) if e["type"] == "json_invalid"]
        if malformed:
            reason = str(malformed[0]["msg"]).removeprefix("Invalid JSON: ")
            raise ApiProblem(400, f"The request body is not valid JSON: {reason}.") from None
        raise invalid_input(error, location="body") from None


def invalid_input(error: ValidationError, *, location: str) -> ApiProblem:
    """A 422 that names every offending field and says what it must be."""
    problems = []
    for item in error.errors(include_url=False, include_input=False, include_context=False):
        path = ".".join(str(part) for part in item["loc"])
        problems.append(
            {"field": f"{location}.{path}" if path else location, "message": item["msg"]}
        )
    listed = "; ".join(f"{p['field']}: {p['message']}" for p in problems[:5])
    more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
    return ApiProblem(422, f"Invalid input. {listed}{more}.", errors=problems)


def render(operation: Operation, result: Any) -> Response:
    reply = result if isinstance(result, Reply) else Reply(body=result)
    status = reply.status or operation.status
    adapter = operation.response_adapter
    if adapter is None:
        response = Response(status=status)
    else:
        # Validating the answer against the declared type is what keeps responses and the
        # document in step: a mismatch is a bug that fails loudly in the tests.
        value = adapter.validate_python(reply.body, from_attributes=True)
        response = Response(adapter.dump_json(value), status=status, mimetype="application/json")
    for name, value in reply.headers.items():
        response.headers[name] = value
    return response
