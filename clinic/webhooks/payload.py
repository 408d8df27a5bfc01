"""The webhook body and headers as the OpenAPI document states them (``webhooks`` section).

``clinic.webhooks.delivery.event_body`` writes exactly this shape; a test checks one against
the other.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .events import EVENT_LABELS, EventType, ResourceType
from .signing import SIGNATURE_HEADER


class WebhookResource(BaseModel):
    model_config = ConfigDict(title="WebhookResource", extra="forbid")

    type: ResourceType = Field(description="What kind of record changed.")
    id: int = Field(
        description="Its id: the same as in the JSON API and the FHIR interface "
        "(e.g. `GET /fhir/R4/Appointment/{id}`, `GET /api/v1/appointments/{id}`)."
    )
    version: int = Field(
        ge=1,
        description="Counts the events of this record, from 1. Keep the highest version "
        "seen per record and ignore an event with a lower one (a delivery sent again).",
    )


class WebhookPayload(BaseModel):
    model_config = ConfigDict(title="WebhookPayload", extra="forbid")

    id: str = Field(
        description="The event's id (a UUID): the same at every attempt. Deduplicate on it: "
        "delivery is at least once."
    )
    type: EventType = Field(description="What happened.")
    occurred_at: dt.datetime = Field(description="When the change was saved (UTC).")
    resource: WebhookResource


DESCRIPTION = f"""\
Sent as `POST` with a JSON body to each endpoint an administrator registered for this event
type (Admin → Webhooks). The body names the record and nothing else: read its details from
the API or the FHIR interface with a token of your own.

**Verify** the `{SIGNATURE_HEADER}` header, `t=<unix seconds>,v1=<hex>`: compute
HMAC-SHA256 with the endpoint's secret over `<t>.<raw body bytes>`, compare it with `v1` in
constant time, and refuse a `t` more than 5 minutes from your clock.

**Answer** any `2xx` within 10 seconds to acknowledge. Anything else (another status, a
redirect, a timeout) is retried with a backoff that doubles from 30 s, up to 8 attempts
(the defaults; see `[webhooks]` in the configuration);
events of one record are delivered in order, a later one waiting while an earlier one is
retried. Delivery is at least once: the same event may come again with the same `id`.
"""

HEADERS: dict[str, dict[str, Any]] = {
    SIGNATURE_HEADER: {
        "description": '`t=<unix seconds>,v1=<HMAC-SHA256 hex of "<t>.<body>">`.',
        "example": "t=1772452800,v1=" + "5257a869e7ecebed" * 4,
    },
    "Clinic-Event-Id": {"description": "The event's id, as in the body."},
    "Clinic-Event-Type": {"description": "The event's type, as in the body."},
    "Clinic-Delivery-Attempt": {"description": "1 for the first attempt, then 2, 3, ..."},
}


def webhooks_section(payload_schema: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI 3.1 ``webhooks`` object: one entry per event type."""
    section: dict[str, Any] = {}
    for event_type in EventType:
        section[event_type.value] = {
            "post": {
                "operationId": "webhook_" + event_type.value.replace(".", "_"),
                "summary": EVENT_LABELS[event_type],
                "description": DESCRIPTION
                + f"\n\nResource type: `{event_type.resource_type.value}`.",
                "tags": ["Webhooks"],
                "security": [],
                "parameters": [
                    {
                        "name": name,
                        "in": "header",
                        "required": True,
                        "description": header["description"],
                        "schema": {"type": "string"},
                        **({"example": header["example"]} if "example" in header else {}),
                    }
                    for name, header in HEADERS.items()
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": payload_schema}},
                },
                "responses": {
                    "2XX": {"description": "Received; the delivery is done."},
                    "default": {"description": "Not received; the delivery is retried."},
                },
            }
        }
    return section
