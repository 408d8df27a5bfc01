"""The JSON API under ``/api/v1``, for integrations (EHR, patient portal, phone systems).

It calls the same services as the web UI, authenticates with per-user bearer tokens
(``clinic.accounts.tokens``), answers errors as ``application/problem+json`` and describes itself
in an OpenAPI 3.1 document built from its own routes (``GET /api/v1/openapi.json``).
"""

from __future__ import annotations

from flask import Blueprint, Flask

from .errors import install_domain_handlers
from .idempotency import install_idempotency
from .operations import Api, IdConverter
from .problems import install_blueprint_handlers, install_routing_hook

URL_PREFIX = "/api/v1"
TITLE = "Clinic scheduling API"
VERSION = "1.0.0"

bp = Blueprint("api", __name__, url_prefix=URL_PREFIX)
api = Api(bp)
install_blueprint_handlers(bp)
install_domain_handlers(bp)
install_idempotency(bp)

# Importing the view modules registers their operations on ``bp``.
from . import (  # noqa: E402, F401
    appointments,
    board,
    booking,
    changes,
    docs,
    monitoring,
    patients,
    resources,
)


def register_api(app: Flask) -> None:
    from ..extensions import csrf

    # Converters must be known before the blueprint's rules are added to the map.
    app.url_map.converters["id"] = IdConverter
    # Token requests carry no cookie-bound CSRF token: a bearer token cannot be sent by a
    # page on another site, so there is nothing for CSRF protection to guard.
    csrf.exempt(bp)
    install_routing_hook(app, URL_PREFIX)
    app.register_blueprint(bp)
