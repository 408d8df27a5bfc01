"""Delivering webhook events: claim due deliveries, POST them signed, record the outcome.

One run goes batch after batch until nothing is due (the ``deliver-webhooks`` job):

1. **Claim** (one transaction): stale claims return to the queue; up to ``batch_size`` due
   deliveries are locked (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so workers side by side
   never take the same one) and marked ``sending``. A delivery is due only when no earlier
   delivery of the same resource to the same endpoint is still pending (even one waiting
   for its retry) or being sent: events of one resource reach a receiver in order.
2. **Send**, outside any transaction, a few at a time: resolve and check the address again
   (``clinic.webhooks.addresses``), then POST the JSON body with its signature. Any 2xx
   answer is a delivery; anything else (another status, a redirect, a timeout, a refused
   connection) is a failure.
3. **Record** (one transaction): the attempt goes in the log; the delivery is delivered, or
   back in the queue after a backoff that doubles with each attempt, or ``failed`` once the
   attempts are used up. A failed delivery no longer holds back the later ones of its
   resource (the version tells the receiver what it missed); "send again" on the admin page
   queues it once more.

A worker that dies between 1 and 3 leaves rows ``sending``; once the claim is older than the
claim timeout they return to the queue. Delivery is therefore at least once, and every
attempt carries the same event id and the same body: receivers deduplicate on the id.
"""

from __future__ import annotations

import datetime as dt
import functools
import http.client
import json
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from ..models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from ..notify.dispatcher import worker_name
from .addresses import AddressPolicy, AddressRefused, Resolver, Target, resolve
from .signing import SIGNATURE_HEADER, SecretUnreadable, decrypt_secret, signature_header

log = logging.getLogger("clinic.webhooks")
Status = DeliveryStatus
USER_AGENT = "clinic-webhooks/1"
MAX_ERROR = 300


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    batch_size: int = 20
    max_attempts: int = 8
    backoff_seconds: int = 30  # before the first retry; doubles with each further attempt
    claim_timeout_seconds: int = 300
    timeout_seconds: float = 10.0
    connections: int = 4  # deliveries sent side by side
    policy: AddressPolicy = AddressPolicy()

    def retry_delay(self, attempts: int) -> dt.timedelta:
        return dt.timedelta(seconds=self.backoff_seconds * 2 ** max(attempts - 1, 0))


def delivery_settings_from_config(config: Mapping[str, Any]) -> DeliverySettings:
    """``[webhooks]`` in the config. Production always requires https and public addresses,
    whatever ``allow_private_addresses`` says."""
    defaults = DeliverySettings()
    production = bool(config.get("PRODUCTION"))
    settings = DeliverySettings(
        batch_size=int(config.get("WEBHOOKS_BATCH_SIZE", defaults.batch_size)),
        max_attempts=int(config.get("WEBHOOKS_MAX_ATTEMPTS", defaults.max_attempts)),
        backoff_seconds=int(config.get("WEBHOOKS_BACKOFF_SECONDS", defaults.backoff_seconds)),
        claim_timeout_seconds=int(
            config.get("WEBHOOKS_CLAIM_TIMEOUT_SECONDS", defaults.claim_timeout_seconds)
        ),
        timeout_seconds=float(config.get("WEBHOOKS_TIMEOUT_SECONDS", defaults.timeout_seconds)),
        connections=int(config.get("WEBHOOKS_CONNECTIONS", defaults.connections)),
        policy=AddressPolicy(
            https_only=production,
            allow_private=bool(config.get("WEBHOOKS_ALLOW_PRIVATE_ADDRESSES")) and not production,
        ),
    )
    if min(settings.batch_size, settings.max_attempts, settings.connections) < 1:
        raise ValueError(
            "WEBHOOKS_BATCH_SIZE, WEBHOOKS_MAX_ATTEMPTS and WEBHOOKS_CONNECTIONS must be at least 1"
        )
    if settings.backoff_seconds < 0 or settings.timeout_seconds <= 0:
        raise ValueError("WEBHOOKS_BACKOFF_SECONDS and WEBHOOKS_TIMEOUT_SECONDS are invalid")
    return settings


# --- the body --------------------------------------------------------------------------


