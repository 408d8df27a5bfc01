"""The CapabilityStatement at ``/fhir/R4/metadata``: what this server reads and searches.

Built from the same table the views are registered from (``SEARCH_PARAMETERS``), so the
statement names exactly the parameters the searches accept.
"""

from __future__ import annotations

from collections.abc import Mapping

from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from .mapping import FHIR_VERSION, MEDIA_TYPE

# resource type -> (interactions, {search parameter: (type, documentation)})
SEARCH_PARAMETERS: Mapping[str, tuple[tuple[str, ...], Mapping[str, tuple[str, str]]]] = {
    "Patient": (
        ("read", "search-type"),
        {
            "identifier": ("token", "The MRN (system urn:clinic:mrn), matched whole."),
            "name": ("string", "Each word starts a given or a family name."),
            "birthdate": ("date", "Date of birth; prefixes eq, ne, ge, gt, le, lt."),
            "active": ("token", "true or false."),
            "_id": ("token", "Logical ids, comma-separated."),
        },
    ),
    "Appointment": (
        ("read", "search-type"),
        {
            "patient": ("reference", "Patient/<id>."),
            "date": (
                "date",
                "Start; prefixes eq, ne, ge, gt, le, lt. A date without a time is a local "
                "date of the session's location.",
            ),
            "status": ("token", "booked, arrived, fulfilled, cancelled, noshow."),
            "location": ("reference", "A location id (urn:clinic:location)."),
            "_id": ("token", "Logical ids, comma-separated."),
        },
    ),
    "Schedule": (
        ("read", "search-type"),
        {
            "active": ("token", "true or false."),
            "_id": ("token", "chair-<id> or monitor-<id>, comma-separated."),
        },
    ),
    "Slot": (
        ("search-type",),
        {
            "schedule": ("reference", "Schedule/chair-<id> or Schedule/monitor-<id>."),
            "start": ("date", "Start; prefixes ge, gt, le, lt, eq. Default: the next 7 days."),
            "status": ("token", "free (the front desk's availability search) or busy."),
            "service-type": (
                "token",
                "Treatment type (urn:clinic:treatment-type); needed for free slots.",
            ),
        },
    ),
}


def capability_statement(*, base_url: str, software_version: str, date: str) -> CapabilityStatement:
    return CapabilityStatement.model_validate(
        {
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": date,
            "kind": "instance",
            "software": {"name": "clinic", "version": software_version},
            "implementation": {
                "description": "Clinic scheduling: read-only FHIR R4 interface",
                "url": base_url,
            },
            "fhirVersion": FHIR_VERSION,
            "format": [MEDIA_TYPE, "json"],
            "rest": [
                {
                    "mode": "server",
                    "documentation": "Read-only. Send an API token as 'Authorization: Bearer "
                    "<token>' (created with 'clinic create-token USERNAME' or on the "
                    "tokens page); the token's user role decides what may be read. "
                    "Searches page with _count (at most 100) and the Bundle's next link.",
                    "security": {
                        "cors": False,
                        "description": "Bearer API tokens (RFC 6750), one per user; "
                        "not OAuth or SMART on FHIR.",
                    },
                    "resource": [
                        {
                            "type": resource_type,
                            "interaction": [{"code": code} for code in interactions],
                            "searchParam": [
                                {"name": name, "type": kind, "documentation": text}
                                for name, (kind, text) in parameters.items()
                            ],
                        }
                        for resource_type, (interactions, parameters) in SEARCH_PARAMETERS.items()
                    ],
                }
            ],
        }
    )
