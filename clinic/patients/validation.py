"""Checking what a receptionist or an API client supplies for a patient, field by field.

Every problem is collected at once (a form shows them together), each under its field's
name. Phone numbers are read by ``clinic.notify.phone``, the one place numbers are read.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email

from ..errors import Invalid, NotFound, Refused
from ..notify.phone import DEFAULT_PHONE_REGION, normalise_phone
from ..text import text_problem

OLDEST_BIRTH_YEAR = 1900
# The longest values a record holds: the web form, the service and the columns all use these.
MRN_MAX = 32
NAME_MAX = 80
ESCORT_NAME_MAX = 120
EMAIL_MAX = 254
NOTES_MAX = 5000
MRN_PATTERN = re.compile(rf"^[A-Za-z0-9][A-Za-z0-9._-]{{0,{MRN_MAX - 1}}}$")
MRN_TAKEN = "Another patient already has this MRN."


class PatientError(Invalid):
    """The patient cannot be saved as given; ``fields`` maps field names to messages."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__(fields=errors)


class PatientNotFound(NotFound):
    """No patient has this id."""


class PossibleDuplicate(Refused):
    """Someone with the same name and date of birth is already registered.

    Not a rule: two people may share both. The desk is asked to look first, then may go on
    (``create_patient(..., duplicate_check=False)``). ``matches`` are the existing records.
    """

    def __init__(self, matches: Sequence[tuple[int, str, str]]) -> None:
        listed = "; ".join(f"{name} (MRN {mrn})" for _, name, mrn in matches)
        super().__init__(
            f"Already registered with this name and date of birth: {listed}. Open that record "
            "instead, or, if this is a different person, tick the box and register again.",
            fields={"confirm_new_person": "Tick if this is a different person."},
        )
        self.matches = list(matches)


@dataclass(frozen=True, slots=True)
class PatientInput:
    """What a receptionist (or an API client) supplies; validated by ``clean_patient_input``.

    Dates may be ``date`` objects or ISO strings (``YYYY-MM-DD``) so the JSON API can pass
    its values straight through; phones may be written as people write them and are stored
    in E.164.
    """

    mrn: str
    given_name: str
    family_name: str
    date_of_birth: dt.date | str | None
    email: str | None = None
    phone: str | None = None
    email_opt_in: bool = True
    sms_opt_in: bool = False
    escort_name: str | None = None
    escort_phone: str | None = None
    rems_enrolled_on: dt.date | str | None = None
    notes: str = ""
    active: bool = True


@dataclass(frozen=True, slots=True)
class CleanPatient:
    mrn: str
    given_name: str
    family_name: str
    date_of_birth: dt.date
    email: str | None
    phone: str | None
    email_opt_in: bool
    sms_opt_in: bool
    escort_name: str | None
    escort_phone: str | None
    rems_enrolled_on: dt.date | None
    notes: str
    active: bool


def normalise_email(raw: str | None) -> str | None:
    text = (raw or "").strip()
    if not text:
        return None
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise ValueError(f"This email address is not valid: {error}") from error


def parse_date(raw: dt.date | str | None) -> dt.date | None:
    if raw is None or isinstance(raw, dt.date):
        return raw
    text = raw.strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError as error:
        raise ValueError("Enter the date as YYYY-MM-DD.") from error


def _text(value: str | None, *, limit: int) -> str:
    return " ".join((value or "").split())[:limit] if value else ""


def clean_patient_input(
    data: PatientInput, *, today: dt.date, region: str = DEFAULT_PHONE_REGION
) -> CleanPatient:
    """Check every field and collect all problems at once, so the form shows them together."""
    errors: dict[str, str] = {}
    # Checked before anything else touches them: collapsing whitespace would hide some.
    for name, raw, multiline in (
        ("given_name", data.given_name, False),
        ("family_name", data.family_name, False),
        ("escort_name", data.escort_name, False),
        ("notes", data.notes, True),
    ):
        if problem := text_problem(raw, multiline=multiline):
            errors[name] = problem

    mrn = (data.mrn or "").strip()
    if not mrn:
        errors["mrn"] = "Enter the medical record number (MRN)."
    elif not MRN_PATTERN.match(mrn):
        errors["mrn"] = f"The MRN may use letters, digits, '.', '-' and '_' (up to {MRN_MAX})."

    given_name = _text(data.given_name, limit=NAME_MAX + 1)
    family_name = _text(data.family_name, limit=NAME_MAX + 1)
    for name, value in (("given_name", given_name), ("family_name", family_name)):
        if name in errors:
            continue
        if not value:
            errors[name] = "Enter the " + ("first" if name == "given_name" else "last") + " name."
        elif len(value) > NAME_MAX:
            errors[name] = f"Use at most {NAME_MAX} characters."

    date_of_birth: dt.date | None = None
    try:
        date_of_birth = parse_date(data.date_of_birth)
    except ValueError as error:
        errors["date_of_birth"] = str(error)
    else:
        if date_of_birth is None:
            errors["date_of_birth"] = "Enter the date of birth."
        elif date_of_birth >= today:
            errors["date_of_birth"] = "The date of birth must be in the past."
        elif date_of_birth.year < OLDEST_BIRTH_YEAR:
            errors["date_of_birth"] = f"The date of birth must be after {OLDEST_BIRTH_YEAR}."

    email: str | None = None
    try:
        email = normalise_email(data.email)
    except ValueError as error:
        errors["email"] = str(error)

    phone: str | None = None
    try:
        phone = normalise_phone(data.phone, region=region)
    except ValueError as error:
        errors["phone"] = str(error)

    escort_phone: str | None = None
    try:
        escort_phone = normalise_phone(data.escort_phone, region=region)
    except ValueError as error:
        errors["escort_phone"] = str(error)

    escort_name = _text(data.escort_name, limit=ESCORT_NAME_MAX + 1) or None
    if escort_name and len(escort_name) > ESCORT_NAME_MAX and "escort_name" not in errors:
        errors["escort_name"] = f"Use at most {ESCORT_NAME_MAX} characters."

    rems_enrolled_on: dt.date | None = None
    try:
        rems_enrolled_on = parse_date(data.rems_enrolled_on)
    except ValueError as error:
        errors["rems_enrolled_on"] = str(error)
    else:
        if rems_enrolled_on is not None and rems_enrolled_on > today:
            errors["rems_enrolled_on"] = "The REMS enrollment date cannot be in the future."

    if data.sms_opt_in and not phone and "phone" not in errors:
        errors["sms_opt_in"] = "Text reminders need a mobile phone number."

    notes = (data.notes or "").strip()
    if len(notes) > NOTES_MAX and "notes" not in errors:
        errors["notes"] = f"Notes may be at most {NOTES_MAX} characters."

    if errors:
        raise PatientError(errors)
    assert date_of_birth is not None
    return CleanPatient(
        mrn=mrn,
        given_name=given_name,
        family_name=family_name,
        date_of_birth=date_of_birth,
        email=email,
        phone=phone,
        email_opt_in=bool(data.email_opt_in),
        sms_opt_in=bool(data.sms_opt_in),
        escort_name=escort_name,
        escort_phone=escort_phone,
        rems_enrolled_on=rems_enrolled_on,
        notes=notes,
        active=bool(data.active),
    )
