"""The admin's use cases: register an endpoint (its secret shown once), change it, give it a
new secret, remove it, and send a delivery again; and what the admin pages show.

Each validates first, writes its audit row in the same transaction and commits once. Audit
summaries name the endpoint by id and host only: a URL's query string may hold a key.
"""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..audit import Actor, record_event
from ..errors import Invalid, NotFound
from ..models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from .addresses import AddressPolicy, Resolver, check_registration
from .events import EventType
from .signing import (
    MAX_SECRET_LENGTH,
    MIN_SECRET_LENGTH,
    encrypt_secret,
    new_secret,
    secret_hint,
)

MAX_NAME = 80
LOG_ROWS = 100


class EndpointNotFound(NotFound):
    default_message = "That webhook endpoint no longer exists."


class DeliveryNotFound(NotFound):
    default_message = "That delivery no longer exists."


@dataclass(frozen=True, slots=True)
class Registered:
    endpoint: WebhookEndpoint
    secret: str  # the plain secret: shown once, in the answer to this request


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise Invalid(fields={"name": "Give the endpoint a name, e.g. 'EHR'."})
    if len(name) > MAX_NAME:
        raise Invalid(fields={"name": f"Keep the name under {MAX_NAME} characters."})
    return name


def _clean_event_types(values: Iterable[str]) -> list[str]:
    known = {event.value for event in EventType}
    chosen = sorted(set(values or []))
    if not chosen:
        raise Invalid(fields={"event_types": "Choose at least one event."})
    unknown = [value for value in chosen if value not in known]
    if unknown:
        raise Invalid(fields={"event_types": "Choose events from the list."})
    return chosen


def _clean_secret(secret: str | None) -> str:
    """The admin's own secret, or a new random one when they left it blank."""
    secret = (secret or "").strip()
    if not secret:
        return new_secret()
    if not MIN_SECRET_LENGTH <= len(secret) <= MAX_SECRET_LENGTH:
        raise Invalid(
            fields={
                "secret": f"The secret must be {MIN_SECRET_LENGTH} to {MAX_SECRET_LENGTH} "
                "characters long; leave it blank to have one made."
            }
        )
    if any(not character.isprintable() or character.isspace() for character in secret):
        raise Invalid(fields={"secret": "The secret may not contain spaces."})
    return secret


def _host(url: str) -> str:
    return urlsplit(url).hostname or "?"


def register_endpoint(
    session: Session,
    *,
    name: str,
    url: str,
    event_types: Iterable[str],
    secret: str | None,
    actor: Actor,
    now: dt.datetime,
    policy: AddressPolicy,
    app_secret_key: str,
    resolver: Resolver = socket.getaddrinfo,
) -> Registered:
    name = _clean_name(name)
    types = _clean_event_types(event_types)
    url = check_registration(url, policy, resolver=resolver)
    plain = _clean_secret(secret)
    endpoint = WebhookEndpoint(
        name=name,
        url=url,
        secret_encrypted=encrypt_secret(plain, app_secret_key=app_secret_key),
        secret_hint=secret_hint(plain),
        event_types=types,
        active=True,
        created_by_id=actor.user_id,
        created_at=now,
        updated_at=now,
    )
    session.add(endpoint)
    session.flush()
    record_event(
        session,
        actor,
        action="webhook.create",
        entity_type="webhook_endpoint",
        entity_id=endpoint.id,
        summary=f"webhook endpoint {endpoint.id} to host {_host(url)}; events {', '.join(types)}",
    )
    session.commit()
    return Registered(endpoint, plain)


def get_endpoint(session: Session, endpoint_id: int) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise EndpointNotFound()
    return endpoint


def update_endpoint(
    session: Session,
    *,
    endpoint_id: int,
    name: str,
    url: str,
    event_types: Iterable[str],
    active: bool,
    actor: Actor,
    now: dt.datetime,
    policy: AddressPolicy,
    resolver: Resolver = socket.getaddrinfo,
) -> WebhookEndpoint:
    endpoint = get_endpoint(session, endpoint_id)
    name = _clean_name(name)
    types = _clean_event_types(event_types)
    url = check_registration(url, policy, resolver=resolver)
    changed = [
        field
        for field, old, new in (
            ("name", endpoint.name, name),
            ("url", endpoint.url, url),
            ("event_types", endpoint.event_types, types),
            ("active", endpoint.active, active),
        )
        if old != new
    ]
    if not changed:
        session.rollback()
        return endpoint
    endpoint.name, endpoint.url, endpoint.event_types, endpoint.active = name, url, types, active
    endpoint.updated_at = now
    record_event(
        session,
        actor,
        action="webhook.update",
        entity_type="webhook_endpoint",
        entity_id=endpoint.id,
        summary=f"webhook endpoint {endpoint.id} to host {_host(url)}; changed: "
        + ", ".join(changed),
    )
    session.commit()
    return endpoint


