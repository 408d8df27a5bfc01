"""Building the FHIR resources, each validated by its ``fhir.resources`` model class.

``fhir.resources`` 8 ships FHIR R5 at its top level and R4B (4.3) in ``fhir.resources.R4B``;
R4B is R4 with corrections, and for the resources served here (Patient, Appointment,
Schedule, Slot, Bundle, OperationOutcome, CapabilityStatement) an R4B document is a valid
R4 document. The library has no R4 (4.0.1) package for pydantic 2, so R4B is the model.

Builders take model rows and answer the library's objects; a row the model refuses is a bug
and fails loudly (a 500 with no detail, and a failing test), never a malformed answer.
Patient resources carry identity and contact only: no notes, escort or clinical detail.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from fhir.resources.R4B.appointment import Appointment as FhirAppointment
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.patient import Patient as FhirPatient
from fhir.resources.R4B.resource import Resource
from fhir.resources.R4B.schedule import Schedule
from fhir.resources.R4B.slot import Slot as FhirSlot

from ..models import Appointment, Chair, Patient, Staff, TreatmentType
from ..scheduling import Slot
from . import mapping as m


def instant(value: dt.datetime) -> str:
    """FHIR instants in UTC, to the second."""
    return value.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def treatment_concept(treatment: TreatmentType) -> dict[str, Any]:
    return {
        "coding": [
            {
                "system": m.TREATMENT_TYPE_SYSTEM,
                "code": str(treatment.id),
                "display": treatment.name,
            }
        ],
        "text": treatment.name,
    }


def patient_resource(patient: Patient) -> FhirPatient:
    telecom = []
    if patient.phone:
        telecom.append({"system": "phone", "value": patient.phone, "use": "mobile"})
    if patient.email:
        telecom.append({"system": "email", "value": patient.email})
    return FhirPatient.model_validate(
        {
            "resourceType": "Patient",
            "id": str(patient.id),
            "meta": {"lastUpdated": instant(patient.updated_at)},
            "identifier": [
                {
                    "use": "usual",
                    "type": {
                        "coding": [{"system": m.IDENTIFIER_TYPE_SYSTEM, "code": m.MRN_TYPE_CODE}]
                    },
                    "system": m.MRN_SYSTEM,
                    "value": patient.mrn,
                }
            ],
            "active": patient.active,
            "name": [
                {"use": "official", "family": patient.family_name, "given": [patient.given_name]}
            ],
            "telecom": telecom or None,
            "birthDate": patient.date_of_birth.isoformat(),
        }
    )


def _chair_reference(chair: Chair) -> dict[str, Any]:
    return {
        "type": "Device",
        "identifier": {"system": m.CHAIR_SYSTEM, "value": str(chair.id)},
        "display": chair.label,
    }


def _staff_reference(staff: Staff) -> dict[str, Any]:
    return {
        "type": "Practitioner",
        "identifier": {"system": m.STAFF_SYSTEM, "value": str(staff.id)},
        "display": staff.name,
    }


def _location_reference(location_id: int, name: str) -> dict[str, Any]:
    return {
        "type": "Location",
        "identifier": {"system": m.LOCATION_SYSTEM, "value": str(location_id)},
        "display": name,
    }


def _participation(code: str) -> list[dict[str, Any]]:
    return [{"coding": [{"system": m.PARTICIPATION_TYPE_SYSTEM, "code": code}]}]


def appointment_resource(appointment: Appointment) -> FhirAppointment:
    """The session: who, where, when, its status; no escort, notes or cancel reason."""
    minutes = round((appointment.ends_at - appointment.starts_at).total_seconds() / 60)
    return FhirAppointment.model_validate(
        {
            "resourceType": "Appointment",
            "id": str(appointment.id),
            "meta": {"lastUpdated": instant(appointment.updated_at)},
            "status": m.APPOINTMENT_STATUS[appointment.status],
            "serviceType": [treatment_concept(appointment.treatment_type)],
            "start": instant(appointment.starts_at),
            "end": instant(appointment.ends_at),
            "minutesDuration": max(minutes, 1),
            "created": instant(appointment.created_at),
            "participant": [
                {
                    "actor": {"reference": f"Patient/{appointment.patient_id}"},
                    "required": "required",
                    "status": "accepted",
                },
                {
                    "type": _participation(m.MONITOR_PARTICIPATION),
                    "actor": _staff_reference(appointment.monitor),
                    "required": "required",
                    "status": "accepted",
                },
                {
                    "type": _participation(m.LOCATION_PARTICIPATION),
                    "actor": _chair_reference(appointment.chair),
                    "required": "required",
                    "status": "accepted",
                },
                {
                    "type": _participation(m.LOCATION_PARTICIPATION),
                    "actor": _location_reference(
                        appointment.location_id, appointment.location.name
                    ),
                    "required": "required",
                    "status": "accepted",
                },
            ],
        }
    )


def chair_schedule(chair: Chair, treatments: Sequence[TreatmentType]) -> Schedule:
    """A chair's schedule offers the treatments its capabilities allow."""
    offered = [t for t in treatments if chair.can(t.chair_capability)]
    return Schedule.model_validate(
        {
            "resourceType": "Schedule",
            "id": m.chair_schedule_id(chair.id),
            "active": chair.active and chair.location.active,
            "serviceType": [treatment_concept(t) for t in offered] or None,
            "actor": [
                _chair_reference(chair),
                _location_reference(chair.location_id, chair.location.name),
            ],
            "comment": f"Chair {chair.label} at {chair.location.name}",
        }
    )


