"""What the admin pages read: lists and single records with what they show, in bulk.

The single look-ups (``get_chair``, ...) raise :class:`SetupNotFound` for an id that names
nothing, which the web layer answers with a 404 page."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from typing import TypeVar
from zoneinfo import ZoneInfo, available_timezones

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload, selectinload

from ..models import (
    CERTIFICATION_WARNING_DAYS,
    Certification,
    Chair,
    ChairBlock,
    Closure,
    Location,
    Protocol,
    ShiftTemplate,
    Staff,
    TimeOff,
    TreatmentType,
    User,
)
from .common import SetupNotFound

T = TypeVar("T")


def _get(session: Session, model: type[T], row_id: int, what: str) -> T:
    row = session.get(model, row_id)
    if row is None:
        raise SetupNotFound(f"There is no {what} with id {row_id}.")
    return row


def active_locations(session: Session) -> list[Location]:
    """Active locations by name (the home page lists each with its local day)."""
    return list(session.scalars(sa.select(Location).where(Location.active).order_by(Location.name)))


def get_chair(session: Session, *, chair_id: int) -> Chair:
    return _get(session, Chair, chair_id, "chair")


def get_staff(session: Session, *, staff_id: int) -> Staff:
    return _get(session, Staff, staff_id, "staff member")


def get_certification(session: Session, *, certification_id: int) -> Certification:
    return _get(session, Certification, certification_id, "certification")


def get_treatment_type(session: Session, *, treatment_type_id: int) -> TreatmentType:
    return _get(session, TreatmentType, treatment_type_id, "treatment type")


def get_protocol(session: Session, *, protocol_id: int) -> Protocol:
    return _get(session, Protocol, protocol_id, "protocol")


def display_timezone(session: Session) -> ZoneInfo:
    """The clinic's wall clock for pages that span locations (the outbox, the audit trail):
    the first active location's time zone, UTC when there is none."""
    name = session.scalar(
        sa.select(Location.timezone).where(Location.active).order_by(Location.id).limit(1)
    )
    return ZoneInfo(name or "UTC")


@cache
def timezone_names() -> list[str]:
    return sorted(name for name in available_timezones() if "/" in name and "Etc" not in name)


@dataclass(frozen=True, slots=True)
class Overview:
    locations: int
    chairs: int
    staff: int
    treatment_types: int
    protocols: int
    users: int
    expiring: list[Certification]


def overview(session: Session, *, today: dt.date) -> Overview:
    def count(model: type, *where: sa.ColumnExpressionArgument[bool]) -> int:
        return int(session.scalar(sa.select(sa.func.count()).select_from(model).where(*where)) or 0)

    expiring = list(
        session.scalars(
            sa.select(Certification)
            .join(Staff)
            .where(
                Staff.active,
                Certification.expires_on <= today + dt.timedelta(days=CERTIFICATION_WARNING_DAYS),
            )
            .options(joinedload(Certification.staff))
            .order_by(Certification.expires_on)
        )
    )
    return Overview(
        locations=count(Location),
        chairs=count(Chair, Chair.active),
        staff=count(Staff, Staff.active),
        treatment_types=count(TreatmentType, TreatmentType.active),
        protocols=count(Protocol, Protocol.active),
        users=count(User, User.active),
        expiring=expiring,
    )


def all_locations(session: Session) -> list[Location]:
    return list(
        session.scalars(
            sa.select(Location)
            .options(selectinload(Location.chairs), selectinload(Location.opening_hours))
            .order_by(Location.name)
        )
    )


@dataclass(frozen=True, slots=True)
class LocationPage:
    location: Location
    chairs: list[Chair]
    closures: list[Closure]


def location_page(session: Session, *, location_id: int, today: dt.date) -> LocationPage | None:
    location = session.scalars(
        sa.select(Location)
        .where(Location.id == location_id)
        .options(selectinload(Location.opening_hours), selectinload(Location.chairs))
    ).one_or_none()
    if location is None:
        return None
    closures = list(
        session.scalars(
            sa.select(Closure)
            .where(Closure.location_id == location_id, Closure.date >= today)
            .order_by(Closure.date)
        )
    )
    return LocationPage(location=location, chairs=list(location.chairs), closures=closures)


