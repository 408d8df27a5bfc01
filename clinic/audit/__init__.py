"""The audit trail: who changed what, and who opened which patient record.

- ``record``: writing it (:func:`record_event`, the actor, the append-only guard, and
  :func:`record_audit_export`, the service behind the CSV export).
- ``trail``: reading it (search, paging, CSV rows) for the admin page: the query module.
"""

from .record import (
    SYSTEM,
    Actor,
    AuditTrailIsAppendOnly,
    guard_append_only,
    record_audit_export,
    record_event,
)

__all__ = [
    "SYSTEM",
    "Actor",
    "AuditTrailIsAppendOnly",
    "guard_append_only",
    "record_audit_export",
    "record_event",
]