def monitor_schedule(staff: Staff) -> Schedule:
    return Schedule.model_validate(
        {
            "resourceType": "Schedule",
            "id": m.monitor_schedule_id(staff.id),
            "active": staff.active,
            "actor": [_staff_reference(staff)],
            "comment": f"Sessions monitored by {staff.name}",
        }
    )


def free_slot(slot: Slot, *, schedule_id: str, treatment: TreatmentType) -> FhirSlot:
    """A start the front desk's availability search offers, with every rule applied."""
    starts = instant(slot.starts_at)
    return FhirSlot.model_validate(
        {
            "resourceType": "Slot",
            "id": m.free_slot_id(
                schedule_id=schedule_id,
                treatment_type_id=treatment.id,
                starts_at_utc=starts.replace("-", "").replace(":", ""),
            ),
            "serviceType": [treatment_concept(treatment)],
            "schedule": {"reference": f"Schedule/{schedule_id}"},
            "status": m.SLOT_FREE,
            "start": starts,
            "end": instant(slot.ends_at),
            "comment": f"Chair {slot.chair_label}, monitored by {slot.monitor_name}",
        }
    )


def busy_slot(appointment: Appointment, *, schedule_id: str, chair: bool) -> FhirSlot:
    """Time a live session holds: the chair until turnover ends, the monitor until
    monitoring ends. Which patient is not said: a Slot is not a disclosure."""
    ends = appointment.busy_until if chair else appointment.ends_at
    return FhirSlot.model_validate(
        {
            "resourceType": "Slot",
            "id": m.busy_slot_id(schedule_id=schedule_id, appointment_id=appointment.id),
            "serviceType": [treatment_concept(appointment.treatment_type)],
            "schedule": {"reference": f"Schedule/{schedule_id}"},
            "status": m.SLOT_BUSY,
            "start": instant(appointment.starts_at),
            "end": instant(ends),
        }
    )


def searchset(
    resources: Sequence[Resource],
    *,
    base_url: str,
    total: int,
    links: Sequence[tuple[str, str]],
) -> Bundle:
    return Bundle.model_validate(
        {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": total,
            "link": [{"relation": relation, "url": url} for relation, url in links],
            "entry": [
                {
                    "fullUrl": f"{base_url}/{resource.get_resource_type()}/{resource.id}",
                    "resource": resource,
                    "search": {"mode": "match"},
                }
                for resource in resources
            ]
            or None,
        }
    )


def operation_outcome(diagnostics: str, *, code: str, severity: str = "error") -> OperationOutcome:
    return OperationOutcome.model_validate(
        {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": severity, "code": code, "diagnostics": diagnostics}],
        }
    )
