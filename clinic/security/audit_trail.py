"""The audit trail's reading side: moved to ``clinic.audit.trail``; the old names, re-exported."""

# shim: removed at merge
from ..audit.record import AuditTrailIsAppendOnly, guard_append_only  # noqa: F401
from ..audit.trail import (  # noqa: F401
    CSV_HEADER,
    EXPORT_BATCH,
    EXPORT_COLUMNS,
    FORMULA_STARTS,
    AuditPage,
    AuditQuery,
    csv_row,
    day_range,
    defuse_formula,
    iter_audit,
    known_usernames,
    search_audit,
)
from ..setup.queries import display_timezone  # noqa: F401
