"""Patients: search, register, read (audited as a record view) and update.

Validation (E.164 phones, real email addresses, a unique MRN...) and the lookups are
``clinic.patients``'s, shared with the web forms; its field errors come back as a 422
naming each field (``body.<field>``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from flask import url_for

from .. import clock
from .. import patients as service
from ..extensions import db
from ..models import Patient
from ..permissions import Permission
from . import api
from . import schemas as s
from .auth import api_actor
from .operations import Reply


@api.get(
    "/patients",
    summary="Search patients",
    tag="Patients",
    permission=Permission.VIEW_PATIENTS,
    query=s.PatientSearch,
    response=s.PatientList,
    description="Every word of `q` must match: any part of a name (case and accents "
    "ignored), an MRN, a phone number or an email, or a date of birth.",
)
def search_patients(query: s.PatientSearch) -> dict[str, Any]:
    rows = service.search_patients(
        db.session(), query=query.q, limit=query.limit, include_inactive=query.include_inactive
    )
    return {"items": rows}


@api.post(
    "/patients",
    summary="Register a patient",
    tag="Patients",
    permission=Permission.EDIT_PATIENTS,
    body=s.PatientCreate,
    response=s.Patient,
    status=201,
)
def create_patient(body: s.PatientCreate) -> Reply:
    patient = service.create_patient(
        db.session(),
        data=service.PatientInput(**body.model_dump()),
        actor=api_actor(),
        now=clock.now(),
    )
    return Reply(patient, headers={"Location": url_for("api.get_patient", patient_id=patient.id)})


@api.get(
    "/patients/<id:patient_id>",
    summary="Read a patient",
    tag="Patients",
    permission=Permission.VIEW_PATIENTS,
    response=s.Patient,
    description="Opening a record is written to the audit trail, as in the web UI.",
)
def get_patient(patient_id: int) -> Patient:
    record = service.load_patient_record(
        db.session(), patient_id=patient_id, actor=api_actor(), now=clock.now()
    )
    return record.patient


@api.patch(
    "/patients/<id:patient_id>",
    summary="Update a patient",
    tag="Patients",
    permission=Permission.EDIT_PATIENTS,
    body=s.PatientUpdate,
    response=s.Patient,
    description="Send only the fields to change; `null` clears an optional field.",
)
def update_patient(patient_id: int, body: s.PatientUpdate) -> Patient:
    current = service.get_patient(db.session(), patient_id=patient_id)
    changes = body.model_dump(include=body.model_fields_set)
    data = dataclasses.replace(service.patient_input_from(current), **changes)
    return service.update_patient(
        db.session(), patient_id=patient_id, data=data, actor=api_actor(), now=clock.now()
    )
