"""Reading the audit trail: search by user, patient, action and date, page by page or all
at once as CSV. Plain Python; the admin page (``clinic.web.audit``) calls it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..models import AuditEvent, User

EXPORT_BATCH = 500
# Cells a spreadsheet would run as a formula ("=HYPERLINK(...)"): defused with a quote
# (OWASP "CSV Injection"). A spreadsheet set to split on ";" (most of Europe) or tabs sees a
# new cell after each separator inside ours, so a trigger there is defused as well.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_TRIGGER_AFTER_SEPARATOR = re.compile(r"([,;\t\r\n|][\s\"']*)([=+\-@])")


@dataclass(frozen=True, slots=True)
class AuditQuery:
    username: str | None = None  # exact, ignoring case
    patient_id: int | None = None
    action: str | None = None  # a prefix: "auth." or "appointment.cancel"
    start: dt.datetime | None = None  # inclusive
    end: dt.datetime | None = None  # exclusive

    def conditions(self) -> list[sa.ColumnElement[bool]]:
        conditions: list[sa.ColumnElement[bool]] = []
        if self.username:
            conditions.append(sa.func.lower(AuditEvent.username) == self.username.lower())
        if self.patient_id is not None:
            conditions.append(AuditEvent.patient_id == self.patient_id)
        if self.action:
            escaped = self.action.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            conditions.append(AuditEvent.action.like(f"{escaped}%", escape="\\"))
        if self.start is not None:
            conditions.append(AuditEvent.at >= self.start)
        if self.end is not None:
            conditions.append(AuditEvent.at < self.end)
        return conditions

    def describe(self) -> str:
        """The filters in ids and dates only, for the audit row that records an export."""
        parts = [
            f"user={self.username}" if self.username else "",
            f"patient={self.patient_id}" if self.patient_id is not None else "",
            f"action={self.action}" if self.action else "",
            f"from={self.start.isoformat()}" if self.start else "",
            f"to={self.end.isoformat()}" if self.end else "",
        ]
        return " ".join(part for part in parts if part) or "all"


@dataclass(frozen=True, slots=True)
class AuditPage:
    events: list[AuditEvent]
    total: int
    # Pass as ``before_id`` for the next (older) page; None on the last page.
    next_before_id: int | None


def known_usernames(session: Session) -> list[str]:
    return list(session.scalars(sa.select(User.username).order_by(User.username)).all())


def day_range(
    first: dt.date | None, last: dt.date | None, tz: ZoneInfo
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """Local calendar days ``first``..``last`` (inclusive) as a UTC [start, end) range."""
    start = dt.datetime.combine(first, dt.time(), tzinfo=tz).astimezone(dt.UTC) if first else None
    end = (
        dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=tz).astimezone(dt.UTC)
        if last and last < dt.date.max
        else None
    )
    return start, end


def search_audit(
    session: Session, *, query: AuditQuery, limit: int = 100, before_id: int | None = None
) -> AuditPage:
    """Newest first, ``limit`` rows older than ``before_id``; two queries."""
    conditions = query.conditions()
    total = session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(*conditions))
    page_conditions = list(conditions)
    if before_id is not None:
        page_conditions.append(AuditEvent.id < before_id)
    events = list(
        session.scalars(
            sa.select(AuditEvent)
            .where(*page_conditions)
            .order_by(AuditEvent.id.desc())
            .limit(limit + 1)
        ).all()
    )
    has_more = len(events) > limit
    events = events[:limit]
    return AuditPage(
        events=events,
        total=int(total or 0),
        next_before_id=events[-1].id if has_more and events else None,
    )


def iter_audit(session: Session, *, query: AuditQuery) -> Iterator[sa.Row[tuple[object, ...]]]:
    """Every matching row, newest first, in batches (keyset paging; plain rows, not ORM
    objects, so memory stays flat however long the trail)."""
    columns = [AuditEvent.__table__.c[name] for name in EXPORT_COLUMNS]
    before_id: int | None = None
    while True:
        conditions = query.conditions()
        if before_id is not None:
            conditions.append(AuditEvent.id < before_id)
        batch = session.execute(
            sa.select(*columns)
            .where(*conditions)
            .order_by(AuditEvent.id.desc())
            .limit(EXPORT_BATCH)
        ).all()
        yield from batch
        if len(batch) < EXPORT_BATCH:
            return
        before_id = batch[-1].id


EXPORT_COLUMNS = (
    "id",
    "at",
    "user_id",
    "username",
    "action",
    "entity_type",
    "entity_id",
    "patient_id",
    "summary",
    "source_address",
)


CSV_HEADER = [
    "id",
    "at_utc",
    "at_local",
    "user_id",
    "username",
    "action",
    "entity_type",
    "entity_id",
    "patient_id",
    "summary",
    "source_address",
]


def csv_row(event: AuditEvent | sa.Row[tuple[object, ...]], tz: ZoneInfo) -> list[str]:
    values = [
        str(event.id),
        event.at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        event.at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %Z"),
        "" if event.user_id is None else str(event.user_id),
        event.username or "",
        event.action,
        event.entity_type,
        event.entity_id or "",
        "" if event.patient_id is None else str(event.patient_id),
        event.summary or "",
        event.source_address or "",
    ]
    return [defuse_formula(value) for value in values]


def defuse_formula(value: str) -> str:
    """``value`` with a ``'`` before every formula trigger a spreadsheet could see starting a
    cell, whatever separator it splits on. Writers must also quote every field
    (``csv.QUOTE_ALL``), so a separator inside a cell does not end it for a reader that
    uses the same separator."""
    value = _TRIGGER_AFTER_SEPARATOR.sub(r"\1'\2", value)
    return "'" + value if value.lstrip(' "').startswith(FORMULA_STARTS) else value
