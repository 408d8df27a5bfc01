"""The outbox as staff see it: listing notifications with filters, retrying a failed one."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from ..audit import Actor, record_event
from ..models import (
    Appointment,
    Channel,
    Notification,
    NotificationKind,
    NotificationStatus,
)
from .errors import NotFound, NotifyError

PAGE_SIZE = 100


@dataclass(frozen=True, slots=True)
class NotificationFilter:
    status: NotificationStatus | None = None
    kind: NotificationKind | None = None
    channel: Channel | None = None
    due_from: dt.datetime | None = None  # inclusive
    due_until: dt.datetime | None = None  # exclusive


@dataclass(frozen=True, slots=True)
class NotificationPage:
    notifications: list[Notification]
    total: int
    page: int
    pages: int
    counts: dict[NotificationStatus, int]  # per status, ignoring the status filter


def _conditions(
    filters: NotificationFilter, *, with_status: bool = True
) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    if with_status and filters.status is not None:
        conditions.append(Notification.status == filters.status)
    if filters.kind is not None:
        conditions.append(Notification.kind == filters.kind)
    if filters.channel is not None:
        conditions.append(Notification.channel == filters.channel)
    if filters.due_from is not None:
        conditions.append(Notification.due_at >= filters.due_from)
    if filters.due_until is not None:
        conditions.append(Notification.due_at < filters.due_until)
    return conditions


def list_notifications(
    session: Session, *, filters: NotificationFilter, page: int = 1, page_size: int = PAGE_SIZE
) -> NotificationPage:
    """Newest due first. Three queries for the rows, plus one each for totals and counts."""
    conditions = _conditions(filters)
    total = (
        session.scalar(sa.select(sa.func.count()).select_from(Notification).where(*conditions)) or 0
    )
    pages = max(1, -(-total // page_size))
    page = min(max(page, 1), pages)
    rows = session.scalars(
        sa.select(Notification)
        .where(*conditions)
        .order_by(Notification.due_at.desc(), Notification.id.desc())
        .limit(page_size)
        .offset((page - 1) * page_size)
        .options(
            selectinload(Notification.appointment).options(
                selectinload(Appointment.patient), selectinload(Appointment.location)
            )
        )
    ).all()
    counts = {
        NotificationStatus(status): count
        for status, count in session.execute(
            sa.select(Notification.status, sa.func.count())
            .where(*_conditions(filters, with_status=False))
            .group_by(Notification.status)
        )
    }
    return NotificationPage(list(rows), total, page, pages, counts)


def retry_notification(
    session: Session, *, notification_id: int, actor: Actor, now: dt.datetime
) -> Notification:
    """Put a failed message back in the queue, due now, with a fresh set of attempts. It
    keeps its Message-ID, so the patient's mail client sees the same message."""
    notification = session.get(Notification, notification_id)
    if notification is None:
        raise NotFound("That message could not be found. Reload the page and try again.")
    if notification.status is not NotificationStatus.FAILED:
        raise NotifyError(
            f"Only failed messages can be retried; this one is {notification.status.value}."
        )
    appointment = notification.appointment
    if notification.kind is NotificationKind.REMINDER and (
        not appointment.is_live or appointment.starts_at <= now
    ):
        raise NotifyError("This reminder is for a session that is over or no longer booked.")
    notification.status = NotificationStatus.PENDING
    notification.due_at = now
    notification.attempts = 0
    notification.claimed_at = None
    notification.claimed_by = None
    record_event(
        session,
        actor,
        action="notification.retry",
        entity_type="notification",
        entity_id=notification.id,
        patient_id=appointment.patient_id,
        summary=f"notification {notification.id} queued again",
    )
    session.commit()
    return notification
