"""Patients: the records the front desk keeps (the web forms and the JSON API share these).

- ``validation``: what may be saved, field by field (E.164 phones, a real email address, a
  date of birth in the past, an MRN's shape).
- ``service``: register, update, and open a record (an audited read).
- ``queries``: the search and single lookups.
"""

from ..notify.phone import DEFAULT_PHONE_REGION
from .queries import SEARCH_LIMIT, get_patient, mrn_taken, search_patients
from .service import (
    PatientRecord,
    SeriesProgress,
    active_series_count,
    create_patient,
    load_patient_record,
    patient_input_from,
    update_patient,
)
from .validation import (
    EMAIL_MAX,
    ESCORT_NAME_MAX,
    MRN_MAX,
    MRN_PATTERN,
    MRN_TAKEN,
    NAME_MAX,
    NOTES_MAX,
    OLDEST_BIRTH_YEAR,
    CleanPatient,
    PatientError,
    PatientInput,
    PatientNotFound,
    PossibleDuplicate,
    clean_patient_input,
    normalise_email,
    parse_date,
)

__all__ = [
    "DEFAULT_PHONE_REGION",
    "EMAIL_MAX",
    "ESCORT_NAME_MAX",
    "MRN_MAX",
    "MRN_PATTERN",
    "MRN_TAKEN",
    "NAME_MAX",
    "NOTES_MAX",
    "OLDEST_BIRTH_YEAR",
    "SEARCH_LIMIT",
    "CleanPatient",
    "PatientError",
    "PatientInput",
    "PatientNotFound",
    "PossibleDuplicate",
    "PatientRecord",
    "SeriesProgress",
    "active_series_count",
    "clean_patient_input",
    "create_patient",
    "get_patient",
    "load_patient_record",
    "mrn_taken",
    "normalise_email",
    "parse_date",
    "patient_input_from",
    "search_patients",
    "update_patient",
]
