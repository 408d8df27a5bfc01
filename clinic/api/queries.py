"""Read-only lookups the API lists and reads records with: one or two bulk queries each.

No rules live here (those are in the services); only which rows to return, eagerly loaded so
that serialising a list never runs a query per row.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from ..models import (
    RELEASED_STATUSES,
    Appointment,
    Chair,
    Location,
    Protocol,
    Series,
    Staff,
    StaffRole,
    TreatmentType,
)
from ..scheduling.shifts import local_instant


def locations(
    session: Session, *, include_inactive: bool = False, location_id: int | None = None
) -> list[Location]:
    """Locations with their opening hours and closure days."""
    query = (
        sa.select(Location)
        .options(selectinload(Location.opening_hours), selectinload(Location.closures))
        .order_by(Location.name, Location.id)
    )
    if location_id is not None:
        query = query.where(Location.id == location_id)
    elif not include_inactive:
        query = query.where(Location.active)
    return list(session.scalars(query))


def chairs(
    session: Session,
    *,
    location_id: int | None = None,
    include_inactive: bool = False,
    chair_id: int | None = None,
) -> list[Chair]:
    query = sa.select(Chair).order_by(Chair.location_id, Chair.label, Chair.id)
    if chair_id is not None:
        return list(session.scalars(query.where(Chair.id == chair_id)))
    if location_id is not None:
        query = query.where(Chair.location_id == location_id)
    if not include_inactive:
        query = query.where(Chair.active)
    return list(session.scalars(query))


def staff(
    session: Session,
    *,
    role: StaffRole | None = None,
    include_inactive: bool = False,
    staff_id: int | None = None,
) -> list[Staff]:
    query = (
        sa.select(Staff).options(selectinload(Staff.certifications)).order_by(Staff.name, Staff.id)
    )
    if staff_id is not None:
        return list(session.scalars(query.where(Staff.id == staff_id)))
    if role is not None:
        query = query.where(Staff.role == role)
    if not include_inactive:
        query = query.where(Staff.active)
    return list(session.scalars(query))


def treatment_types(
    session: Session, *, include_inactive: bool = False, treatment_type_id: int | None = None
) -> list[TreatmentType]:
    query = sa.select(TreatmentType).order_by(TreatmentType.name, TreatmentType.id)
    if treatment_type_id is not None:
        return list(session.scalars(query.where(TreatmentType.id == treatment_type_id)))
    if not include_inactive:
        query = query.where(TreatmentType.active)
    return list(session.scalars(query))


def protocols(
    session: Session,
    *,
    treatment_type_id: int | None = None,
    include_inactive: bool = False,
    protocol_id: int | None = None,
) -> list[Protocol]:
    query = sa.select(Protocol).order_by(Protocol.name, Protocol.id)
    if protocol_id is not None:
        return list(session.scalars(query.where(Protocol.id == protocol_id)))
    if treatment_type_id is not None:
        query = query.where(Protocol.treatment_type_id == treatment_type_id)
    if not include_inactive:
        query = query.where(Protocol.active)
    return list(session.scalars(query))


def appointment(session: Session, appointment_id: int) -> Appointment | None:
    return session.get(Appointment, appointment_id)


def series(session: Session, series_id: int) -> Series | None:
    """A series with its sessions (two queries)."""
    return session.scalars(
        sa.select(Series).where(Series.id == series_id).options(selectinload(Series.appointments))
    ).one_or_none()


def appointments(
    session: Session,
    *,
    now: dt.datetime,
    day: dt.date | None = None,
    location_id: int | None = None,
    patient_id: int | None = None,
    include_released: bool = True,
    limit: int = 200,
) -> list[Appointment]:
    """Sessions on a local day, or from now on when no day is given, by start.

    A day is a wall-clock day at each session's location, so a query for 2 March finds the
    evening sessions of a west-coast site too. One query for the locations' time zones, one
    for the sessions.
    """
    query = sa.select(Appointment).order_by(Appointment.starts_at, Appointment.id).limit(limit)
    if location_id is not None:
        query = query.where(Appointment.location_id == location_id)
    if patient_id is not None:
        query = query.where(Appointment.patient_id == patient_id)
    if not include_released:
        query = query.where(Appointment.status.not_in(list(RELEASED_STATUSES)))
    if day is None:
        query = query.where(Appointment.ends_at >= now)
    else:
        zones = session.execute(
            sa.select(Location.id, Location.timezone).where(
                sa.true() if location_id is None else Location.id == location_id
            )
        ).all()
        windows = []
        for zone_location_id, timezone in zones:
            tz = ZoneInfo(timezone)
            start = local_instant(day, dt.time(0), tz)
            end = local_instant(day + dt.timedelta(days=1), dt.time(0), tz)
            windows.append(
                sa.and_(
                    Appointment.location_id == zone_location_id,
                    Appointment.starts_at >= start,
                    Appointment.starts_at < end,
                )
            )
        if not windows:
            return []
        query = query.where(sa.or_(*windows))
    return list(session.scalars(query))
