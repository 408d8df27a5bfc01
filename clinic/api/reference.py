"""Turning the OpenAPI document into a readable reference page, server-side.

No JavaScript renderer and no CDN: the page is plain HTML from ``templates/api/reference.html``
built from the very document ``/api/v1/openapi.json`` serves, so the two cannot disagree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

_CODE = re.compile(r"`([^`]+)`")
_BOLD = re.compile(r"\*\*([^*]+)\*\*")
METHOD_ORDER = {"get": 0, "post": 1, "put": 2, "patch": 3, "delete": 4}


def inline_markdown(text: str) -> Markup:
    """The small subset the descriptions use: `code`, **bold** and blank-line paragraphs."""
    paragraphs = []
    for paragraph in re.split(r"\n\s*\n", text.strip()):
        html = str(escape(" ".join(paragraph.split())))
        html = _CODE.sub(r"<code>\1</code>", html)
        html = _BOLD.sub(r"<strong>\1</strong>", html)
        paragraphs.append(f"<p>{html}</p>")
    return Markup("\n".join(paragraphs))


def schema_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def anchor(name: str) -> str:
    return "schema-" + re.sub(r"[^A-Za-z0-9_-]", "-", name)


def type_html(schema: dict[str, Any]) -> Markup:
    """A short human description of a JSON schema: ``array of Patient``, ``string (date)``."""
    if "$ref" in schema:
        name = schema_name(schema["$ref"])
        return Markup('<a href="#{}">{}</a>').format(anchor(name), name)
    if "anyOf" in schema or "oneOf" in schema:
        options = schema.get("anyOf") or schema.get("oneOf") or []
        return Markup(" or ").join(type_html(option) for option in options)
    if "const" in schema:
        return Markup("<code>{}</code>").format(schema["const"])
    if "enum" in schema:
        values = Markup(", ").join(Markup("<code>{}</code>").format(v) for v in schema["enum"])
        return Markup("one of {}").format(values)
    kind = schema.get("type")
    if kind == "array":
        return Markup("array of {}").format(type_html(schema.get("items", {})))
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return Markup("object of {}").format(type_html(schema["additionalProperties"]))
    if kind == "null":
        return Markup("null")
    if kind is None:
        return Markup("any")
    text = str(kind)
    if "format" in schema:
        text += f" ({schema['format']})"
    return Markup("{}").format(text)


def constraints(schema: dict[str, Any]) -> str:
    """Bounds worth telling a reader (defaults, ranges, lengths)."""
    parts = []
    for option in schema.get("anyOf", [schema]):
        for key, label in (
            ("minimum", "≥"),
            ("maximum", "≤"),
            ("minLength", "min length"),
            ("maxLength", "max length"),
        ):
            if key in option:
                parts.append(f"{label} {option[key]}")
    if "default" in schema:
        default = schema["default"]
        shown = (
            "null"
            if default is None
            else str(default).lower()
            if isinstance(default, bool)
            else default
        )
        parts.append(f"default {shown}")
    return ", ".join(str(part) for part in parts)


@dataclass
class Field:
    name: str
    type: Markup
    required: bool
    description: Markup
    constraints: str
    location: str = ""


@dataclass
class Response:
    status: str
    description: Markup
    media_type: str
    type: Markup | None


@dataclass
class Operation:
    method: str
    path: str
    operation_id: str
    summary: str
    description: Markup
    permission: str | None
    parameters: list[Field]
    body: Markup | None
    body_required: bool
    responses: list[Response]


@dataclass
class Tag:
    name: str
    operations: list[Operation] = field(default_factory=list)


@dataclass
class Schema:
    name: str
    anchor: str
    description: Markup
    fields: list[Field]
    # For schemas that are not objects (enums): their type description.
    type: Markup | None


@dataclass
class Reference:
    title: str
    version: str
    description: Markup
    tags: list[Tag]
    schemas: list[Schema]


def _fields(schema: dict[str, Any]) -> list[Field]:
    required = set(schema.get("required", []))
    return [
        Field(
            name=name,
            type=type_html(prop),
            required=name in required,
            description=inline_markdown(prop.get("description", "")),
            constraints=constraints(prop),
        )
        for name, prop in schema.get("properties", {}).items()
    ]


def _response_type(content: dict[str, Any]) -> tuple[str, Markup | None]:
    for media_type, body in content.items():
        return media_type, type_html(body.get("schema", {}))
    return "", None


def reference_from_document(document: dict[str, Any]) -> Reference:
    tags = {tag["name"]: Tag(tag["name"]) for tag in document.get("tags", [])}
    for path, methods in document["paths"].items():
        for method, entry in methods.items():
            parameters = [
                Field(
                    name=p["name"],
                    type=type_html(p.get("schema", {})),
                    required=bool(p.get("required")),
                    description=inline_markdown(p.get("description", "")),
                    constraints=constraints(p.get("schema", {})),
                    location=p["in"],
                )
                for p in entry.get("parameters", [])
            ]
            body = entry.get("requestBody")
            body_schema = body["content"]["application/json"]["schema"] if body else None
            responses = []
            for status, response in entry["responses"].items():
                media_type, response_type = _response_type(response.get("content", {}))
                responses.append(
                    Response(
                        status=status,
                        description=inline_markdown(response.get("description", "")),
                        media_type=media_type,
                        type=response_type,
                    )
                )
            operation = Operation(
                method=method.upper(),
                path=path,
                operation_id=entry["operationId"],
                summary=entry.get("summary", ""),
                description=inline_markdown(entry.get("description", "")),
                permission=entry.get("x-required-permission"),
                parameters=parameters,
                body=type_html(body_schema) if body_schema else None,
                body_required=bool(body and body.get("required")),
                responses=responses,
            )
            for tag in entry.get("tags", ["Other"]):
                tags.setdefault(tag, Tag(tag)).operations.append(operation)
    for tag in tags.values():
        tag.operations.sort(key=lambda op: (op.path, METHOD_ORDER.get(op.method.lower(), 9)))
    schemas = []
    for name, schema in document["components"]["schemas"].items():
        is_object = schema.get("type") == "object" or "properties" in schema
        schemas.append(
            Schema(
                name=name,
                anchor=anchor(name),
                description=inline_markdown(schema.get("description", "")),
                fields=_fields(schema) if is_object else [],
                type=None if is_object else type_html(schema),
            )
        )
    info = document["info"]
    return Reference(
        title=info["title"],
        version=info["version"],
        description=inline_markdown(info.get("description", "")),
        tags=list(tags.values()),
        schemas=schemas,
    )
