"""The OpenAPI document matches the registered routes exactly, and the HTML reference renders
it with the repository's own assets."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from clinic.api import URL_PREFIX
from clinic.permissions import Permission


@pytest.fixture
def document(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    body: dict[str, Any] = response.get_json()
    return body


def routes(app: Flask) -> set[tuple[str, str]]:
    """(OpenAPI path, method) of every API operation Flask will dispatch."""
    found = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(URL_PREFIX) or rule.endpoint in {
            "api.openapi_json",
            "api.reference",
        }:
            continue
        path = re.sub(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            found.add((path, method.lower()))
    return found


def test_the_document_lists_exactly_the_registered_operations(
    app: Flask, document: dict[str, Any]
) -> None:
    documented = {
        (path, method) for path, methods in document["paths"].items() for method in methods
    }
    assert documented == routes(app)
    assert len(documented) >= 29


def test_it_is_openapi_3_1_with_bearer_auth(document: dict[str, Any]) -> None:
    assert document["openapi"] == "3.1.0"
    assert document["security"] == [{"bearerAuth": []}]
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_every_reference_resolves(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    refs = set(re.findall(r"#/components/schemas/([\w.-]+)", str(document)))
    assert refs and refs <= set(schemas)


def test_each_operation_documents_its_permission_and_problems(
    document: dict[str, Any],
) -> None:
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            permission = Permission(operation["x-required-permission"])
            assert f"`{permission.value}`" in operation["description"], (path, method)
            responses = operation["responses"]
            for status in ("401", "403", "422"):
                problem = responses[status]["content"]["application/problem+json"]
                assert problem["schema"] == {"$ref": "#/components/schemas/Problem"}
            if "{" in path:
                assert "404" in responses, (path, method)
            if "requestBody" in operation:
                assert {"400", "413", "415"} <= set(responses), (path, method)


def test_the_document_is_a_valid_openapi_schema(app: Flask) -> None:
    import schemathesis

    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 29


def test_the_reference_page_renders_every_operation(
    client: FlaskClient, document: dict[str, Any]
) -> None:
    response = client.get("/api/v1/docs")
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    for path, methods in document["paths"].items():
        assert f"<code>{path}</code>" in html
        for operation in methods.values():
            assert f'id="op-{operation["operationId"]}"' in html
    for name in document["components"]["schemas"]:
        assert f'id="schema-{name}"' in html
    # Every asset comes from this site: no CDN, no inline script.
    scripts = re.findall(r"<script[^>]*>", html)
    assert all(re.search(r'src="/static/', tag) for tag in scripts), scripts
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "Authorization: Bearer" in html
