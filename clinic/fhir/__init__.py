"""A read-only HL7 FHIR R4 interface under ``/fhir/R4`` for EHRs and referral portals:
Patient, Appointment, Schedule (one per chair, one per monitor) and Slot.

- ``mapping``: status mappings, code systems and ids (the one place);
- ``params``: FHIR search parameter syntax; ``search`` and ``slots``: the queries;
- ``resources`` and ``capability``: the resources, built with ``fhir.resources``;
- ``views``: the blueprint (bearer tokens as the JSON API, OperationOutcome errors).
"""

from .views import bp

__all__ = ["bp"]
