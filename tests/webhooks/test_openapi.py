"""The OpenAPI document states what the clinic sends: one webhook per event type, its
headers and the body's schema, which a real body meets."""

from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace

from clinic.webhooks import EventType
from clinic.webhooks.delivery import event_body
from clinic.webhooks.payload import WebhookPayload


def test_every_event_type_is_documented_with_its_signature_header_and_body(client):
    document = client.get("/api/v1/openapi.json").get_json()
    webhooks = document["webhooks"]
    assert set(webhooks) == {event.value for event in EventType}
    for name, item in webhooks.items():
        operation = item["post"]
        headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
        assert {"Clinic-Signature", "Clinic-Event-Id"} <= headers, name
        assert "HMAC-SHA256" in operation["description"]
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/WebhookPayload"}
    schemas = document["components"]["schemas"]
    assert set(schemas["EventType"]["enum"]) == {event.value for event in EventType}

    event = SimpleNamespace(
        event_id="6f1c2b8e-2f51-4c1e-9c7a-1d2e3f4a5b6c",
        type="waitlist.claimed",
        occurred_at=dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC),
        resource_type="waitlist_entry",
        resource_id=7,
        resource_version=1,
    )
    body = event_body(event)
    assert WebhookPayload.model_validate_json(body).resource.version == 1
    documented = schemas["WebhookPayload"]
    assert set(documented["required"]) == set(json.loads(body)) == set(documented["properties"])
    resource = schemas["WebhookResource"]
    assert set(resource["properties"]) == set(json.loads(body)["resource"])
