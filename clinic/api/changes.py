"""Changes to the clinic's set-up that the hard rules read, and the "Needs rebooking"
worklist they can fill.

Each operation calls the same set-up service as the admin pages, so it goes through the
same impact check (``clinic.scheduling.impact``). A change of the clinic's choice that would
leave booked sessions breaking a rule is answered 409 with ``affected_sessions`` (each with
its ``reasons``) and changes nothing, unless the request says ``?proceed=true``; a fact (a
certification shortened or removed, a staff member leaving) is always recorded. Either way
the sessions it breaks go onto the worklist.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field

from .. import clock, setup
from ..extensions import db
from ..models import RebookingEntry, StaffRole
from ..permissions import Permission
from ..scheduling import rebooking
from ..setup import queries
from ..setup.treatments import TreatmentTypeInput
from . import api
from . import schemas as s
from .auth import api_actor
from .operations import Reply

TAG = "Set-up changes"
CONFIGURE = Permission.CONFIGURE
CHOICE_NOTE = (
    "If the change would leave booked sessions breaking a hard rule it is refused with 409 "
    "and `affected_sessions` (each with `appointment_id`, `starts_at` and `reasons`); send "
    "it again with `?proceed=true` to record it anyway: those sessions then go onto the "
    "Needs rebooking list and cannot be checked in or started until fixed."
)
FACT_NOTE = (
    "This records a fact: it is never refused for the sessions it affects. Every booked "
    "session it leaves breaking a hard rule goes onto the Needs rebooking list "
    "(`GET /rebooking`)."
)


class Proceed(BaseModel):
    proceed: bool = Field(
        default=False,
        description="Record the change even though it leaves booked sessions breaking a "
        "rule (they go onto the Needs rebooking list). Without it such a change is refused "
        "with 409 and the list.",
    )


class Saved(BaseModel):
    id: int


class WindowIn(s.Input):
    starts_at: s.Instant
    ends_at: s.Instant
    reason: s.Text = ""


class ClosureIn(s.Input):
    date: s.Day
    reason: s.Text = ""


class OpeningIntervalIn(s.Input):
    weekday: int = Field(ge=0, le=6, description="0 = Monday … 6 = Sunday.")
    opens: s.LocalTime
    closes: s.LocalTime


class OpeningHoursIn(s.Input):
    intervals: list[OpeningIntervalIn] = Field(
        max_length=70, description="The whole week; a day without intervals is closed."
    )


class ChairUpdate(s.Input):
    label: s.Text = s.left_out()
    capabilities: list[s.Text] = s.left_out()
    active: bool = s.left_out()


class StaffUpdate(s.Input):
    name: s.Text = s.left_out()
    email: s.Text | None = None
    role: StaffRole = s.left_out()
    active: bool = s.left_out()


class CertificationUpdate(s.Input):
    kind: s.Text = s.left_out()
    number: s.Text = s.left_out()
    valid_from: s.Day = s.left_out()
    expires_on: s.Day = s.left_out()


class TreatmentTypeUpdate(s.Input):
    prep_minutes: int = s.left_out()
    treatment_minutes: int = s.left_out()
    monitoring_minutes: int = s.left_out()
    turnover_minutes: int = s.left_out()
    chair_capability: s.Text = s.left_out()
    required_certifications: list[s.Text] = s.left_out()
    max_patients_per_monitor: int = s.left_out()
    needs_prescriber_on_site: bool = s.left_out()
    needs_rems_enrollment: bool = s.left_out()
    min_hours_between_doses: int = s.left_out()
    active: bool = s.left_out()


class RebookingItem(BaseModel):
    appointment_id: int
    starts_at: dt.datetime
    location_id: int
    reasons: list[str]
    change: str
    overridden: bool


class RebookingList(BaseModel):
    items: list[RebookingItem]


class RebookingFilter(BaseModel):
    location_id: s.Id | None = Field(default=None, description="Only this location's sessions.")


def _sent(body: BaseModel) -> dict[str, Any]:
    return body.model_dump(include=body.model_fields_set)


@api.post(
    "/staff/<id:staff_id>/time-off",
    summary="Record time off",
    tag=TAG,
    permission=CONFIGURE,
    query=Proceed,
    body=WindowIn,
    response=Saved,
    status=201,
    errors=(409,),
    description=CHOICE_NOTE,
)
def add_time_off(staff_id: int, query: Proceed, body: WindowIn) -> Saved:
    time_off = setup.add_time_off(
        db.session(),
        staff_id=staff_id,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        reason=body.reason,
        actor=api_actor(),
        now=clock.now(),
        proceed=query.proceed,
    )
    return Saved(id=time_off.id)


@api.operation(
    "DELETE",
    "/shift-templates/<id:template_id>",
    summary="Remove a weekly shift",
    tag=TAG,
    permission=CONFIGURE,
    query=Proceed,
    status=204,
    errors=(409,),
    description="Its future shifts go; past ones stay. " + CHOICE_NOTE,
)
def remove_shift_template(template_id: int, query: Proceed) -> Reply:
    setup.remove_shift_template(
        db.session(),
        template_id=template_id,
        actor=api_actor(),
        now=clock.now(),
        proceed=query.proceed,
    )
    return Reply(None)


@api.post(
    "/locations/<id:location_id>/closures",
    summary="Close a location for a day",
    tag=TAG,
    permission=CONFIGURE,
    query=Proceed,
    body=ClosureIn,
    response=Saved,
    status=201,
    errors=(409,),
    description=CHOICE_NOTE,
)
def add_closure(location_id: int, query: Proceed, body: ClosureIn) -> Saved:
    closure = setup.add_closure(
        db.session(),
        location_id=location_id,
        date=body.date,
        reason=body.reason,
        actor=api_actor(),
        now=clock.now(),
        proceed=query.proceed,
    )
    return Saved(id=closure.id)


@api.operation(
    "PUT",
    "/locations/<id:location_id>/opening-hours",
    summary="Replace a location's weekly opening hours",
    tag=TAG,
    permission=CONFIGURE,
    query=Proceed,
    body=OpeningHoursIn,
    response=Saved,
    errors=(409,),
    description=CHOICE_NOTE,
)
def set_opening_hours(location_id: int, query: Proceed, body: OpeningHoursIn) -> Saved:
    location = setup.set_opening_hours(
        db.session(),
        location_id=location_id,
        intervals=[
            setup.OpeningInterval(weekday=i.weekday, opens=i.opens, closes=i.closes)
            for i in body.intervals
        ],
        actor=api_actor(),
        now=clock.now(),
        proceed=query.proceed,
    )
    return Saved(id=location.id)


@api.patch(
    "/chairs/<id:chair_id>",
    summary="Change a chair (label, capabilities, in service)",
    tag=TAG,
    permission=CONFIGURE,
    query=Proceed,
    body=ChairUpdate,
    response=Saved,
    errors=(409,),
    description=CHOICE_NOTE,
)
def update_chair(chair_id: int, query: Proceed, body: ChairUpdate) -> Saved:
    chair = queries.get_chair(db.session(), chair_id=chair_id)
    values: dict[str, Any] = {
        "label": chair.label,
        "capabilities": chair.capabilities,
        "active": chair.active,
    }
    values.update(_sent(body))
    saved = setup.save_chair(
        db.session(),
        chair_id=chair_id,
        location_id=chair.location_id,
        label=values["label"],
        capabilities=list(values["capabilities"] or ()),
        active=bool(values["active"]),
        actor=api_actor(),
        now=clock.now(),
        proceed=query.proceed,
    )
    return Saved(id=saved.id)


@api.post(
    "/chairs/<id:chair_id>/blocks",
    summary="Take a chair out of service for a while",
    tag=TAG,
    permission=CONFIGURE,
    query=Proceed,
    body=WindowIn,
    response=Saved,
    status=201,
    errors=(409,),
    description=CHOICE_NOTE,
)
def add_chair_block(chair_id: int, query: Proceed, body: WindowIn) -> Saved:
    block = setup.add_chair_block(
        db.session(),
        chair_id=chair_id,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        reason=body.reason,
        actor=api_actor(),
        now=clock.now(),
        proceed=query.proceed,
    )
    return Saved(id=block.id)


@api.patch(
    "/treatment-types/<id:treatment_type_id>",
    summary="Change a treatment type",
    tag=TAG,
    permission=CONFIGURE,
    query=Proceed,
    body=TreatmentTypeUpdate,
    response=Saved,
    errors=(409,),
    description=CHOICE_NOTE,
)
def update_treatment_type(
    treatment_type_id: int, query: Proceed, body: TreatmentTypeUpdate
) -> Saved:
    current = queries.get_treatment_type(db.session(), treatment_type_id=treatment_type_id)
    values: dict[str, Any] = {
        name: getattr(current, name)
        for name in TreatmentTypeInput.__dataclass_fields__
        if name != "route"
    }
    values["route"] = current.route.value
    values["required_certifications"] = list(current.required_certifications or ())
    values.update(_sent(body))
    saved = setup.save_treatment_type(
        db.session(),
        treatment_type_id=treatment_type_id,
        data=TreatmentTypeInput(**values),
        actor=api_actor(),
        now=clock.now(),
        proceed=query.proceed,
    )
    return Saved(id=saved.id)


@api.patch(
    "/staff/<id:staff_id>",
    summary="Change a staff member (name, role, leaving)",
    tag=TAG,
    permission=CONFIGURE,
    body=StaffUpdate,
    response=Saved,
    description="`active: false` records that the person has left. " + FACT_NOTE,
)
def update_staff(staff_id: int, body: StaffUpdate) -> Saved:
    member = queries.get_staff(db.session(), staff_id=staff_id)
    values: dict[str, Any] = {
        "name": member.name,
        "email": member.email,
        "role": member.role.value,
        "active": member.active,
    }
    values.update(_sent(body))
    saved = setup.save_staff(
        db.session(),
        staff_id=staff_id,
        name=values["name"],
        email=values["email"],
        role=str(values["role"]),
        active=bool(values["active"]),
        actor=api_actor(),
        now=clock.now(),
    )
    return Saved(id=saved.id)


@api.patch(
    "/certifications/<id:certification_id>",
    summary="Change a certification (e.g. its expiry)",
    tag=TAG,
    permission=CONFIGURE,
    body=CertificationUpdate,
    response=Saved,
    description=FACT_NOTE,
)
def update_certification(certification_id: int, body: CertificationUpdate) -> Saved:
    current = queries.get_certification(db.session(), certification_id=certification_id)
    values: dict[str, Any] = {
        "kind": current.kind,
        "number": current.number,
        "valid_from": current.valid_from,
        "expires_on": current.expires_on,
    }
    values.update(_sent(body))
    saved = setup.save_certification(
        db.session(),
        certification_id=certification_id,
        staff_id=current.staff_id,
        actor=api_actor(),
        now=clock.now(),
        **values,
    )
    return Saved(id=saved.id)


@api.operation(
    "DELETE",
    "/certifications/<id:certification_id>",
    summary="Remove a certification",
    tag=TAG,
    permission=CONFIGURE,
    status=204,
    description=FACT_NOTE,
)
def remove_certification(certification_id: int) -> Reply:
    setup.remove_certification(
        db.session(), certification_id=certification_id, actor=api_actor(), now=clock.now()
    )
    return Reply(None)


# --- the worklist ---------------------------------------------------------------------------


def _item(entry: RebookingEntry) -> RebookingItem:
    return RebookingItem(
        appointment_id=entry.appointment_id,
        starts_at=entry.appointment.starts_at,
        location_id=entry.appointment.location_id,
        reasons=entry.reason_lines,
        change=entry.change,
        overridden=entry.override_reason is not None,
    )


@api.get(
    "/rebooking",
    summary="The Needs rebooking list",
    tag="Sessions",
    permission=Permission.BOOK,
    query=RebookingFilter,
    response=RebookingList,
    description="Booked sessions a change left breaking a hard rule, each with its "
    "reasons; each is judged again first, so fixed and cancelled ones are gone.",
)
def list_rebooking(query: RebookingFilter) -> RebookingList:
    entries = rebooking.worklist(db.session(), now=clock.now())
    return RebookingList(
        items=[
            _item(entry)
            for entry in entries
            if query.location_id in (None, entry.appointment.location_id)
        ]
    )


@api.post(
    "/rebooking/<id:appointment_id>/reassign",
    summary="Fix a session at the same time with another chair, monitor or prescriber",
    tag="Sessions",
    permission=Permission.BOOK,
    response=Saved,
    description="Keeps the time; replaces whichever of its chair, monitor and prescriber "
    "can no longer take it by a free one, and sends the patient the update as any "
    "reschedule does. Refused (422, with the rule's reason) when none is free: the session "
    "then needs a new time (`POST /appointments/{id}/reschedule`).",
)
def reassign(appointment_id: int) -> Saved:
    appointment = rebooking.fix_by_reassigning(
        db.session(), appointment_id=appointment_id, actor=api_actor(), now=clock.now()
    )
    return Saved(id=appointment.id)


class OverrideIn(s.Input):
    reason: s.Text = Field(min_length=1, max_length=300)


@api.post(
    "/rebooking/<id:appointment_id>/override",
    summary="Let a session on the Needs rebooking list go ahead as it is",
    tag="Sessions",
    permission=Permission.CLINICAL_STATUS,
    body=OverrideIn,
    response=Saved,
    description="A prescriber's written, audited decision: the session may then be checked "
    "in and started although it breaks a rule. Only a user linked to a prescriber may.",
)
def override(appointment_id: int, body: OverrideIn) -> Saved:
    entry = rebooking.override(
        db.session(),
        appointment_id=appointment_id,
        reason=body.reason,
        actor=api_actor(),
        now=clock.now(),
    )
    return Saved(id=entry.appointment_id)
