"""The "Needs rebooking" worklist: sessions a change left breaking a hard rule.

``impact.settle`` records entries; an entry resolves itself when its session is cancelled
(or marked a no-show), or is judged again and breaks no rule any more (``refresh``: the
worklist page, the gates and every later change in its scope do it). A session with an open
entry cannot be checked in or started (``require_runnable``) unless a prescriber overrides
it with a written reason, which is audited.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from ..audit import Actor, record_event
from ..models import RELEASED_STATUSES, Appointment, RebookingEntry, StaffRole, User
from .errors import InvalidRequest, InvalidTransition, NotFound

if TYPE_CHECKING:
    from .impact import Affected

MAX_OVERRIDE_REASON = 300


class SessionNeedsRebooking(InvalidTransition):
    """The session breaks a hard rule since a change to the world; fix it first."""

    rule = "needs_rebooking"


def record(
    session: Session,
    broken: Iterable[Affected],
    *,
    change: str,
    actor: Actor,
    now: dt.datetime,
    judged: Collection[int],
) -> None:
    """Put ``broken`` onto the worklist (or update their reasons) and resolve the open
    entries of the other ``judged`` sessions: they break no rule any more."""
    broken = list(broken)
    ids = sorted(set(judged) | {item.appointment_id for item in broken})
    entries = open_entries(session, ids)
    added = 0
    for item in broken:
        reasons = "\n".join(item.reasons)
        entry = entries.pop(item.appointment_id, None)
        if entry is None:
            session.add(
                RebookingEntry(
                    appointment_id=item.appointment_id,
                    reasons=reasons,
                    change=change[:60],
                    created_at=now,
                    created_by_id=actor.user_id,
                )
            )
            added += 1
        elif entry.reasons != reasons:
            entry.reasons = reasons
            entry.change = change[:60]
            # An override answered the old reasons, not these.
            entry.override_reason = None
            entry.overridden_by_id = None
    for entry in entries.values():
        if entry.appointment_id in judged:
            _resolve(entry, "fixed", now)
    if added:
        record_event(
            session,
            actor,
            action="rebooking.add",
            entity_type="rebooking_entry",
            summary=f"{change}: {added} session(s) put on the needs-rebooking list",
        )


def open_entries(session: Session, appointment_ids: Iterable[int]) -> dict[int, RebookingEntry]:
    ids = sorted(set(appointment_ids))
    if not ids:
        return {}
    return {
        entry.appointment_id: entry
        for entry in session.scalars(
            sa.select(RebookingEntry).where(
                RebookingEntry.appointment_id.in_(ids), RebookingEntry.resolved_at.is_(None)
            )
        )
    }


def flagged(session: Session, appointment_ids: Iterable[int]) -> dict[int, RebookingEntry]:
    """The open entries of these sessions (for the day board and the session page)."""
    return open_entries(session, appointment_ids)


def _resolve(entry: RebookingEntry, resolution: str, now: dt.datetime) -> None:
    entry.resolved_at = now
    entry.resolution = resolution


def refresh(
    session: Session, *, now: dt.datetime, appointment_ids: Collection[int] | None = None
) -> list[RebookingEntry]:
    """Judge the open entries' sessions again (all, or these): the cancelled and the fixed
    resolve. Returns the entries still open, by start. The caller commits."""
    from .impact import NOT_STARTED, Scope, judge

    query = (
        sa.select(RebookingEntry)
        .join(Appointment, Appointment.id == RebookingEntry.appointment_id)
        .where(RebookingEntry.resolved_at.is_(None))
        .options(
            joinedload(RebookingEntry.appointment).options(
                joinedload(Appointment.patient),
                joinedload(Appointment.location),
                joinedload(Appointment.treatment_type),
                joinedload(Appointment.chair),
                joinedload(Appointment.monitor),
                joinedload(Appointment.prescriber),
            )
        )
        .order_by(Appointment.starts_at, Appointment.id)
    )
    if appointment_ids is not None:
        query = query.where(RebookingEntry.appointment_id.in_(sorted(appointment_ids)))
    entries = list(session.scalars(query).unique())
    still_open: list[RebookingEntry] = []
    judging: list[RebookingEntry] = []
    for entry in entries:
        status = entry.appointment.status
        if status in RELEASED_STATUSES:
            _resolve(entry, "cancelled", now)
        elif status not in NOT_STARTED or entry.appointment.busy_until <= now:
            _resolve(entry, "passed", now)
        else:
            judging.append(entry)
    if judging:
        judgement = judge(
            session, Scope(appointment_ids=[e.appointment_id for e in judging]), now=now
        )
        for entry in judging:
            affected = judgement.broken.get(entry.appointment_id)
            if affected is None:
                _resolve(entry, "fixed", now)
                continue
            reasons = "\n".join(affected.reasons)
            if entry.reasons != reasons:
                entry.reasons = reasons
                entry.override_reason = None
                entry.overridden_by_id = None
            still_open.append(entry)
    return still_open


def worklist(session: Session, *, now: dt.datetime) -> list[RebookingEntry]:
    """The open entries, each judged again first; commits what resolved."""
    entries = refresh(session, now=now)
    session.commit()
    return entries


def require_runnable(session: Session, appointment: Appointment, *, now: dt.datetime) -> None:
    """The gate: a session on the worklist is not checked in or started until it is fixed
    (judged again here) or a prescriber overrode it."""
    if not open_entries(session, [appointment.id]):
        return
    still = refresh(session, now=now, appointment_ids=[appointment.id])
    if not still or still[0].override_reason:
        return
    reasons = " ".join(still[0].reason_lines)
    raise SessionNeedsRebooking(
        "This session needs rebooking before it can go ahead: "
        f"{reasons} Fix it from the Needs rebooking list, or a prescriber may override it."
    )


def override(
    session: Session, *, appointment_id: int, reason: str, actor: Actor, now: dt.datetime
) -> RebookingEntry:
    """Let the session go ahead as it is: a prescriber's written, audited decision."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise InvalidRequest("Write why the session may go ahead as it is.")
    if len(reason) > MAX_OVERRIDE_REASON:
        raise InvalidRequest(f"The reason may be at most {MAX_OVERRIDE_REASON} characters.")
    user = session.get(User, actor.user_id) if actor.user_id is not None else None
    if user is None or user.staff is None or user.staff.role != StaffRole.PRESCRIBER:
        raise InvalidTransition("Only a prescriber can let a session that breaks a rule go ahead.")
    entry = open_entries(session, [appointment_id]).get(appointment_id)
    if entry is None:
        raise NotFound("This session is not on the Needs rebooking list.")
    entry.override_reason = reason
    entry.overridden_by_id = user.id
    record_event(
        session,
        actor,
        action="rebooking.override",
        entity_type="appointment",
        entity_id=appointment_id,
        patient_id=entry.appointment.patient_id,
        summary=f"appointment {appointment_id}: needs-rebooking entry {entry.id} overridden",
    )
    session.commit()
    return entry


def fix_by_reassigning(
    session: Session, *, appointment_id: int, actor: Actor, now: dt.datetime
) -> Appointment:
    """The one-click fix: the same time with another chair, monitor or prescriber where one
    is free (``booking.reassign``, which tells the patient and resolves the entry)."""
    from .booking import reassign

    if not open_entries(session, [appointment_id]):
        raise NotFound("This session is not on the Needs rebooking list.")
    return reassign(session, appointment_id=appointment_id, actor=actor, now=now)
