"""The API describing itself: the OpenAPI document and a readable HTML reference of it.

Both are public: they describe the interface (which is in the source anyway), never data,
and an integrator reads them before they have a token.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, jsonify, render_template

from . import TITLE, VERSION, bp
from .openapi import build_document
from .operations import public
from .reference import reference_from_document

_CACHE_KEY = "clinic.api.openapi"


def openapi_document(app: Flask) -> dict[str, Any]:
    """Built once per app: the routes cannot change after the app is created."""
    document = app.extensions.get(_CACHE_KEY)
    if document is None:
        document = build_document(app, blueprint_name=bp.name, title=TITLE, version=VERSION)
        app.extensions[_CACHE_KEY] = document
    return document


@bp.get("/openapi.json")
@public
def openapi_json() -> Response:
    return jsonify(openapi_document(current_app))


@bp.get("/docs")
@public
def reference() -> str:
    document = openapi_document(current_app)
    return render_template("api/reference.html", reference=reference_from_document(document))