def replace_secret(
    session: Session,
    *,
    endpoint_id: int,
    secret: str | None,
    actor: Actor,
    now: dt.datetime,
    app_secret_key: str,
) -> Registered:
    """Sign from now on with a new secret (the admin's, or a random one); shown once."""
    endpoint = get_endpoint(session, endpoint_id)
    plain = _clean_secret(secret)
    endpoint.secret_encrypted = encrypt_secret(plain, app_secret_key=app_secret_key)
    endpoint.secret_hint = secret_hint(plain)
    endpoint.updated_at = now
    record_event(
        session,
        actor,
        action="webhook.secret",
        entity_type="webhook_endpoint",
        entity_id=endpoint.id,
        summary=f"webhook endpoint {endpoint.id}: new signing secret",
    )
    session.commit()
    return Registered(endpoint, plain)


def remove_endpoint(session: Session, *, endpoint_id: int, actor: Actor) -> None:
    """Remove the endpoint and its delivery log (deactivate it to keep the log)."""
    endpoint = get_endpoint(session, endpoint_id)
    record_event(
        session,
        actor,
        action="webhook.delete",
        entity_type="webhook_endpoint",
        entity_id=endpoint.id,
        summary=f"webhook endpoint {endpoint.id} to host {_host(endpoint.url)} removed",
    )
    deliveries = sa.select(WebhookDelivery.id).where(WebhookDelivery.endpoint_id == endpoint.id)
    session.execute(sa.delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(deliveries)))
    session.execute(sa.delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id))
    session.delete(endpoint)
    session.commit()


def send_again(
    session: Session, *, delivery_id: int, actor: Actor, now: dt.datetime
) -> WebhookDelivery:
    """Queue a delivery once more, due now, with a fresh set of attempts and the same event
    id (a receiver that has it already deduplicates). One being sent right now is left be."""
    delivery = session.get(WebhookDelivery, delivery_id, with_for_update=True)
    if delivery is None:
        raise DeliveryNotFound()
    if delivery.status in (DeliveryStatus.PENDING, DeliveryStatus.SENDING):
        raise Invalid("This delivery is already queued; it will be sent shortly.")
    delivery.status = DeliveryStatus.PENDING
    delivery.due_at = now
    delivery.attempts = 0
    delivery.claimed_at = None
    record_event(
        session,
        actor,
        action="webhook.resend",
        entity_type="webhook_delivery",
        entity_id=delivery.id,
        summary=f"delivery {delivery.id} of event {delivery.event_id} to webhook endpoint "
        f"{delivery.endpoint_id} queued again",
    )
    session.commit()
    return delivery


# --- what the pages show ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EndpointSummary:
    endpoint: WebhookEndpoint
    counts: dict[str, int]


def list_endpoints(session: Session) -> list[EndpointSummary]:
    """Every endpoint with its deliveries counted by status (two queries)."""
    endpoints = list(session.scalars(sa.select(WebhookEndpoint).order_by(WebhookEndpoint.name)))
    counts: dict[int, dict[str, int]] = {}
    for endpoint_id, status, count in session.execute(
        sa.select(WebhookDelivery.endpoint_id, WebhookDelivery.status, sa.func.count()).group_by(
            WebhookDelivery.endpoint_id, WebhookDelivery.status
        )
    ):
        counts.setdefault(endpoint_id, {})[DeliveryStatus(status).value] = count
    return [EndpointSummary(endpoint, counts.get(endpoint.id, {})) for endpoint in endpoints]


@dataclass(frozen=True, slots=True)
class LogRow:
    delivery: WebhookDelivery
    event: WebhookEvent
    attempts: list[WebhookAttempt]  # oldest first


def delivery_log(session: Session, *, endpoint_id: int, limit: int = LOG_ROWS) -> Sequence[LogRow]:
    """The endpoint's latest deliveries with their events and attempts, newest first (two
    queries)."""
    rows = session.execute(
        sa.select(WebhookDelivery, WebhookEvent)
        .join(WebhookEvent, WebhookDelivery.event_id == WebhookEvent.id)
        .where(WebhookDelivery.endpoint_id == endpoint_id)
        .order_by(WebhookDelivery.id.desc())
        .limit(limit)
    ).all()
    attempts: dict[int, list[WebhookAttempt]] = {}
    if rows:
        for attempt in session.scalars(
            sa.select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id.in_([delivery.id for delivery, _ in rows]))
            .order_by(WebhookAttempt.id)
        ):
            attempts.setdefault(attempt.delivery_id, []).append(attempt)
    return [LogRow(delivery, event, attempts.get(delivery.id, [])) for delivery, event in rows]
