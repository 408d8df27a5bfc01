"""Safe retries of API writes: the ``Idempotency-Key`` request header.

Semantics follow the IETF httpapi "The Idempotency-Key HTTP Header Field" draft:

- Every API operation that is not a GET accepts the header. The first request with a key
  (per token user) does the work; a retry with the same key and the same request (method,
  path and body) within 24 hours gets the first answer again (status, body, ``Location``),
  marked ``Idempotent-Replayed: true``, without the work being done twice.
- The same key with a different request is refused: 422.
- A retry while the first request is still being processed: 409 (retry later).
- A request that failed (any 4xx or 5xx answer) changed nothing, so its key is released:
  a retry does the work afresh and gets the answer the world gives now.

Keys are stored in the database (``IdempotencyKey``), so every gunicorn worker on every
machine sees them; the unique (user, key) index decides between two requests that arrive
at once. ``prune_idempotency_keys`` deletes expired keys (the daily prune job calls it).

A worker that dies between the first request's commit and the recording of its answer
leaves its key "in flight"; after ``IN_FLIGHT_TIMEOUT`` the key may be claimed again. That
gap is a few statements long; the draft allows it (the key is a best effort, not a lock).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, current_app, g, request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import clock
from ..extensions import db
from ..models import IdempotencyKey
from ..models.idempotency import MAX_KEY_LENGTH
from .auth import authenticate_request
from .operations import MAX_BODY_BYTES
from .problems import ApiProblem

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEPT_FOR = dt.timedelta(hours=24)
IN_FLIGHT_TIMEOUT = dt.timedelta(minutes=10)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_STORED_PATH = 500

KEY_PROBLEM = (
    f"The {HEADER} header must be 1 to {MAX_KEY_LENGTH} visible ASCII characters without "
    "quotes or backslashes (a UUID is a good key), optionally in double quotes."
)
REUSED_PROBLEM = (
    f"This {HEADER} was already used with a different request in the last 24 hours. "
    "Use a new key for a new request."
)
IN_FLIGHT_PROBLEM = (
    f"A request with this {HEADER} is still being processed. Retry once it has finished."
)

# For the OpenAPI document (``clinic.api.openapi``): the header on every write.
PARAMETER: dict[str, Any] = {
    "name": HEADER,
    "in": "header",
    "required": False,
    "description": "Makes the request safe to retry (IETF httpapi idempotency-key draft): the "
    "same key and the same request within 24 hours returns the first answer, marked "
    f"`{REPLAYED_HEADER}: true`, without doing the work again; the same key with a different "
    "request is a 422; a retry while the first is still running is a 409. Keys are per token "
    "user. A request that failed releases its key.",
    "schema": {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_KEY_LENGTH,
        "pattern": r"^[!#-\[\]-~]+$",
    },
}
# Statuses the header can add to an operation's answers.
STATUSES = (400, 409, 422)


def parse_key(raw: str) -> str:
    """The key from the header: an RFC 8941 string (``"..."``) or the bare characters."""
    value = raw.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    if not 1 <= len(value) <= MAX_KEY_LENGTH or any(
        not 0x21 <= ord(char) <= 0x7E or char in '"\\' for char in value
    ):
        raise ApiProblem(400, KEY_PROBLEM)
    return value


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes two requests "the same": method, path with query, and the body (JSON is
    compared as data, so key order and spacing do not matter)."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = body
    digest = hashlib.sha256()
    for part in (method.encode(), b"\n", path.encode(), b"\n", canonical):
        digest.update(part)
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class Claimed:
    """This request holds the key and does the work."""

    key_id: int


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    """The first request's answer, to give again."""

    status: int
    body: str
    mimetype: str
    location: str | None

    @classmethod
    def of(cls, row: IdempotencyKey) -> StoredAnswer:
        return cls(
            status=row.status_code or 200,
            body=row.response_body or "",
            mimetype=row.response_type or "application/json",
            location=row.response_location,
        )


