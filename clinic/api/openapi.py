"""The OpenAPI 3.1 document, built from the routes the app actually registered.

Paths and methods come from Flask's URL map, parameters and bodies from the pydantic models
the operations declare, permissions from ``clinic.permissions``. Nothing here is written by
hand per endpoint, so the document says exactly what the code does.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from pydantic import TypeAdapter
from pydantic.json_schema import JsonSchemaMode

from ..permissions import ROLE_PERMISSIONS, Permission
from . import idempotency
from .operations import MAX_ID, Operation
from .problems import PROBLEM_MEDIA_TYPE, TITLES
from .schemas import Problem

REF_TEMPLATE = "#/components/schemas/{model}"
_RULE_ARGUMENT = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
_PATH_SCHEMAS: dict[str, dict[str, Any]] = {
    "id": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
    "int": {"type": "integer", "minimum": 0},
    "default": {"type": "string"},
}

ERROR_DESCRIPTIONS = {
    400: "The body is not valid JSON, or the `Idempotency-Key` header is malformed.",
    401: "No token, or the token is not valid (revoked, or its user deactivated).",
    403: "The token's user has a role that does not allow this.",
    404: "There is no such record.",
    409: "The change lost a race: a slot was just taken by another booking. Ask for a fresh "
    "preview and try again; the same request may then succeed. Or a request with the same "
    "`Idempotency-Key` is still being processed: retry once it has finished. Or a set-up "
    "change would leave booked sessions breaking a hard rule: `affected_sessions` lists each "
    "(`appointment_id`, `starts_at`, `reasons`); send it again with `?proceed=true` to "
    "record it and put them on the Needs rebooking list.",
    413: "The body is too large.",
    415: "The body is not sent as `application/json`.",
    422: "The input is invalid (`errors` names each field and what it must be), or a rule "
    "of the clinic refuses it: a scheduling rule (`rule` names which) or a status that does "
    "not allow the change. `detail` gives the reason; asking again unchanged gets the same "
    "answer. Also: the `Idempotency-Key` was already used with a different request.",
}

DESCRIPTION = """\
The clinic's scheduling API, for integrations (EHR, patient portal, phone systems). It runs
over the same services as the web UI: the same scheduling rules, audit trail and messages
to patients.

**Authentication.** Every operation needs an API token sent as `Authorization: Bearer
<token>`. An administrator creates one with `clinic create-token USERNAME` or on the admin
page; it is shown once. The token's user's role decides what it may do, exactly as in the
web UI. Cookies do not authenticate the API.

**Times** are ISO 8601 instants with a UTC offset; the board and location give local
wall-clock times in the location's IANA time zone. **Errors** are
`application/problem+json` (RFC 9457) with a `detail` that says what to change.
"""


def roles_with(permission: Permission) -> list[str]:
    return sorted(role.value for role, granted in ROLE_PERMISSIONS.items() if permission in granted)


def api_operations(app: Flask, blueprint_name: str) -> list[tuple[str, Any, Operation]]:
    """(rule, werkzeug Rule, Operation) for every API route, in URL-map order."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(blueprint_name + "."):
            continue
        operation: Operation | None = getattr(
            app.view_functions[rule.endpoint], "api_operation", None
        )
        if operation is not None:
            found.append((rule.rule, rule, operation))
    return found


def openapi_path(rule: str) -> tuple[str, list[dict[str, Any]]]:
    """``/patients/<id:patient_id>`` → ``/patients/{patient_id}`` and its path parameters."""
    parameters = []
    for match in _RULE_ARGUMENT.finditer(rule):
        converter = match.group("converter") or "default"
        parameters.append(
            {
                "name": match.group("name"),
                "in": "path",
                "required": True,
                "schema": dict(_PATH_SCHEMAS.get(converter, _PATH_SCHEMAS["default"])),
            }
        )
    return _RULE_ARGUMENT.sub(lambda m: "{" + m.group("name") + "}", rule), parameters


