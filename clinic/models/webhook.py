"""Webhooks: the endpoints an admin registered, the events the app emitted, and the delivery
of each event to each endpoint that asked for its type (the webhook outbox)."""

from __future__ import annotations

import datetime as dt
import enum
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, enum_column, utcnow


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(80))
    url: Mapped[str] = mapped_column(sa.String(500))
    # The signing secret, encrypted with a key derived from SECRET_KEY (clinic.webhooks.secrets).
    secret_encrypted: Mapped[str] = mapped_column(sa.String(500))
    # The secret's first characters, so an admin can tell which one the receiver has.
    secret_hint: Mapped[str] = mapped_column(sa.String(16))
    # The event types (clinic.webhooks.events.EventType values) it receives.
    event_types: Mapped[list[str]] = mapped_column(sa.JSON)
    active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


def new_event_id() -> str:
    return str(uuid.uuid4())


class WebhookEvent(Base):
    """One change worth telling integrations about. ``resource_version`` counts the events of
    its resource (1, 2, ...): a receiver keeps the highest it has seen and ignores older ones."""

    __tablename__ = "webhook_event"
    __table_args__ = (
        sa.UniqueConstraint(
            "resource_type", "resource_id", "resource_version", name="uq_webhook_event_version"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(sa.String(36), unique=True, default=new_event_id)
    type: Mapped[str] = mapped_column(sa.String(40))
    resource_type: Mapped[str] = mapped_column(sa.String(40))
    resource_id: Mapped[int]
    resource_version: Mapped[int]
    occurred_at: Mapped[dt.datetime]


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by a worker; returns to pending if the claim goes stale
    DELIVERED = "delivered"
    FAILED = "failed"  # out of attempts; "send again" puts it back in the queue


class WebhookDelivery(Base):
    __tablename__ = "webhook_delivery"
    __table_args__ = (
        sa.UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_delivery_endpoint_event"),
        sa.Index("ix_webhook_delivery_status_due", "status", "due_at"),
        # The order check: is an earlier delivery of this resource to this endpoint open?
        sa.Index(
            "ix_webhook_delivery_resource", "endpoint_id", "resource_type", "resource_id", "id"
        ),
        sa.CheckConstraint("attempts >= 0", name="attempts_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(
        sa.ForeignKey("webhook_endpoint.id", ondelete="CASCADE")
    )
    event_id: Mapped[int] = mapped_column(
        sa.ForeignKey("webhook_event.id", ondelete="CASCADE"), index=True
    )
    # Copied from the event so the order check needs no join.
    resource_type: Mapped[str] = mapped_column(sa.String(40))
    resource_id: Mapped[int]
    status: Mapped[DeliveryStatus] = mapped_column(
        enum_column(DeliveryStatus), default=DeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    due_at: Mapped[dt.datetime]
    claimed_at: Mapped[dt.datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(sa.String(100))
    last_attempt_at: Mapped[dt.datetime | None]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(sa.String(300))
    delivered_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    endpoint: Mapped[WebhookEndpoint] = relationship()
    event: Mapped[WebhookEvent] = relationship()


class WebhookAttempt(Base):
    """One try at a delivery, kept for the delivery log: when, and what the receiver said."""

    __tablename__ = "webhook_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        sa.ForeignKey("webhook_delivery.id", ondelete="CASCADE"), index=True
    )
    attempt: Mapped[int]
    at: Mapped[dt.datetime]
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(sa.String(300))
    duration_ms: Mapped[int]
