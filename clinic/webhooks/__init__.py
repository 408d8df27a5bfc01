"""Webhooks: signed notices to integrations (EHR, billing, a patient app) that something
changed, written to an outbox in the transaction of the change and delivered in order per
resource by the workers.

- ``events``: the event types and ``emit``, the one call a service makes after a change;
- ``delivery``: the worker side (claim, sign, POST, retry with backoff);
- ``addresses``: where a webhook may go (https, public addresses; DNS rebinding);
- ``signing``: the endpoint secrets (encrypted at rest) and the signature header;
- ``endpoints``: the admin's use cases and the delivery log;
- ``payload``: the body's schema, for the OpenAPI document.
"""

from .events import EventType, ResourceType, emit

__all__ = ["EventType", "ResourceType", "emit"]
