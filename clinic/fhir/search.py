"""The queries behind the FHIR interface: each search is a count and one page query (with
what the page shows joined in), however many rows match; the audit rows of a read are
written together in one flush.

Plain SQLAlchemy, no Flask: the views parse parameters into the arguments taken here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from ..audit import Actor, record_event
from ..models import (
    LIVE_STATUSES,
    Appointment,
    AppointmentStatus,
    AuditEvent,
    Chair,
    Location,
    Patient,
    Staff,
    TreatmentType,
)
from .mapping import MONITOR_ROLES
from .params import DateBound, Paging


@dataclass(frozen=True, slots=True)
class Page:
    total: int
    rows: Sequence[Any]


def _date_condition(column: Any, bound: DateBound, low: Any, high: Any) -> Any:
    inside = sa.and_(column >= low, column < high)
    return {
        "eq": inside,
        "ne": sa.not_(inside),
        "ge": column >= low,
        "gt": column >= high,
        "le": column < high,
        "lt": column < low,
    }[bound.prefix]


def _like_prefix(text: str) -> str:
    return text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _page(
    session: Session, statement: sa.Select[Any], order: Sequence[Any], paging: Paging
) -> Page:
    total = session.scalar(sa.select(sa.func.count()).select_from(statement.subquery())) or 0
    if paging.count == 0 or paging.offset >= total:
        return Page(total=total, rows=[])
    rows = session.scalars(statement.order_by(*order).offset(paging.offset).limit(paging.count))
    return Page(total=total, rows=list(rows.unique()))


# --- Patient ------------------------------------------------------------------------------


def search_patients(
    session: Session,
    *,
    identifiers: Sequence[Sequence[str]] = (),
    names: Sequence[Sequence[str]] = (),
    birthdates: Sequence[DateBound] = (),
    active: bool | None = None,
    ids: Sequence[int] | None = None,
    paging: Paging,
) -> Page:
    """Each inner sequence is one parameter's comma-separated values (OR); the parameters
    and their repetitions combine with AND, as FHIR search does.

    ``identifier`` is the MRN, matched whole and ignoring case; each word of a ``name``
    must start a given or a family name; ``birthdate`` compares the date of birth.
    """
    conditions: list[Any] = []
    for options in identifiers:
        conditions.append(sa.func.lower(Patient.mrn).in_([mrn.lower() for mrn in options]))
    for options in names:
        alternatives = []
        for option in options:
            words = option.split()[:6] or [""]
            alternatives.append(
                sa.and_(
                    *(
                        sa.or_(
                            sa.func.lower(Patient.given_name).like(_like_prefix(w), escape="\\"),
                            sa.func.lower(Patient.family_name).like(_like_prefix(w), escape="\\"),
                        )
                        for w in words
                    )
                )
            )
        conditions.append(sa.or_(*alternatives))
    for bound in birthdates:
        conditions.append(_date_condition(Patient.date_of_birth, bound, bound.low, bound.high))
    if active is not None:
        conditions.append(Patient.active.is_(active))
    if ids is not None:
        conditions.append(Patient.id.in_(ids))
    statement = sa.select(Patient).where(*conditions)
    return _page(session, statement, (Patient.family_name, Patient.given_name, Patient.id), paging)


def get_patient(session: Session, patient_id: int) -> Patient | None:
    return session.get(Patient, patient_id)


# --- Appointment --------------------------------------------------------------------------


def _appointment_statement() -> sa.Select[Any]:
    return sa.select(Appointment).options(
        joinedload(Appointment.treatment_type),
        joinedload(Appointment.location),
        joinedload(Appointment.chair),
        joinedload(Appointment.monitor),
    )


def location_zones(session: Session) -> list[tuple[int, ZoneInfo]]:
    return [
        (location_id, ZoneInfo(timezone))
        for location_id, timezone in session.execute(sa.select(Location.id, Location.timezone))
    ]


def search_appointments(
    session: Session,
    *,
    patient_ids: Sequence[Sequence[int]] = (),
    dates: Sequence[DateBound] = (),
    statuses: Sequence[frozenset[AppointmentStatus]] = (),
    location_ids: Sequence[Sequence[int]] = (),
    ids: Sequence[int] | None = None,
    paging: Paging,
) -> Page:
    """``date`` compares the start; a date without a time is a local date of the session's
    own location (a day in New York is not a day in Denver)."""
    conditions: list[Any] = []
    for options in patient_ids:
        conditions.append(Appointment.patient_id.in_(options))
    for options in location_ids:
        conditions.append(Appointment.location_id.in_(options))
    for allowed in statuses:
        conditions.append(Appointment.status.in_(sorted(allowed)))
    zones = location_zones(session) if any(b.is_local for b in dates) else []
    for bound in dates:
        if bound.is_local:
            per_location = [
                sa.and_(
                    Appointment.location_id == location_id,
                    _date_condition(Appointment.starts_at, bound, *bound.instants(tz)),
                )
                for location_id, tz in zones
            ]
            conditions.append(sa.or_(sa.false(), *per_location))
        else:
            conditions.append(
                _date_condition(Appointment.starts_at, bound, *bound.instants(ZoneInfo("UTC")))
            )
    if ids is not None:
        conditions.append(Appointment.id.in_(ids))
    statement = _appointment_statement().where(*conditions)
    return _page(session, statement, (Appointment.starts_at, Appointment.id), paging)


def get_appointment(session: Session, appointment_id: int) -> Appointment | None:
    return session.scalars(
        _appointment_statement().where(Appointment.id == appointment_id)
    ).one_or_none()


# --- Schedule and busy time ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScheduleSources:
    """Everything the Schedule resources are built from, in three queries."""

    chairs: list[Chair]
    monitors: list[Staff]
    treatment_types: list[TreatmentType]


def schedule_sources(
    session: Session,
    *,
    chair_ids: Sequence[int] | None = None,
    staff_ids: Sequence[int] | None = None,
) -> ScheduleSources:
    chair_query = sa.select(Chair).options(joinedload(Chair.location)).order_by(Chair.id)
    staff_query = sa.select(Staff).where(Staff.role.in_(sorted(MONITOR_ROLES))).order_by(Staff.id)
    if chair_ids is not None:
        chair_query = chair_query.where(Chair.id.in_(chair_ids))
    if staff_ids is not None:
        staff_query = staff_query.where(Staff.id.in_(staff_ids))
    chairs = list(session.scalars(chair_query)) if chair_ids != [] else []
    monitors = list(session.scalars(staff_query)) if staff_ids != [] else []
    treatment_types = list(session.scalars(sa.select(TreatmentType).order_by(TreatmentType.id)))
    return ScheduleSources(chairs=chairs, monitors=monitors, treatment_types=treatment_types)


def active_locations(session: Session) -> list[Location]:
    return list(session.scalars(sa.select(Location).where(Location.active).order_by(Location.id)))


def busy_appointments(
    session: Session,
    *,
    start: dt.datetime,
    end: dt.datetime,
    chair_id: int | None = None,
    monitor_id: int | None = None,
    treatment_type_id: int | None = None,
) -> list[Appointment]:
    """Live sessions that start in ``[start, end)``: the chair's and monitor's busy time."""
    statement = (
        sa.select(Appointment)
        .options(
            joinedload(Appointment.chair),
            joinedload(Appointment.monitor),
            joinedload(Appointment.location),
            joinedload(Appointment.treatment_type),
        )
        .where(
            Appointment.status.in_(sorted(LIVE_STATUSES)),
            Appointment.starts_at >= start,
            Appointment.starts_at < end,
        )
        .order_by(Appointment.starts_at, Appointment.id)
    )
    if chair_id is not None:
        statement = statement.where(Appointment.chair_id == chair_id)
    if monitor_id is not None:
        statement = statement.where(Appointment.monitor_id == monitor_id)
    if treatment_type_id is not None:
        statement = statement.where(Appointment.treatment_type_id == treatment_type_id)
    return list(session.scalars(statement))


# --- Audit --------------------------------------------------------------------------------


def record_reads(
    session: Session,
    actor: Actor,
    *,
    patients: Sequence[Patient] = (),
    appointments: Sequence[Appointment] = (),
    interaction: str,
) -> None:
    """One audit row per patient record and per appointment disclosed, as a page view is
    (ids only); a search discloses what a read does, so it is audited the same way.

    The rows are made by :func:`record_event` (the one definition of an audit row) and
    written in one executemany INSERT: the ORM's unit of work would send one INSERT per
    row on SQLite, which it cannot batch without a sentinel column. Committed here.
    """
    events = [
        record_event(
            session,
            actor,
            action="patient.view",
            entity_type="patient",
            entity_id=patient.id,
            patient_id=patient.id,
            summary=f"patient {patient.id} record read over FHIR ({interaction})",
        )
        for patient in patients
    ]
    events += [
        record_event(
            session,
            actor,
            action="appointment.view",
            entity_type="appointment",
            entity_id=appointment.id,
            patient_id=appointment.patient_id,
            summary=f"appointment {appointment.id} read over FHIR ({interaction})",
        )
        for appointment in appointments
    ]
    if not events:
        return
    columns = [c.key for c in AuditEvent.__table__.columns if c.key not in ("id", "at")]
    rows = []
    for event in events:
        session.expunge(event)
        rows.append({key: getattr(event, key) for key in columns})
    session.execute(sa.insert(AuditEvent), rows)
    session.commit()
