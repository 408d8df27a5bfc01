"""The audit trail: who changed what, and who opened which patient record.

- ``record``: writing it (:func:`record_event`, the actor, the append-only guard).
- ``trail``: reading it (search, paging, CSV export) for the admin page.
"""

from .record import (
    SYSTEM,
    Actor,
    AuditTrailIsAppendOnly,
    guard_append_only,
    record_event,
)

__all__ = ["SYSTEM", "Actor", "AuditTrailIsAppendOnly", "guard_append_only", "record_event"]
