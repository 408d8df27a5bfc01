"""Appointments (sessions): list, read, reschedule, cancel, and the day's status changes.

Each change is one call to the scheduling services, which check the rules, write the audit
row and queue the patient's messages in the same transaction as the web UI does.
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from .. import clock, scheduling
from ..extensions import db
from ..models import Appointment
from ..notify import reminder_settings_from_config
from ..permissions import Permission
from ..scheduling import status
from . import api, queries
from . import schemas as s
from .auth import api_actor
from .problems import ApiProblem

TAG = "Appointments"


@api.get(
    "/appointments",
    summary="List appointments",
    tag=TAG,
    permission=Permission.VIEW_SCHEDULE,
    query=s.AppointmentFilter,
    response=s.AppointmentList,
    description="Sessions on one local day (`date`), or from now on when no date is given; "
    "narrowed to a location and/or a patient. Ordered by start.",
)
def list_appointments(query: s.AppointmentFilter) -> dict[str, Any]:
    rows = queries.appointments(
        db.session(),
        now=clock.now(),
        day=query.date,
        location_id=query.location_id,
        patient_id=query.patient_id,
        include_released=query.include_released,
        limit=query.limit,
    )
    return {"items": rows}


@api.get(
    "/appointments/<id:appointment_id>",
    summary="Read an appointment",
    tag=TAG,
    permission=Permission.VIEW_SCHEDULE,
    response=s.Appointment,
)
def get_appointment(appointment_id: int) -> Appointment:
    appointment = queries.appointment(db.session(), appointment_id)
    if appointment is None:
        raise ApiProblem(404, f"There is no appointment with id {appointment_id}.")
    return appointment


@api.post(
    "/appointments/<id:appointment_id>/reschedule",
    summary="Reschedule",
    tag=TAG,
    permission=Permission.BOOK,
    body=s.RescheduleRequest,
    response=s.AppointmentList,
    errors=(409,),
    description="Moves the session, or it and the later sessions of its series "
    "(`following`), or every upcoming one (`all`), by the same local wall-clock shift. Each "
    "keeps its chair and monitor where still free. All or none; the patient is sent an "
    "update. Answers the moved sessions.",
)
def reschedule(appointment_id: int, body: s.RescheduleRequest) -> dict[str, Any]:
    moved = scheduling.reschedule(
        db.session(),
        appointment_id=appointment_id,
        new_starts_at=body.new_starts_at,
        scope=body.scope,
        actor=api_actor(),
        now=clock.now(),
        reminders=reminder_settings_from_config(current_app.config),
        settings=scheduling.scheduling_settings_from_config(current_app.config),
    )
    return {"items": moved}


@api.post(
    "/appointments/<id:appointment_id>/cancel",
    summary="Cancel",
    tag=TAG,
    permission=Permission.BOOK,
    body=s.CancelRequest,
    response=s.AppointmentList,
    errors=(409,),
    description="Cancels the session, or it and the later booked sessions of its series "
    "(`following`), or every booked one (`all`). The patient is sent a cancellation. "
    "Answers the cancelled sessions.",
)
def cancel(appointment_id: int, body: s.CancelRequest) -> dict[str, Any]:
    cancelled = scheduling.cancel(
        db.session(),
        appointment_id=appointment_id,
        scope=body.scope,
        reason=body.reason,
        actor=api_actor(),
        now=clock.now(),
    )
    return {"items": cancelled}


@api.post(
    "/appointments/<id:appointment_id>/check-in",
    summary="Check a patient in",
    tag=TAG,
    permission=Permission.CHECK_IN,
    body=s.CheckInRequest,
    body_required=False,
    response=s.Appointment,
    description="Only on the day of the session. The escort who takes the patient home may "
    "be recorded (and confirmed) at the same time.",
)
def check_in(appointment_id: int, body: s.CheckInRequest) -> Appointment:
    return status.check_in(
        db.session(),
        appointment_id=appointment_id,
        actor=api_actor(),
        now=clock.now(),
        escort_name=body.escort_name,
        escort_phone=body.escort_phone,
        escort_confirmed=body.escort_confirmed,
    )


@api.post(
    "/appointments/<id:appointment_id>/confirm-escort",
    summary="Confirm the escort",
    tag=TAG,
    permission=Permission.CHECK_IN,
    body=s.EscortRequest,
    body_required=False,
    response=s.Appointment,
    description="The person taking the patient home is confirmed (name and phone optional "
    "when already on record).",
)
def confirm_escort(appointment_id: int, body: s.EscortRequest) -> Appointment:
    return status.confirm_escort(
        db.session(),
        appointment_id=appointment_id,
        actor=api_actor(),
        now=clock.now(),
        escort_name=body.escort_name,
        escort_phone=body.escort_phone,
    )


@api.post(
    "/appointments/<id:appointment_id>/start-treatment",
    summary="Start treatment",
    tag=TAG,
    permission=Permission.CLINICAL_STATUS,
    response=s.Appointment,
)
def start_treatment(appointment_id: int) -> Appointment:
    return status.start_treatment(
        db.session(), appointment_id=appointment_id, actor=api_actor(), now=clock.now()
    )


@api.post(
    "/appointments/<id:appointment_id>/start-monitoring",
    summary="Start monitoring",
    tag=TAG,
    permission=Permission.CLINICAL_STATUS,
    response=s.Appointment,
)
def start_monitoring(appointment_id: int) -> Appointment:
    return status.start_monitoring(
        db.session(), appointment_id=appointment_id, actor=api_actor(), now=clock.now()
    )


@api.post(
    "/appointments/<id:appointment_id>/discharge",
    summary="Discharge a patient",
    tag=TAG,
    permission=Permission.CLINICAL_STATUS,
    body=s.DischargeRequest,
    response=s.Appointment,
    description="After monitoring. Needs the minimum monitoring time since the dose, every "
    "vitals checkpoint, last vitals within the discharge limits, a passing discharge "
    "assessment and a named, confirmed escort; or an override reason from a nurse or "
    "prescriber (audited). A refusal names each unmet condition.",
)
def discharge(appointment_id: int, body: s.DischargeRequest) -> Appointment:
    return status.discharge(
        db.session(),
        appointment_id=appointment_id,
        actor=api_actor(),
        now=clock.now(),
        escort_confirmed=body.escort_confirmed,
        override_reason=body.override_reason,
        escort_name=body.escort_name,
    )


@api.post(
    "/appointments/<id:appointment_id>/no-show",
    summary="Mark a no-show",
    tag=TAG,
    permission=Permission.CHECK_IN,
    response=s.Appointment,
    description="Once the start time has passed. Frees the chair and the monitor.",
)
def mark_no_show(appointment_id: int) -> Appointment:
    return status.mark_no_show(
        db.session(), appointment_id=appointment_id, actor=api_actor(), now=clock.now()
    )