def claim(
    session: Session,
    *,
    user_id: int,
    key: str,
    fingerprint: str,
    method: str,
    path: str,
    now: dt.datetime,
) -> Claimed | StoredAnswer:
    """Take the key for this request (commits), or return the finished earlier request to
    replay. Raises a 422 problem for another request under the key, 409 while it runs."""
    for _ in range(2):
        existing = session.scalar(
            sa.select(IdempotencyKey).where(
                IdempotencyKey.user_id == user_id, IdempotencyKey.key == key
            )
        )
        if existing is not None and _abandoned(existing, now):
            session.delete(existing)
            session.flush()
            existing = None
        if existing is None:
            row = IdempotencyKey(
                user_id=user_id,
                key=key,
                fingerprint=fingerprint,
                method=method,
                path=path[:MAX_STORED_PATH],
                created_at=now,
                expires_at=now + KEPT_FOR,
            )
            session.add(row)
            try:
                session.commit()
            except IntegrityError:
                # Another request took the key a moment ago: look again.
                session.rollback()
                continue
            return Claimed(row.id)
        same, in_flight, answer = (
            existing.fingerprint == fingerprint,
            existing.in_flight,
            StoredAnswer.of(existing),
        )
        session.commit()  # ends the read (SQLite holds its write lock for any transaction)
        if not same:
            raise ApiProblem(422, REUSED_PROBLEM)
        if in_flight:
            raise ApiProblem(409, IN_FLIGHT_PROBLEM)
        return answer
    raise ApiProblem(409, IN_FLIGHT_PROBLEM)


def _abandoned(row: IdempotencyKey, now: dt.datetime) -> bool:
    if row.expires_at <= now:
        return True
    return row.in_flight and row.created_at <= now - IN_FLIGHT_TIMEOUT


def record(session: Session, claimed: Claimed, response: Response, *, now: dt.datetime) -> None:
    """Keep a successful answer for retries; release the key of a failed request (commits)."""
    row = session.get(IdempotencyKey, claimed.key_id)
    if row is None:
        return
    if response.status_code >= 400:
        session.delete(row)
    else:
        row.status_code = response.status_code
        row.response_body = response.get_data(as_text=True)
        row.response_type = response.mimetype
        row.response_location = response.headers.get("Location")
        row.completed_at = now
    session.commit()


def replay(answer: StoredAnswer) -> Response:
    response = Response(answer.body, status=answer.status, mimetype=answer.mimetype)
    if answer.location:
        response.headers["Location"] = answer.location
    response.headers[REPLAYED_HEADER] = "true"
    return response


def prune_idempotency_keys(session: Session, *, now: dt.datetime) -> int:
    """Delete expired keys (the caller commits); returns how many."""
    result = session.execute(
        sa.delete(IdempotencyKey)
        .where(IdempotencyKey.expires_at <= now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def install_idempotency(blueprint: Blueprint) -> None:
    """Claim the key before an API write runs and record its answer after."""

    @blueprint.before_request
    def claim_key() -> Response | None:
        raw = request.headers.get(HEADER)
        if raw is None or request.method in SAFE_METHODS or not _is_operation():
            return None
        key = parse_key(raw)
        user = authenticate_request()
        # A body over the limit is the view's to refuse (413), before any key is taken.
        if (request.content_length or 0) > MAX_BODY_BYTES:
            return None
        body = request.get_data(cache=True)
        outcome = claim(
            db.session(),
            user_id=user.id,
            key=key,
            fingerprint=fingerprint(request.method, request.full_path, body),
            method=request.method,
            path=request.full_path,
            now=clock.now(),
        )
        if isinstance(outcome, Claimed):
            g.idempotency_claim = outcome
            return None
        return replay(outcome)

    @blueprint.after_request
    def record_answer(response: Response) -> Response:
        claimed: Claimed | None = g.pop("idempotency_claim", None)
        if claimed is None:
            return response
        session = db.session()
        # The view's service committed or rolled back its own work; nothing else is pending.
        session.rollback()
        record(session, claimed, response, now=clock.now())
        return response


def _is_operation() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return getattr(view, "api_operation", None) is not None
