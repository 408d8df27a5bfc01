"""The clinic's set-up, read-only: locations, chairs, staff, treatment types, protocols.

Changing them is the admin pages' job; integrations read them to know what to book.
"""

from __future__ import annotations

from typing import Any

from .. import clock
from ..extensions import db
from ..models import Location
from ..permissions import Permission
from . import api, queries
from . import schemas as s
from .problems import ApiProblem

READ = Permission.VIEW_SCHEDULE


def one(rows: list[Any], what: str, record_id: int) -> Any:
    if not rows:
        raise ApiProblem(404, f"There is no {what} with id {record_id}.")
    return rows[0]


def location_out(location: Location) -> s.Location:
    today = location.local_today(clock.now())
    return s.Location(
        id=location.id,
        name=location.name,
        address=location.address,
        phone=location.phone,
        email=location.email,
        timezone=location.timezone,
        active=location.active,
        opening_hours=[s.OpeningInterval.model_validate(h) for h in location.opening_hours],
        closures=[s.ClosureDay.model_validate(c) for c in location.closures if c.date >= today],
    )


@api.get(
    "/locations",
    summary="List locations",
    tag="Clinic set-up",
    permission=READ,
    query=s.ActiveFilter,
    response=s.LocationList,
)
def list_locations(query: s.ActiveFilter) -> s.LocationList:
    rows = queries.locations(db.session(), include_inactive=query.include_inactive)
    return s.LocationList(items=[location_out(row) for row in rows])


@api.get(
    "/locations/<id:location_id>",
    summary="Read a location",
    tag="Clinic set-up",
    permission=READ,
    response=s.Location,
)
def get_location(location_id: int) -> s.Location:
    rows = queries.locations(db.session(), location_id=location_id)
    return location_out(one(rows, "location", location_id))


@api.get(
    "/chairs",
    summary="List chairs",
    tag="Clinic set-up",
    permission=READ,
    query=s.ChairFilter,
    response=s.ChairList,
)
def list_chairs(query: s.ChairFilter) -> dict[str, Any]:
    rows = queries.chairs(
        db.session(), location_id=query.location_id, include_inactive=query.include_inactive
    )
    return {"items": rows}


@api.get(
    "/chairs/<id:chair_id>",
    summary="Read a chair",
    tag="Clinic set-up",
    permission=READ,
    response=s.Chair,
)
def get_chair(chair_id: int) -> Any:
    return one(queries.chairs(db.session(), chair_id=chair_id), "chair", chair_id)


@api.get(
    "/staff",
    summary="List staff",
    tag="Clinic set-up",
    permission=READ,
    query=s.StaffFilter,
    response=s.StaffList,
    description="Nurses, prescribers and techs with their certifications.",
)
def list_staff(query: s.StaffFilter) -> dict[str, Any]:
    rows = queries.staff(db.session(), role=query.role, include_inactive=query.include_inactive)
    return {"items": rows}


@api.get(
    "/staff/<id:staff_id>",
    summary="Read a staff member",
    tag="Clinic set-up",
    permission=READ,
    response=s.StaffMember,
)
def get_staff(staff_id: int) -> Any:
    return one(queries.staff(db.session(), staff_id=staff_id), "staff member", staff_id)


@api.get(
    "/treatment-types",
    summary="List treatment types",
    tag="Clinic set-up",
    permission=READ,
    query=s.ActiveFilter,
    response=s.TreatmentTypeList,
)
def list_treatment_types(query: s.ActiveFilter) -> dict[str, Any]:
    return {"items": queries.treatment_types(db.session(), include_inactive=query.include_inactive)}


@api.get(
    "/treatment-types/<id:treatment_type_id>",
    summary="Read a treatment type",
    tag="Clinic set-up",
    permission=READ,
    response=s.TreatmentType,
)
def get_treatment_type(treatment_type_id: int) -> Any:
    rows = queries.treatment_types(db.session(), treatment_type_id=treatment_type_id)
    return one(rows, "treatment type", treatment_type_id)


@api.get(
    "/protocols",
    summary="List protocols",
    tag="Clinic set-up",
    permission=READ,
    query=s.ProtocolFilter,
    response=s.ProtocolList,
    description="Series templates: phases of sessions per week, minimum spacing, maximum span.",
)
def list_protocols(query: s.ProtocolFilter) -> dict[str, Any]:
    rows = queries.protocols(
        db.session(),
        treatment_type_id=query.treatment_type_id,
        include_inactive=query.include_inactive,
    )
    return {"items": rows}


@api.get(
    "/protocols/<id:protocol_id>",
    summary="Read a protocol",
    tag="Clinic set-up",
    permission=READ,
    response=s.Protocol,
)
def get_protocol(protocol_id: int) -> Any:
    return one(queries.protocols(db.session(), protocol_id=protocol_id), "protocol", protocol_id)
