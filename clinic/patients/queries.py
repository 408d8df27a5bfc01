"""Finding patients: the search behind the front desk's box and the API, and single lookups."""

from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..models import Patient
from ..text import fold
from .validation import CleanPatient, PatientNotFound

SEARCH_LIMIT = 50
# Shorter words match the start of a word only; from three letters on, anywhere.
MIN_ANYWHERE = 3


def mrn_taken(session: Session, mrn: str, *, except_id: int | None = None) -> bool:
    """Whether another patient has this MRN (ignoring case)."""
    query = sa.select(Patient.id).where(sa.func.lower(Patient.mrn) == mrn.lower())
    if except_id is not None:
        query = query.where(Patient.id != except_id)
    return session.scalar(query.limit(1)) is not None


def same_name_and_birth(session: Session, clean: CleanPatient) -> list[Patient]:
    """Patients (active or not) born the same day with the same names, ignoring case and
    accents: most likely the same person registered twice."""
    given, family = fold(clean.given_name), fold(clean.family_name)
    born_that_day = session.scalars(
        sa.select(Patient)
        .where(Patient.date_of_birth == clean.date_of_birth)
        .order_by(Patient.id)
        .limit(200)
    )
    return [
        patient
        for patient in born_that_day
        if fold(patient.given_name) == given and fold(patient.family_name) == family
    ]


_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%d.%m.%Y")


def _as_date(token: str) -> dt.date | None:
    for pattern in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(token, pattern).date()
        except ValueError:
            continue
    return None


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_patients(
    session: Session, *, query: str, limit: int = SEARCH_LIMIT, include_inactive: bool = False
) -> list[Patient]:
    """Patients matching a name, MRN, date of birth, phone number or email, in one query.

    Every word of the query must match. A date matches the date of birth; any other word of
    three letters or more matches anywhere in the patient's folded search text (names, MRN,
    phone digits, email; lower case, accents dropped), a shorter one a word's start. So
    "rivera" finds "Lopez-Rivera", "nunez" finds "Núñez", "kim 1984-02-03" the Kim born that
    day. A word with digits also matches them without punctuation ("555-0123"). On
    PostgreSQL a trigram index serves the matches (migration 0006).
    """
    words = query.split()
    if not words:
        return []
    conditions = []
    # A phone number typed with spaces or dashes ("201 555 0123") is one search term.
    packed = re.sub(r"[\s\-().]", "", query)
    if len(words) > 1 and re.fullmatch(r"\+?\d{4,}", packed):
        words = [packed.lstrip("+")]
    for word in words[:6]:
        if (birthday := _as_date(word)) is not None:
            conditions.append(Patient.date_of_birth == birthday)
            continue
        folded = fold(word)
        if len(folded) < MIN_ANYWHERE:
            # "a" anywhere is nearly everyone (and no trigram can serve it): a word start.
            start = _like_escape(folded) + "%"
            options = [
                Patient.search_text.like(start, escape="\\"),
                Patient.search_text.like("% " + start, escape="\\"),
            ]
        else:
            options = [Patient.search_text.like(_anywhere(folded), escape="\\")]
        digits = re.sub(r"\D", "", word)
        if len(digits) >= 4 and len(digits) >= len(word) - 6 and digits != word:
            options.append(Patient.search_text.like(_anywhere(digits), escape="\\"))
        conditions.append(sa.or_(*options))
    statement = sa.select(Patient).where(*conditions)
    if not include_inactive:
        statement = statement.where(Patient.active)
    statement = statement.order_by(
        Patient.family_name, Patient.given_name, Patient.date_of_birth, Patient.id
    ).limit(max(1, min(limit, 200)))
    return list(session.scalars(statement))


def _anywhere(text: str) -> str:
    return "%" + _like_escape(text) + "%"


def get_patient(session: Session, *, patient_id: int) -> Patient:
    """The patient with this id; :class:`PatientNotFound` (a 404) when there is none."""
    patient = session.get(Patient, patient_id)
    if patient is None:
        raise PatientNotFound(f"There is no patient with id {patient_id}.")
    return patient