@dataclass(frozen=True, slots=True)
class ChairPage:
    chair: Chair
    blocks: list[ChairBlock]


def chair_page(session: Session, *, chair_id: int, now: dt.datetime) -> ChairPage | None:
    chair = session.scalars(
        sa.select(Chair).where(Chair.id == chair_id).options(joinedload(Chair.location))
    ).one_or_none()
    if chair is None:
        return None
    blocks = list(
        session.scalars(
            sa.select(ChairBlock)
            .where(ChairBlock.chair_id == chair_id, ChairBlock.ends_at > now)
            .order_by(ChairBlock.starts_at)
        )
    )
    return ChairPage(chair=chair, blocks=blocks)


def all_staff(session: Session) -> list[Staff]:
    return list(
        session.scalars(
            sa.select(Staff)
            .options(selectinload(Staff.certifications))
            .order_by(Staff.active.desc(), Staff.name)
        )
    )


@dataclass(frozen=True, slots=True)
class StaffPage:
    member: Staff
    certifications: list[Certification]
    templates: list[ShiftTemplate]
    time_off: list[TimeOff]
    users: list[User]


def staff_page(session: Session, *, staff_id: int, now: dt.datetime) -> StaffPage | None:
    member = session.scalars(
        sa.select(Staff)
        .where(Staff.id == staff_id)
        .options(
            selectinload(Staff.certifications),
            selectinload(Staff.shift_templates).joinedload(ShiftTemplate.location),
        )
    ).one_or_none()
    if member is None:
        return None
    time_off = list(
        session.scalars(
            sa.select(TimeOff)
            .where(TimeOff.staff_id == staff_id, TimeOff.ends_at > now)
            .order_by(TimeOff.starts_at)
        )
    )
    users = list(session.scalars(sa.select(User).where(User.staff_id == staff_id)))
    templates = sorted(member.shift_templates, key=lambda t: (t.weekday, t.starts))
    return StaffPage(
        member=member,
        certifications=sorted(member.certifications, key=lambda c: c.expires_on),
        templates=templates,
        time_off=time_off,
        users=users,
    )


def all_treatment_types(session: Session) -> list[TreatmentType]:
    return list(
        session.scalars(
            sa.select(TreatmentType).order_by(TreatmentType.active.desc(), TreatmentType.name)
        )
    )


def all_protocols(session: Session) -> list[Protocol]:
    return list(
        session.scalars(
            sa.select(Protocol)
            .options(joinedload(Protocol.treatment_type))
            .order_by(Protocol.active.desc(), Protocol.name)
        )
    )


def staff_choices(session: Session) -> list[tuple[int, str]]:
    return [
        (row.id, row.name)
        for row in session.execute(
            sa.select(Staff.id, Staff.name).where(Staff.active).order_by(Staff.name)
        )
    ]


def location_choices(session: Session) -> list[tuple[int, str]]:
    return [
        (row.id, row.name)
        for row in session.execute(
            sa.select(Location.id, Location.name).where(Location.active).order_by(Location.name)
        )
    ]


def treatment_type_choices(session: Session) -> list[tuple[int, str]]:
    return [
        (row.id, row.name)
        for row in session.execute(
            sa.select(TreatmentType.id, TreatmentType.name)
            .where(TreatmentType.active)
            .order_by(TreatmentType.name)
        )
    ]


@dataclass(frozen=True, slots=True)
class ProtocolChoice:
    id: int
    name: str
    treatment_type_id: int
    treatment_name: str
    session_count: int
    description: str


def protocol_choices(session: Session) -> list[ProtocolChoice]:
    """Active protocols of active treatment types, for the booking wizard."""
    rows = session.scalars(
        sa.select(Protocol)
        .join(TreatmentType)
        .where(Protocol.active, TreatmentType.active)
        .options(joinedload(Protocol.treatment_type))
        .order_by(Protocol.name)
    )
    return [
        ProtocolChoice(
            id=p.id,
            name=p.name,
            treatment_type_id=p.treatment_type_id,
            treatment_name=p.treatment_type.name,
            session_count=p.session_count,
            description=p.description,
        )
        for p in rows
    ]
