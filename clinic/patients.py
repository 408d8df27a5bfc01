"""Patient records: search, create and update, with the validation every entry point shares.

The web forms and the JSON API both call these functions, so a rule (E.164 phone, a real
email address, a date of birth in the past, a unique MRN) is written once, here. Errors
carry one message per field so a form can show each next to its input.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields

import phonenumbers
import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.orm import Session, joinedload

from .audit import Actor, record_event
from .errors import Invalid, NotFound
from .models import (
    Appointment,
    AppointmentStatus,
    Notification,
    Patient,
    Series,
    SeriesStatus,
)

DEFAULT_PHONE_REGION = "US"
OLDEST_BIRTH_YEAR = 1900
MRN_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
SEARCH_LIMIT = 50


class PatientError(Invalid):
    """The patient cannot be saved as given; ``fields`` maps field names to messages."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__(fields=errors)


class PatientNotFound(NotFound):
    """No patient has this id."""


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


# --- validation ---------------------------------------------------------------------------


def normalise_phone(raw: str | None, *, region: str = DEFAULT_PHONE_REGION) -> str | None:
    """The number in E.164 (``+12015550123``), or None when blank. Raises ValueError."""
    text = (raw or "").strip()
    if not text:
        return None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as error:
        raise ValueError(
            "Enter a phone number with its country code, e.g. +1 201 555 0123."
        ) from error
    if not phonenumbers.is_valid_number(number):
        raise ValueError("This is not a valid phone number; include the country code, e.g. +44.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


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

    mrn = (data.mrn or "").strip()
    if not mrn:
        errors["mrn"] = "Enter the medical record number (MRN)."
    elif not MRN_PATTERN.match(mrn):
        errors["mrn"] = "The MRN may use letters, digits, '.', '-' and '_' (up to 32)."

    given_name = _text(data.given_name, limit=200)
    family_name = _text(data.family_name, limit=200)
    for name, value in (("given_name", given_name), ("family_name", family_name)):
        if not value:
            errors[name] = "Enter the " + ("first" if name == "given_name" else "last") + " name."
        elif len(value) > 80:
            errors[name] = "Use at most 80 characters."

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

    escort_name = _text(data.escort_name, limit=200) or None
    if escort_name and len(escort_name) > 120:
        errors["escort_name"] = "Use at most 120 characters."

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
    if len(notes) > 5000:
        errors["notes"] = "Notes may be at most 5000 characters."

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


def _mrn_taken(session: Session, mrn: str, *, except_id: int | None = None) -> bool:
    query = sa.select(Patient.id).where(sa.func.lower(Patient.mrn) == mrn.lower())
    if except_id is not None:
        query = query.where(Patient.id != except_id)
    return session.scalar(query.limit(1)) is not None


MRN_TAKEN = "Another patient already has this MRN."


def _apply(patient: Patient, clean: CleanPatient, *, now: dt.datetime) -> list[str]:
    """Copy the clean values onto the row; return the names of the fields that changed."""
    changed = []
    for item in fields(CleanPatient):
        value = getattr(clean, item.name)
        if getattr(patient, item.name, None) != value:
            setattr(patient, item.name, value)
            changed.append(item.name)
    # Consent to texts is recorded when it is given and forgotten when it is withdrawn.
    if clean.sms_opt_in and patient.sms_consent_at is None:
        patient.sms_consent_at = now
    elif not clean.sms_opt_in and patient.sms_consent_at is not None:
        patient.sms_consent_at = None
    return changed


def _commit_or_mrn_error(session: Session) -> None:
    try:
        session.commit()
    except sa.exc.IntegrityError as error:
        # Two receptionists registering the same MRN at once: the unique index decides.
        session.rollback()
        raise PatientError({"mrn": MRN_TAKEN}) from error


# --- use cases ----------------------------------------------------------------------------


def create_patient(
    session: Session,
    *,
    data: PatientInput,
    actor: Actor,
    now: dt.datetime,
    region: str = DEFAULT_PHONE_REGION,
) -> Patient:
    clean = clean_patient_input(data, today=now.date(), region=region)
    if _mrn_taken(session, clean.mrn):
        raise PatientError({"mrn": MRN_TAKEN})
    patient = Patient(created_at=now, updated_at=now)
    _apply(patient, clean, now=now)
    session.add(patient)
    session.flush()
    record_event(
        session,
        actor,
        action="patient.create",
        entity_type="patient",
        entity_id=patient.id,
        patient_id=patient.id,
        summary=f"patient {patient.id} created",
    )
    _commit_or_mrn_error(session)
    return patient


def update_patient(
    session: Session,
    *,
    patient_id: int,
    data: PatientInput,
    actor: Actor,
    now: dt.datetime,
    region: str = DEFAULT_PHONE_REGION,
) -> Patient:
    patient = session.get(Patient, patient_id)
    if patient is None:
        raise PatientNotFound(f"There is no patient with id {patient_id}.")
    clean = clean_patient_input(data, today=now.date(), region=region)
    if _mrn_taken(session, clean.mrn, except_id=patient_id):
        raise PatientError({"mrn": MRN_TAKEN})
    changed = _apply(patient, clean, now=now)
    if not changed:
        session.rollback()
        return patient
    patient.updated_at = now
    record_event(
        session,
        actor,
        action="patient.update",
        entity_type="patient",
        entity_id=patient.id,
        patient_id=patient.id,
        summary="changed: " + ", ".join(changed),
    )
    _commit_or_mrn_error(session)
    return patient


def patient_input_from(patient: Patient) -> PatientInput:
    """The current record as input, e.g. to prefill an edit form."""
    return PatientInput(
        mrn=patient.mrn,
        given_name=patient.given_name,
        family_name=patient.family_name,
        date_of_birth=patient.date_of_birth,
        email=patient.email,
        phone=patient.phone,
        email_opt_in=patient.email_opt_in,
        sms_opt_in=patient.sms_opt_in,
        escort_name=patient.escort_name,
        escort_phone=patient.escort_phone,
        rems_enrolled_on=patient.rems_enrolled_on,
        notes=patient.notes,
        active=patient.active,
    )


# --- search -------------------------------------------------------------------------------

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


# --- the patient page ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SeriesProgress:
    series: Series
    done: int  # sessions discharged
    planned: int  # sessions not cancelled (done, to come, no-shows excluded)
    upcoming: int
    next_session: Appointment | None

    @property
    def label(self) -> str:
        return f"{self.done} of {self.planned}"


@dataclass(frozen=True, slots=True)
class PatientRecord:
    patient: Patient
    upcoming: list[Appointment]
    past: list[Appointment]
    series: list[SeriesProgress]
    notifications: list[Notification]
    position_in_series: dict[int, tuple[int, int]] = field(default_factory=dict)

    @property
    def appointments_by_id(self) -> dict[int, Appointment]:
        return {a.id: a for a in [*self.upcoming, *self.past]}


def load_patient_record(
    session: Session, *, patient_id: int, actor: Actor, now: dt.datetime
) -> PatientRecord:
    """Everything the patient page shows, in a few bulk queries, and the audit row of the view.

    Reading a health record is itself audited (who looked at whom, when), so this commits.
    """
    if session.scalar(sa.select(Patient.id).where(Patient.id == patient_id)) is None:
        raise PatientNotFound(f"There is no patient with id {patient_id}.")
    # Audit first and commit, so the rows loaded below are not expired by the commit.
    record_event(
        session,
        actor,
        action="patient.view",
        entity_type="patient",
        entity_id=patient_id,
        patient_id=patient_id,
        summary=f"patient {patient_id} record opened",
    )
    session.commit()
    patient = session.get(Patient, patient_id)
    assert patient is not None
    appointments = list(
        session.scalars(
            sa.select(Appointment)
            .where(Appointment.patient_id == patient_id)
            .options(
                joinedload(Appointment.treatment_type),
                joinedload(Appointment.location),
                joinedload(Appointment.chair),
                joinedload(Appointment.monitor),
            )
            .order_by(Appointment.starts_at)
        )
    )
    series_rows = list(
        session.scalars(
            sa.select(Series)
            .where(Series.patient_id == patient_id)
            .options(joinedload(Series.treatment_type), joinedload(Series.protocol))
            .order_by(Series.created_at.desc(), Series.id.desc())
        )
    )
    notifications = list(
        session.scalars(
            sa.select(Notification)
            .join(Appointment, Notification.appointment_id == Appointment.id)
            .where(Appointment.patient_id == patient_id)
            .order_by(Notification.due_at.desc(), Notification.id.desc())
            .limit(200)
        )
    )
    upcoming = [a for a in appointments if a.ends_at >= now and a.status not in _FINISHED_STATUSES]
    upcoming_ids = {a.id for a in upcoming}
    past = [a for a in reversed(appointments) if a.id not in upcoming_ids]

    by_series: dict[int, list[Appointment]] = {}
    for appointment in appointments:
        if appointment.series_id is not None:
            by_series.setdefault(appointment.series_id, []).append(appointment)
    progress = []
    positions: dict[int, tuple[int, int]] = {}
    for series in series_rows:
        sessions = by_series.get(series.id, [])
        counted = [a for a in sessions if a.status != AppointmentStatus.CANCELLED]
        for index, appointment in enumerate(counted, start=1):
            positions[appointment.id] = (index, len(counted))
        to_come = [a for a in counted if a.id in upcoming_ids]
        progress.append(
            SeriesProgress(
                series=series,
                done=sum(1 for a in counted if a.status == AppointmentStatus.DISCHARGED),
                planned=len(counted),
                upcoming=len(to_come),
                next_session=to_come[0] if to_come else None,
            )
        )
    return PatientRecord(
        patient=patient,
        upcoming=upcoming,
        past=past,
        series=progress,
        notifications=notifications,
        position_in_series=positions,
    )


_FINISHED_STATUSES = frozenset(
    {AppointmentStatus.DISCHARGED, AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW}
)


def active_series_count(series: Sequence[SeriesProgress]) -> int:
    return sum(1 for item in series if item.series.status == SeriesStatus.ACTIVE)


def get_patient(session: Session, *, patient_id: int) -> Patient | None:
    return session.get(Patient, patient_id)