def build_document(app: Flask, *, blueprint_name: str, title: str, version: str) -> dict[str, Any]:
    operations = api_operations(app, blueprint_name)

    # One pass through pydantic for every model, so shared models become shared components.
    inputs: list[tuple[Any, JsonSchemaMode, TypeAdapter[Any]]] = [
        ("problem", "serialization", TypeAdapter(Problem))
    ]
    for index, (_, _, operation) in enumerate(operations):
        if operation.query is not None:
            inputs.append(((index, "query"), "validation", TypeAdapter(operation.query)))
        if operation.body is not None:
            inputs.append(((index, "body"), "validation", TypeAdapter(operation.body)))
        if operation.response_adapter is not None:
            inputs.append(((index, "response"), "serialization", operation.response_adapter))
    top_level, definitions = TypeAdapter.json_schemas(inputs, ref_template=REF_TEMPLATE)
    components: dict[str, Any] = dict(definitions.get("$defs", {}))
    problem_schema = top_level[("problem", "serialization")]

    query_models = {op.query.__name__ for _, _, op in operations if op.query is not None}
    paths: dict[str, dict[str, Any]] = {}
    for index, (rule, _, operation) in enumerate(operations):
        path, path_parameters = openapi_path(rule)
        parameters = list(path_parameters)
        if operation.method not in idempotency.SAFE_METHODS:
            parameters.append(dict(idempotency.PARAMETER))
        if operation.query is not None:
            query_schema = components[operation.query.__name__]
            required = set(query_schema.get("required", []))
            for name, schema in query_schema.get("properties", {}).items():
                schema = query_parameter_schema(schema)
                description = schema.pop("description", None)
                schema.pop("title", None)
                parameter: dict[str, Any] = {
                    "name": name,
                    "in": "query",
                    "required": name in required,
                    "schema": schema,
                }
                if description:
                    parameter["description"] = description
                parameters.append(parameter)

        responses: dict[str, Any] = {}
        success: dict[str, Any] = {"description": success_description(operation)}
        if operation.response_adapter is not None:
            success["content"] = {
                "application/json": {"schema": top_level[((index, "response"), "serialization")]}
            }
        responses[str(operation.status)] = success
        for status in error_statuses(operation, has_path_parameters=bool(path_parameters)):
            responses[str(status)] = {
                "description": ERROR_DESCRIPTIONS.get(status, TITLES.get(status, "Error")),
                "content": {PROBLEM_MEDIA_TYPE: {"schema": problem_schema}},
            }
        if 401 in operation_error_set(operation, bool(path_parameters)):
            responses["401"]["headers"] = {
                "WWW-Authenticate": {
                    "description": "The authentication scheme to use: Bearer.",
                    "schema": {"type": "string"},
                }
            }

        entry: dict[str, Any] = {
            "operationId": operation.name,
            "summary": operation.summary,
            "tags": [operation.tag],
            "description": operation_description(operation),
            "parameters": parameters,
            "responses": responses,
        }
        if operation.permission is not None:
            entry["x-required-permission"] = operation.permission.value
        if operation.body is not None:
            entry["requestBody"] = {
                "required": operation.body_required,
                "content": {
                    "application/json": {"schema": top_level[((index, "body"), "validation")]}
                },
            }
        paths.setdefault(path, {})[operation.method.lower()] = entry

    # Query models were spread into parameters above; nothing else refers to them.
    for name in query_models:
        components.pop(name, None)

    tags = sorted({operation.tag for _, _, operation in operations})
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": DESCRIPTION},
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "tags": [{"name": tag} for tag in tags],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(components.items())),
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A per-user API token from `clinic create-token USERNAME`.",
                }
            },
        },
    }


def query_parameter_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A query string has no null: an optional parameter is simply left out."""
    schema = dict(schema)
    options = schema.get("anyOf")
    if options is not None:
        kept = [option for option in options if option.get("type") != "null"]
        if len(kept) != len(options):
            del schema["anyOf"]
            if len(kept) == 1:
                schema = {**kept[0], **schema}
            else:
                schema["anyOf"] = kept
    if "default" in schema and schema["default"] is None:
        del schema["default"]
    return schema


def operation_error_set(operation: Operation, has_path_parameters: bool) -> set[int]:
    # 422 everywhere: every operation refuses unknown query parameters.
    statuses = {401, 422, *operation.errors}
    if operation.permission is not None:
        statuses.add(403)
    if has_path_parameters:
        statuses.add(404)
    if operation.body is not None:
        statuses.update({400, 413, 415, 422})
    if operation.method not in idempotency.SAFE_METHODS:
        statuses.update(idempotency.STATUSES)
    return statuses


def error_statuses(operation: Operation, *, has_path_parameters: bool) -> list[int]:
    return sorted(operation_error_set(operation, has_path_parameters))


def success_description(operation: Operation) -> str:
    return {200: "OK", 201: "Created", 204: "Done; no content."}.get(operation.status, "OK")


def operation_description(operation: Operation) -> str:
    text = operation.description.strip()
    if operation.permission is not None:
        roles = ", ".join(roles_with(operation.permission))
        needs = f"Requires the `{operation.permission.value}` permission (roles: {roles})."
        text = f"{text}\n\n{needs}" if text else needs
    return text
