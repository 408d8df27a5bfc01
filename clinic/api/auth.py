"""Bearer-token authentication for the API, and the actor its changes are audited under.

Only ``Authorization: Bearer <token>`` authenticates: a browser's session cookie is ignored
here, so a page on another site can never ride a logged-in user's cookie into the API (and
the API needs no CSRF token). Tokens themselves are ``clinic.accounts.tokens``'s.
"""

from __future__ import annotations

from flask import g, request

from .. import clock
from ..accounts.tokens import authenticate
from ..audit import Actor
from ..extensions import db
from ..models import User
from .problems import ApiProblem

CHALLENGE = 'Bearer realm="clinic api"'


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()


def authenticate_request() -> User:
    """The user of the request's token; a 401 problem when there is none or it is not live."""
    plain = bearer_token()
    if plain is None:
        raise ApiProblem(
            401,
            "Send an API token as 'Authorization: Bearer <token>'. "
            "An administrator creates one with 'clinic create-token USERNAME'.",
            headers={"WWW-Authenticate": CHALLENGE},
        )
    user = authenticate(db.session(), plain=plain, now=clock.now())
    if user is None:
        raise ApiProblem(
            401,
            "This API token is not valid: it may have been revoked, or its user deactivated.",
            headers={"WWW-Authenticate": CHALLENGE + ', error="invalid_token"'},
        )
    # Kept as plain values: a failed transaction later in the request must not need the
    # user row reloaded to say who acted.
    g.api_actor = Actor(user_id=user.id, username=user.username, source_address=request.remote_addr)
    return user


def api_actor() -> Actor:
    """Who the current API request acts as, for the audit trail."""
    actor: Actor = g.api_actor
    return actor
