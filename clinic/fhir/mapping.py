"""How the clinic's records are said in FHIR R4: the one place for status mappings, code
systems and resource ids.

Every FHIR answer and every FHIR search parameter goes through these tables, so the
interface cannot call a status one thing when it answers and another when it searches.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..models import AppointmentStatus, StaffRole

FHIR_VERSION = "4.0.1"
MEDIA_TYPE = "application/fhir+json"

# Our own code systems and identifier systems. They are URNs rather than URLs: they name
# this application's vocabularies and resolve nowhere, which FHIR allows for a system.
MRN_SYSTEM = "urn:clinic:mrn"
TREATMENT_TYPE_SYSTEM = "urn:clinic:treatment-type"
CHAIR_SYSTEM = "urn:clinic:chair"
STAFF_SYSTEM = "urn:clinic:staff"
LOCATION_SYSTEM = "urn:clinic:location"
# HL7's own systems used in answers.
IDENTIFIER_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0203"
MRN_TYPE_CODE = "MR"
PARTICIPATION_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
# The monitor's part in a session: the person who watches the patient ("attender").
MONITOR_PARTICIPATION = "ATND"
# The chair and the location take part as places/devices: "location" in v3 terms.
LOCATION_PARTICIPATION = "LOC"

# Appointment.status (http://hl7.org/fhir/appointmentstatus). The clinic's in-clinic steps
# (checked in, in treatment, monitoring) are all "arrived": the patient is here and the
# session is under way; "fulfilled" is a discharge, when nothing more happens.
APPOINTMENT_STATUS: Mapping[AppointmentStatus, str] = {
    AppointmentStatus.BOOKED: "booked",
    AppointmentStatus.CHECKED_IN: "arrived",
    AppointmentStatus.IN_TREATMENT: "arrived",
    AppointmentStatus.MONITORING: "arrived",
    AppointmentStatus.DISCHARGED: "fulfilled",
    AppointmentStatus.CANCELLED: "cancelled",
    AppointmentStatus.NO_SHOW: "noshow",
}
# Every code of the FHIR value set: a search for one the clinic never uses (``proposed``)
# is valid and finds nothing; a code outside the set is a 400.
APPOINTMENT_STATUS_CODES = frozenset(
    {
        "proposed",
        "pending",
        "booked",
        "arrived",
        "fulfilled",
        "cancelled",
        "noshow",
        "entered-in-error",
        "checked-in",
        "waitlist",
    }
)

# Slot.status (http://hl7.org/fhir/slotstatus): a start the availability search offers is
# "free"; the time a live session holds a chair or a monitor is "busy".
SLOT_FREE = "free"
SLOT_BUSY = "busy"
SLOT_STATUS_CODES = frozenset(
    {"busy", "free", "busy-unavailable", "busy-tentative", "entered-in-error"}
)

# Staff who can monitor a session get a Schedule; prescribers are consulted, not booked.
MONITOR_ROLES = frozenset({StaffRole.NURSE, StaffRole.TECH})

# Schedule ids: one per chair, one per monitor (FHIR ids allow [A-Za-z0-9-.]{1,64}).
CHAIR_SCHEDULE_PREFIX = "chair-"
MONITOR_SCHEDULE_PREFIX = "monitor-"


def db_statuses_for(fhir_code: str) -> frozenset[AppointmentStatus]:
    """The clinic statuses a FHIR Appointment.status code stands for (empty: none)."""
    return frozenset(status for status, code in APPOINTMENT_STATUS.items() if code == fhir_code)


def chair_schedule_id(chair_id: int) -> str:
    return f"{CHAIR_SCHEDULE_PREFIX}{chair_id}"


def monitor_schedule_id(staff_id: int) -> str:
    return f"{MONITOR_SCHEDULE_PREFIX}{staff_id}"


def free_slot_id(*, schedule_id: str, treatment_type_id: int, starts_at_utc: str) -> str:
    """``free-chair-3-t1-20260303T1400Z``: which schedule, which treatment, when."""
    return f"free-{schedule_id}-t{treatment_type_id}-{starts_at_utc}"


def busy_slot_id(*, schedule_id: str, appointment_id: int) -> str:
    return f"busy-{schedule_id}-a{appointment_id}"
