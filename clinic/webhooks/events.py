"""What the app tells integrations, and ``emit``: the one call a service makes after a change.

``emit`` only adds rows to the caller's session (an event per resource, a delivery per
endpoint that asked for the type); the caller commits, so a change and its events are saved
together or not at all, like the notification outbox. The workers deliver them later
(``clinic.webhooks.delivery``).

An event names its resource (type, id, version) and nothing else: a receiver that wants
the details reads them from the API or the FHIR interface with its own token, under its
own role. So no patient name or clinical detail ever leaves in a webhook body.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookEvent
from ..models.webhook import new_event_id


class ResourceType(enum.StrEnum):
    APPOINTMENT = "appointment"
    PATIENT = "patient"
    WAITLIST_ENTRY = "waitlist_entry"


class EventType(enum.StrEnum):
    APPOINTMENT_BOOKED = "appointment.booked"
    APPOINTMENT_RESCHEDULED = "appointment.rescheduled"
    APPOINTMENT_CANCELLED = "appointment.cancelled"
    APPOINTMENT_CHECKED_IN = "appointment.checked_in"
    APPOINTMENT_DISCHARGED = "appointment.discharged"
    APPOINTMENT_NO_SHOW = "appointment.no_show"
    PATIENT_CREATED = "patient.created"
    PATIENT_UPDATED = "patient.updated"
    # Declared ahead of the waitlist (DESIGN section 10): a patient claimed an offered slot.
    WAITLIST_CLAIMED = "waitlist.claimed"

    @property
    def resource_type(self) -> ResourceType:
        return ResourceType(_RESOURCE_OF_PREFIX[self.value.split(".", 1)[0]])

    @property
    def label(self) -> str:
        return EVENT_LABELS[self]


_RESOURCE_OF_PREFIX = {
    "appointment": ResourceType.APPOINTMENT,
    "patient": ResourceType.PATIENT,
    "waitlist": ResourceType.WAITLIST_ENTRY,
}

EVENT_LABELS: dict[EventType, str] = {
    EventType.APPOINTMENT_BOOKED: "Session booked",
    EventType.APPOINTMENT_RESCHEDULED: "Session rescheduled",
    EventType.APPOINTMENT_CANCELLED: "Session cancelled",
    EventType.APPOINTMENT_CHECKED_IN: "Patient checked in",
    EventType.APPOINTMENT_DISCHARGED: "Patient discharged",
    EventType.APPOINTMENT_NO_SHOW: "Session marked as a no-show",
    EventType.PATIENT_CREATED: "Patient registered",
    EventType.PATIENT_UPDATED: "Patient record changed",
    EventType.WAITLIST_CLAIMED: "Waitlist offer claimed",
}


class Identified(Protocol):
    @property
    def id(self) -> int: ...


def emit(
    session: Session,
    event_type: EventType,
    resources: Identified | Iterable[Identified],
    *,
    now: dt.datetime,
) -> list[str]:
    """Record that ``event_type`` happened to each of ``resources`` (one event each) and queue
    its delivery to every active endpoint that receives that type; returns the event ids.
    The caller commits.

    Four statements whatever the number of resources: the resources' current versions, the
    events (one multi-row INSERT), the endpoints, the deliveries (one executemany).

    Versions: each resource row was written (inserted, or updated and so row-locked on
    PostgreSQL) by the caller before this runs, so two transactions changing the same
    resource queue here and the second reads the first one's version once it committed.
    """
    items = [resources] if not isinstance(resources, Iterable) else list(resources)
    session.flush()  # new rows get their ids; changed rows are written (and locked)
    ids = list(dict.fromkeys(item.id for item in items))
    if not ids:
        return []
    resource_type = event_type.resource_type.value
    versions: dict[int, int] = {
        resource_id: version
        for resource_id, version in session.execute(
            sa.select(WebhookEvent.resource_id, sa.func.max(WebhookEvent.resource_version))
            .where(
                WebhookEvent.resource_type == resource_type,
                WebhookEvent.resource_id.in_(ids),
            )
            .group_by(WebhookEvent.resource_id)
        )
    }
    rows: list[dict[str, Any]] = [
        {
            "event_id": new_event_id(),
            "type": event_type.value,
            "resource_type": resource_type,
            "resource_id": resource_id,
            "resource_version": versions.get(resource_id, 0) + 1,
            "occurred_at": now,
        }
        for resource_id in ids
    ]
    # One INSERT with a VALUES row per event; RETURNING pairs each new key with its resource.
    inserted = {
        resource_id: key
        for key, resource_id in session.execute(
            sa.insert(WebhookEvent)
            .values(rows)
            .returning(WebhookEvent.id, WebhookEvent.resource_id)
        )
    }
    endpoint_ids = [
        endpoint_id
        for endpoint_id, types in session.execute(
            sa.select(WebhookEndpoint.id, WebhookEndpoint.event_types)
            .where(WebhookEndpoint.active.is_(True))
            .order_by(WebhookEndpoint.id)
        )
        if event_type.value in (types or [])
    ]
    if endpoint_ids:
        session.execute(
            sa.insert(WebhookDelivery),
            [
                {
                    "endpoint_id": endpoint_id,
                    "event_id": inserted[resource_id],
                    "resource_type": resource_type,
                    "resource_id": resource_id,
                    "status": DeliveryStatus.PENDING,
                    "attempts": 0,
                    "due_at": now,
                    "created_at": now,
                }
                for resource_id in ids
                for endpoint_id in endpoint_ids
            ],
        )
    return [str(row["event_id"]) for row in rows]
