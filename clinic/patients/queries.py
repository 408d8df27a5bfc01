"""Finding patients: the search behind the front desk's box and the API, and single lookups."""

from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..models import Patient
from .validation import PatientNotFound

SEARCH_LIMIT = 50


def mrn_taken(session: Session, mrn: str, *, except_id: int | None = None) -> bool:
    """Whether another patient has this MRN (ignoring case)."""
    query = sa.select(Patient.id).where(sa.func.lower(Patient.mrn) == mrn.lower())
    if except_id is not None:
        query = query.where(Patient.id != except_id)
    return session.scalar(query.limit(1)) is not None


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
    """Patients matching a name, MRN, date of birth or phone number, in one query.

    Every word of the query must match something: a date matches the date of birth, a
    word of digits matches the MRN or the phone, other words match the start of a first or
    last name or of the MRN. So "kim 1984-02-03" finds the Kim born that day.
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
        digits = re.sub(r"\D", "", word)
        prefix = _like_escape(word.lower()) + "%"
        options = [
            sa.func.lower(Patient.given_name).like(prefix, escape="\\"),
            sa.func.lower(Patient.family_name).like(prefix, escape="\\"),
            sa.func.lower(Patient.mrn).like(prefix, escape="\\"),
        ]
        if len(digits) >= 4 and len(digits) >= len(word) - 6:
            options.append(Patient.phone.like("%" + digits + "%"))
            options.append(sa.func.lower(Patient.mrn).like("%" + digits + "%"))
        conditions.append(sa.or_(*options))
    statement = sa.select(Patient).where(*conditions)
    if not include_inactive:
        statement = statement.where(Patient.active)
    statement = statement.order_by(
        Patient.family_name, Patient.given_name, Patient.date_of_birth, Patient.id
    ).limit(max(1, min(limit, 200)))
    return list(session.scalars(statement))


def get_patient(session: Session, *, patient_id: int) -> Patient:
    """The patient with this id; :class:`PatientNotFound` (a 404) when there is none."""
    patient = session.get(Patient, patient_id)
    if patient is None:
        raise PatientNotFound(f"There is no patient with id {patient_id}.")
    return patient
