"""Availability and series booking: free slots, a series preview (writes nothing) and the
all-or-nothing booking of a whole series, by the scheduling services the web wizard uses."""

from __future__ import annotations

from typing import Any

from flask import current_app, url_for

from .. import clock, scheduling
from ..extensions import db
from ..models import Series
from ..notify import reminder_settings_from_config
from ..permissions import Permission
from . import api, queries
from . import schemas as s
from .auth import api_actor
from .operations import Reply
from .problems import ApiProblem

TAG = "Booking"


def scheduling_settings() -> scheduling.SchedulingSettings:
    return scheduling.scheduling_settings_from_config(current_app.config)


@api.get(
    "/availability",
    summary="Find free slots",
    tag=TAG,
    permission=Permission.BOOK,
    query=s.AvailabilityQuery,
    response=s.SlotList,
    errors=(404,),
    description="Feasible starts for one session of a treatment type at a location, day by "
    "day: every hard rule holds (chair, certified monitor on shift, prescriber, opening "
    "hours, the patient's other sessions), ranked by the soft preferences. At most 92 days.",
)
def availability(query: s.AvailabilityQuery) -> dict[str, Any]:
    slots = scheduling.find_slots(
        db.session(),
        treatment_type_id=query.treatment_type_id,
        location_id=query.location_id,
        start_date=query.start_date,
        end_date=query.end_date or query.start_date,
        now=clock.now(),
        patient_id=query.patient_id,
        limit=query.limit,
        per_day=query.per_day,
        settings=scheduling_settings(),
    )
    return {"items": slots}


def series_plan(request: s.SeriesPreviewRequest) -> scheduling.SeriesPlan:
    plan = request.plan
    if isinstance(plan, s.ProtocolPlan):
        result = scheduling.plan_from_protocol(
            db.session(),
            protocol_id=plan.protocol_id,
            location_id=plan.location_id,
            first_date=plan.first_date,
            weekdays=plan.weekdays,
            preferred_start=plan.preferred_start,
            preferred_end=plan.preferred_end,
        )
    else:
        result = scheduling.plan_custom(
            treatment_type_id=plan.treatment_type_id,
            location_id=plan.location_id,
            first_date=plan.first_date,
            count=plan.count,
            weekdays=plan.weekdays,
            min_hours_between=plan.min_hours_between,
            preferred_start=plan.preferred_start,
            preferred_end=plan.preferred_end,
        )
    if request.dates is not None:
        result = scheduling.plan_with_dates(result, request.dates)
    return result


@api.post(
    "/series/preview",
    summary="Preview a series",
    tag=TAG,
    permission=Permission.BOOK,
    body=s.SeriesPreviewRequest,
    response=s.SeriesPreview,
    errors=(404,),
    description="Proposes a start, chair and monitor (and prescriber) for every planned "
    "session; for a date that cannot be met, says why and offers the nearest alternatives. "
    "Writes nothing. Book the accepted slots with `POST /api/v1/series`.",
)
def preview_series(body: s.SeriesPreviewRequest) -> scheduling.SeriesPreview:
    return scheduling.preview_series(
        db.session(),
        patient_id=body.patient_id,
        plan=series_plan(body),
        now=clock.now(),
        settings=scheduling_settings(),
    )


@api.post(
    "/series",
    summary="Book a series",
    tag=TAG,
    permission=Permission.BOOK,
    body=s.SeriesBookingRequest,
    response=s.Series,
    status=201,
    errors=(404, 409),
    description="Books every session or none, in one transaction. Invitations and "
    "reminders are queued for the patient. A 422 names the session and rule that refused; "
    "a 409 says that a slot was just taken (ask for a fresh preview).",
)
def book_series(body: s.SeriesBookingRequest) -> Reply:
    series = scheduling.book_series(
        db.session(),
        patient_id=body.patient_id,
        plan=series_plan(body),
        actor=api_actor(),
        now=clock.now(),
        proposals=body.proposals,
        reminders=reminder_settings_from_config(current_app.config),
        settings=scheduling_settings(),
    )
    return Reply(series, headers={"Location": url_for("api.get_series", series_id=series.id)})


@api.get(
    "/series/<id:series_id>",
    summary="Read a series",
    tag=TAG,
    permission=Permission.VIEW_SCHEDULE,
    response=s.Series,
    description="The series with all its sessions (cancelled ones included), by start.",
)
def get_series(series_id: int) -> Series:
    series = queries.series(db.session(), series_id)
    if series is None:
        raise ApiProblem(404, f"There is no series with id {series_id}.")
    return series