def instant(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def event_body(event: WebhookEvent | Any) -> bytes:
    """The JSON body, the same bytes at every attempt (``WebhookPayload`` documents it)."""
    document = {
        "id": event.event_id,
        "type": event.type,
        "occurred_at": instant(event.occurred_at),
        "resource": {
            "type": event.resource_type,
            "id": event.resource_id,
            "version": event.resource_version,
        },
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


# --- 1. claim --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Claimed:
    delivery_id: int
    attempts: int  # including this one
    url: str
    secret_encrypted: str
    event_id: str
    event_type: str
    body: bytes


@dataclass(frozen=True, slots=True)
class Outcome:
    delivery_id: int
    attempts: int
    status_code: int | None = None
    error: str | None = None
    permanent: bool = False
    duration_ms: int = 0

    @property
    def delivered(self) -> bool:
        return self.error is None


@dataclass(slots=True)
class DeliveryTotals:
    batches: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    released: int = 0


def release_stale_claims(session: Session, *, now: dt.datetime, settings: DeliverySettings) -> int:
    message = "The worker sending this stopped before finishing"
    out_of_attempts = WebhookDelivery.attempts >= settings.max_attempts
    result = cast(
        "sa.CursorResult[Any]",
        session.execute(
            sa.update(WebhookDelivery)
            .where(
                WebhookDelivery.id.in_(
                    sa.select(WebhookDelivery.id)
                    .where(
                        WebhookDelivery.status == Status.SENDING,
                        WebhookDelivery.claimed_at
                        < now - dt.timedelta(seconds=settings.claim_timeout_seconds),
                    )
                    .with_for_update(skip_locked=True)
                    .scalar_subquery()
                )
            )
            .values(
                status=sa.case((out_of_attempts, Status.FAILED.value), else_=Status.PENDING.value),
                due_at=now,
                claimed_at=None,
                last_error=sa.case(
                    (out_of_attempts, message + "; no attempts left."), else_=message + "."
                ),
            )
            .execution_options(synchronize_session=False)
        ),
    )
    return int(result.rowcount or 0)


def _earlier_still_open() -> sa.ColumnElement[bool]:
    earlier = aliased(WebhookDelivery)
    return (
        sa.exists()
        .where(
            earlier.endpoint_id == WebhookDelivery.endpoint_id,
            earlier.resource_type == WebhookDelivery.resource_type,
            earlier.resource_id == WebhookDelivery.resource_id,
            earlier.id < WebhookDelivery.id,
            earlier.status.in_([Status.PENDING.value, Status.SENDING.value]),
        )
        .correlate(WebhookDelivery)
    )


def claim_due(
    session: Session, *, now: dt.datetime, worker: str, settings: DeliverySettings
) -> tuple[list[Claimed], int]:
    """Step 1, committed: the claimed deliveries and how many stale claims were released."""
    try:
        released = release_stale_claims(session, now=now, settings=settings)
        active_endpoints = sa.select(WebhookEndpoint.id).where(WebhookEndpoint.active.is_(True))
        ids = session.scalars(
            sa.select(WebhookDelivery.id)
            .where(
                WebhookDelivery.status == Status.PENDING,
                WebhookDelivery.due_at <= now,
                WebhookDelivery.endpoint_id.in_(active_endpoints),
                ~_earlier_still_open(),
            )
            .order_by(WebhookDelivery.due_at, WebhookDelivery.id)
            .limit(settings.batch_size)
            .with_for_update(skip_locked=True, of=WebhookDelivery)
        ).all()
        claimed: list[Claimed] = []
        if ids:
            rows = session.execute(
                sa.select(
                    WebhookDelivery.id,
                    WebhookDelivery.attempts,
                    WebhookEndpoint.url,
                    WebhookEndpoint.secret_encrypted,
                    WebhookEvent.event_id,
                    WebhookEvent.type,
                    WebhookEvent.occurred_at,
                    WebhookEvent.resource_type,
                    WebhookEvent.resource_id,
                    WebhookEvent.resource_version,
                )
                .join(WebhookEndpoint, WebhookDelivery.endpoint_id == WebhookEndpoint.id)
                .join(WebhookEvent, WebhookDelivery.event_id == WebhookEvent.id)
                .where(WebhookDelivery.id.in_(ids))
                .order_by(WebhookDelivery.due_at, WebhookDelivery.id)
            ).all()
            claimed = [
                Claimed(
                    delivery_id=row.id,
                    attempts=row.attempts + 1,
                    url=row.url,
                    secret_encrypted=row.secret_encrypted,
                    event_id=row.event_id,
                    event_type=row.type,
                    body=event_body(row),
                )
                for row in rows
            ]
            session.execute(
                sa.update(WebhookDelivery)
                .where(WebhookDelivery.id.in_(ids))
                .values(
                    status=Status.SENDING,
                    claimed_at=now,
                    claimed_by=worker,
                    attempts=WebhookDelivery.attempts + 1,
                )
                .execution_options(synchronize_session=False)
            )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return claimed, released


# --- 2. send ---------------------------------------------------------------------------


class DeliveryFailed(Exception):
    def __init__(
        self, message: str, *, status_code: int | None = None, permanent: bool = False
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.permanent = permanent


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the checked address, whatever the name resolves to by now."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self.pinned_address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.pinned_address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """The same over TLS; the certificate is checked against the URL's host name."""

    def __init__(self, target: Target, timeout: float, context: ssl.SSLContext) -> None:
        super().__init__(target.host, target.port, timeout=timeout, context=context)
        self.pinned_address = target.address
        self.tls_context = context

    def connect(self) -> None:
        raw = socket.create_connection((self.pinned_address, self.port), self.timeout)
        self.sock = self.tls_context.wrap_socket(raw, server_hostname=self.host)


class HttpSender:
    """POSTs one delivery. ``resolver`` stands in for DNS in tests; ``tls_context`` for the
    system's trust store (a test's own certificate authority)."""

    def __init__(
        self,
        *,
        settings: DeliverySettings,
        resolver: Resolver = socket.getaddrinfo,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.settings = settings
        self.resolver = resolver
        self.tls_context = tls_context or ssl.create_default_context()

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        try:
            target = resolve(url, self.settings.policy, resolver=self.resolver)
        except AddressRefused as error:
            raise DeliveryFailed(error.fields.get("url") or error.message) from None
        timeout = self.settings.timeout_seconds
        connection: http.client.HTTPConnection = (
            _PinnedHTTPSConnection(target, timeout, self.tls_context)
            if target.scheme == "https"
            else _PinnedHTTPConnection(target, timeout)
        )
        try:
            connection.request("POST", target.path, body=body, headers=dict(headers))
            response = connection.getresponse()
            status = response.status
        except TimeoutError:
            raise DeliveryFailed(f"No answer within {timeout:g} s.") from None
        except ssl.SSLError as error:
            raise DeliveryFailed(f"TLS failed: {error.reason or type(error).__name__}.") from None
        except ConnectionRefusedError:
            raise DeliveryFailed("The receiver refused the connection.") from None
        except (OSError, http.client.HTTPException) as error:
            raise DeliveryFailed(f"The connection failed ({type(error).__name__}).") from None
        finally:
            connection.close()
        if 200 <= status < 300:
            return status
        if 300 <= status < 400:
            raise DeliveryFailed(
                f"HTTP {status}: redirects are not followed; register the final URL.",
                status_code=status,
            )
        raise DeliveryFailed(f"HTTP {status} from the receiver.", status_code=status)


def send_one(
    item: Claimed, *, sender: HttpSender, app_secret_key: str, now: dt.datetime
) -> Outcome:
    started = time.monotonic()
    outcome = _send(item, sender=sender, app_secret_key=app_secret_key, now=now)
    return replace(outcome, duration_ms=round((time.monotonic() - started) * 1000))


def _send(item: Claimed, *, sender: HttpSender, app_secret_key: str, now: dt.datetime) -> Outcome:
    try:
        secret = decrypt_secret(item.secret_encrypted, app_secret_key=app_secret_key)
    except SecretUnreadable:
        return Outcome(
            item.delivery_id,
            item.attempts,
            error="The endpoint's secret cannot be read (was SECRET_KEY changed?); "
            "set a new secret on the endpoint page.",
            permanent=True,
        )
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Clinic-Event-Id": item.event_id,
        "Clinic-Event-Type": item.event_type,
        "Clinic-Delivery-Attempt": str(item.attempts),
        SIGNATURE_HEADER: signature_header(secret, timestamp=int(now.timestamp()), body=item.body),
    }
    try:
        status = sender.post(item.url, item.body, headers)
    except DeliveryFailed as failure:
        return Outcome(
            item.delivery_id,
            item.attempts,
            status_code=failure.status_code,
            error=failure.message[:MAX_ERROR],
            permanent=failure.permanent,
        )
    except Exception as error:  # a bug: the batch goes on
        log.error("webhook delivery %s failed: %s", item.delivery_id, type(error).__name__)
        return Outcome(item.delivery_id, item.attempts, error=f"{type(error).__name__}.")
    return Outcome(item.delivery_id, item.attempts, status_code=status)


# --- 3. record -------------------------------------------------------------------------


def record_outcomes(
    session: Session,
    outcomes: Sequence[Outcome],
    *,
    now: dt.datetime,
    worker: str,
    settings: DeliverySettings,
    attempted_at: dt.datetime | None = None,
) -> DeliveryTotals:
    """Step 3, committed: each attempt goes in the log; each delivery this worker still holds
    is updated (a claim released as stale and taken by another worker meanwhile is theirs)."""
    totals = DeliveryTotals()
    try:
        if outcomes:
            session.execute(
                sa.insert(WebhookAttempt),
                [
                    {
                        "delivery_id": outcome.delivery_id,
                        "attempt": outcome.attempts,
                        "at": attempted_at or now,
                        "status_code": outcome.status_code,
                        "error": outcome.error,
                        "duration_ms": outcome.duration_ms,
                    }
                    for outcome in outcomes
                ],
            )
        for outcome in outcomes:
            values: dict[str, Any] = {
                "claimed_at": None,
                "last_attempt_at": now,
                "last_status_code": outcome.status_code,
                "last_error": outcome.error,
            }
            if outcome.delivered:
                values.update(status=Status.DELIVERED, delivered_at=now)
                totals.delivered += 1
            elif outcome.permanent or outcome.attempts >= settings.max_attempts:
                values.update(status=Status.FAILED)
                totals.failed += 1
            else:
                due_at = now + settings.retry_delay(outcome.attempts)
                values.update(status=Status.PENDING, due_at=due_at)
                totals.retrying += 1
            session.execute(
                sa.update(WebhookDelivery)
                .where(
                    WebhookDelivery.id == outcome.delivery_id,
                    WebhookDelivery.status == Status.SENDING,
                    WebhookDelivery.claimed_by == worker,
                )
                .values(**values)
                .execution_options(synchronize_session=False)
            )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return totals


# Delivered deliveries (and their attempts) stay in the log this long; events stay for good
# (their versions count on).
DELIVERED_KEPT = dt.timedelta(days=30)


def prune_delivered(
    session: Session, *, now: dt.datetime, keep: dt.timedelta = DELIVERED_KEPT
) -> int:
    """Remove deliveries delivered more than ``keep`` ago, with their attempts; the caller
    commits. Failed ones stay until someone sends them again or removes the endpoint."""
    old = sa.select(WebhookDelivery.id).where(
        WebhookDelivery.status == Status.DELIVERED, WebhookDelivery.delivered_at < now - keep
    )
    session.execute(sa.delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(old)))
    result = cast(
        "sa.CursorResult[Any]",
        session.execute(
            sa.delete(WebhookDelivery)
            .where(WebhookDelivery.id.in_(old))
            .execution_options(synchronize_session=False)
        ),
    )
    return int(result.rowcount or 0)


@dataclass
class Deliverer:
    """Runs batches until nothing is due, or ``stop`` is set."""

    settings: DeliverySettings
    sender: HttpSender
    app_secret_key: str
    worker: str = ""

    def __post_init__(self) -> None:
        self.worker = self.worker or worker_name()

    def _send(self, item: Claimed, *, now: dt.datetime) -> Outcome:
        return send_one(item, sender=self.sender, app_secret_key=self.app_secret_key, now=now)

    def run(
        self,
        session: Session,
        *,
        clock: Callable[[], dt.datetime],
        stop: threading.Event | None = None,
        max_batches: int | None = None,
    ) -> DeliveryTotals:
        totals = DeliveryTotals()
        with ThreadPoolExecutor(
            max_workers=self.settings.connections, thread_name_prefix="webhook"
        ) as pool:
            while not (stop is not None and stop.is_set()) and (
                max_batches is None or totals.batches < max_batches
            ):
                now = clock()
                claimed, released = claim_due(
                    session, now=now, worker=self.worker, settings=self.settings
                )
                totals.released += released
                if not claimed:
                    break
                totals.batches += 1
                outcomes = list(pool.map(functools.partial(self._send, now=now), claimed))
                recorded = record_outcomes(
                    session,
                    outcomes,
                    now=clock(),
                    worker=self.worker,
                    settings=self.settings,
                    attempted_at=now,
                )
                for name in ("delivered", "retrying", "failed"):
                    setattr(totals, name, getattr(totals, name) + getattr(recorded, name))
        if totals.batches or totals.released:
            log.info(
                "webhooks: %d delivered, %d retrying, %d failed, %d stale claims released",
                totals.delivered,
                totals.retrying,
                totals.failed,
                totals.released,
            )
        return totals
