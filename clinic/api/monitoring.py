"""The session record over the API: read it, append entries, amend one, its checkpoints,
the discharge assessment, and the REMS forms due. The same services as the pages, so the
same validation and the same audit rows."""

from __future__ import annotations

from typing import Any

from .. import clock
from ..extensions import db
from ..models import Appointment, AppointmentStatus
from ..monitoring import gates, queries, record, rems
from ..permissions import Permission
from . import api
from . import monitoring_schemas as m
from .auth import api_actor
from .problems import ApiProblem

TAG = "Session record"
ENTRY_STATUS = 201


def _appointment(appointment_id: int) -> Appointment:
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None:
        raise ApiProblem(404, f"There is no appointment with id {appointment_id}.")
    return appointment


@api.get(
    "/appointments/<id:appointment_id>/record",
    summary="Read a session's record",
    tag=TAG,
    permission=Permission.VIEW_SCHEDULE,
    response=m.SessionRecordOut,
    description="Every entry (append-only: a correction is a new entry that `amends` the "
    "old one), the checkpoints, and while monitoring what discharge still needs.",
)
def read_record(appointment_id: int) -> dict[str, Any]:
    appointment = _appointment(appointment_id)
    now = clock.now()
    view = queries.load_record(db.session(), appointment, now=now)
    monitoring = appointment.status == AppointmentStatus.MONITORING
    named = bool(
        appointment.escort_confirmed_at
        and (appointment.escort_name or appointment.patient.escort_name)
    )
    return {
        "appointment_id": appointment.id,
        "entries": view.entries,
        "current_entry_ids": [entry.id for entry in view.current],
        "checkpoints": view.checkpoints,
        "discharge_conditions": (
            gates.discharge_conditions(db.session(), appointment, now=now, escort_named=named)
            if monitoring
            else []
        ),
        "override": view.record if view.record and view.record.overridden else None,
        "treatment_started_at": view.record.treatment_started_at if view.record else None,
    }


@api.get(
    "/appointments/<id:appointment_id>/checkpoints",
    summary="A session's vitals checkpoints",
    tag=TAG,
    permission=Permission.VIEW_SCHEDULE,
    response=list[m.CheckpointOut],
    description="Each checkpoint of the treatment type, relative to treatment start, as "
    "`done`, `due`, `overdue` or `upcoming`.",
)
def read_checkpoints(appointment_id: int) -> Any:
    appointment = _appointment(appointment_id)
    return queries.load_record(db.session(), appointment, now=clock.now()).checkpoints


def _add(appointment_id: int, body: Any) -> Any:
    from .operations import Reply

    entry = record.add_entry(
        db.session(),
        appointment_id=appointment_id,
        entry=body.to_input(),
        actor=api_actor(),
        now=clock.now(),
    )
    return Reply(body=entry, status=ENTRY_STATUS)


def _entry_operation(path: str, summary: str, body: type, description: str) -> None:
    def add(appointment_id: int, body: Any) -> Any:
        return _add(appointment_id, body)

    add.__name__ = f"record_{path.replace('-', '_')}"
    api.post(
        f"/appointments/<id:appointment_id>/record/{path}",
        summary=summary,
        tag=TAG,
        permission=Permission.CLINICAL_STATUS,
        body=body,
        response=m.RecordEntryOut,
        status=ENTRY_STATUS,
        description=description
        + " Refused (422, nothing saved) on a session not checked in or cancelled, for a "
        "time in the future or before check-in, and for implausible values.",
    )(add)


_entry_operation("vitals", "Record vital signs", m.VitalsIn, "Blood pressure, heart rate, SpO2.")
_entry_operation(
    "iv-dose", "Record an IV dose", m.IvDoseIn, "Weight, mg/kg and total, infusion times."
)
_entry_operation(
    "nasal-dose", "Record an esketamine dose", m.NasalDoseIn, "The time of each 28 mg device."
)
_entry_operation(
    "observations", "Record an observation", m.ObservationIn, "Sedation, dissociation, effects."
)
_entry_operation("notes", "Add a note", m.NoteIn, "Free text.")
_entry_operation(
    "assessment",
    "Record the discharge assessment",
    m.AssessmentIn,
    "A score on the treatment type's scale (modified Aldrete: discharge needs 9 or more).",
)


@api.post(
    "/record-entries/<id:entry_id>/amend",
    summary="Amend a record entry",
    tag=TAG,
    permission=Permission.CLINICAL_STATUS,
    body=m.AmendmentIn,
    response=m.RecordEntryOut,
    status=ENTRY_STATUS,
    description="Adds the corrected entry; the original stays in the record. Needs a reason.",
)
def amend(entry_id: int, body: m.AmendmentIn) -> Any:
    from .operations import Reply

    entry = record.amend_entry(
        db.session(),
        entry_id=entry_id,
        entry=body.to_input(),
        reason=body.reason,
        actor=api_actor(),
        now=clock.now(),
    )
    return Reply(body=entry, status=ENTRY_STATUS)


@api.get(
    "/rems/forms-due",
    summary="REMS forms due",
    tag=TAG,
    permission=Permission.VIEW_SCHEDULE,
    query=m.FormsDueFilter,
    response=m.FormsDueList,
    description="Attended esketamine sessions whose REMS patient monitoring form is not "
    "marked submitted; the deadline is 7 days after the session.",
)
def list_forms_due(query: m.FormsDueFilter) -> dict[str, Any]:
    return {"items": rems.forms_due(db.session(), now=clock.now(), location_id=query.location_id)}


@api.post(
    "/appointments/<id:appointment_id>/rems-form/submitted",
    summary="Mark a REMS form submitted",
    tag=TAG,
    permission=Permission.CLINICAL_STATUS,
    body=m.RemsSubmittedIn,
    response=m.RemsStatusOut,
)
def mark_rems_submitted(appointment_id: int, body: m.RemsSubmittedIn) -> Any:
    return rems.mark_submitted(
        db.session(),
        appointment_id=appointment_id,
        reference=body.reference,
        actor=api_actor(),
        now=clock.now(),
    )
