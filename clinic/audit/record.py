"""Writing the audit trail. Plain Python: services call :func:`record_event` inside their own
transaction, so a change and its audit row commit together or not at all; the one use case
that is nothing but an audit row (exporting the trail) is :func:`record_audit_export`.

The trail is append-only: nothing in the app updates or deletes a row. The ORM refuses to
flush such a change (:func:`guard_append_only`, on both backends) and PostgreSQL refuses it
in SQL too (a trigger in the initial migration).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..models import AuditEvent
from .trail import AuditQuery


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting: a logged-in user, an API token's user, or the system (CLI, jobs)."""

    user_id: int | None
    username: str
    source_address: str | None = None


SYSTEM = Actor(user_id=None, username="system")


def record_event(
    session: Session,
    actor: Actor,
    *,
    action: str,
    entity_type: str,
    entity_id: int | str | None = None,
    patient_id: int | None = None,
    summary: str = "",
) -> AuditEvent:
    """Add an audit row to the session (the caller commits).

    ``summary`` must hold identifiers and field names only, never clinical detail or
    patient names: the trail is read by admins who need not see the record itself.
    """
    event = AuditEvent(
        user_id=actor.user_id,
        username=actor.username,
        source_address=actor.source_address,
        action=action,
        entity_type=entity_type,
        entity_id=None if entity_id is None else str(entity_id),
        patient_id=patient_id,
        summary=summary[:300],
    )
    session.add(event)
    return event


def record_audit_export(
    session: Session, *, actor: Actor, query: AuditQuery, now: dt.datetime
) -> AuditEvent:
    """Note that ``actor`` exported the trail with these filters, and commit.

    An export is itself a disclosure worth knowing about; it is committed before the first
    row is sent, so an export cut off half way is still on record.
    """
    event = record_event(
        session,
        actor,
        action="audit.export",
        entity_type="audit_event",
        patient_id=query.patient_id,
        summary=query.describe(),
    )
    event.at = now
    session.commit()
    return event


class AuditTrailIsAppendOnly(RuntimeError):
    """Code tried to change or delete an audit row."""


def refuse_audit_changes(session: Session, _context: object, _instances: object) -> None:
    for instance in (*session.dirty, *session.deleted):
        if isinstance(instance, AuditEvent) and (
            instance in session.deleted or session.is_modified(instance)
        ):
            raise AuditTrailIsAppendOnly("audit_event rows cannot be changed or deleted")


def guard_append_only() -> None:
    """Refuse, for every ORM session in the process, to flush a changed or deleted audit row."""
    if not sa.event.contains(Session, "before_flush", refuse_audit_changes):
        sa.event.listen(Session, "before_flush", refuse_audit_changes)
