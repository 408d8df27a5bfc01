"""A session's day at the clinic: arrival, treatment, monitoring, discharge or no-show.

``booked → checked_in → in_treatment → monitoring → discharged``; a booked session whose
start has passed may instead be marked ``no_show``. Each step is one use case: it checks
the current status, changes the row, writes the audit event and commits. A step that does
not apply raises :class:`InvalidTransition` with a reason the front desk can act on.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from ..audit import Actor, record_event
from ..models import Appointment, AppointmentStatus
from ..monitoring import gates
from ..monitoring.errors import DischargeRefused
from ..monitoring.record import session_record
from ..notify.outbox import withdraw_pending_reminders
from ..notify.phone import normalise_phone
from . import rebooking
from .board import STATUS_LABELS
from .errors import InvalidRequest, InvalidTransition, NotFound

MAX_REASON_LENGTH = 300
MAX_ESCORT_NAME = 120


def _load(session: Session, appointment_id: int) -> Appointment:
    # FOR UPDATE on PostgreSQL: two nurses pressing the same button do the step once.
    appointment = session.get(Appointment, appointment_id, with_for_update=True)
    if appointment is None:
        raise NotFound(f"There is no session with id {appointment_id}.")
    return appointment


def _require_status(appointment: Appointment, expected: AppointmentStatus, action: str) -> None:
    if appointment.status == expected:
        return
    current = STATUS_LABELS[AppointmentStatus(appointment.status)].lower()
    raise InvalidTransition(
        f"Cannot {action}: the session is {current}, "
        f"and only a {STATUS_LABELS[expected].lower()} session can be {_PAST[action]}."
    )


_PAST = {
    "check in": "checked in",
    "start treatment": "started",
    "start monitoring": "moved to monitoring",
    "discharge": "discharged",
    "mark as no-show": "marked as no-show",
}


def _local_day(appointment: Appointment, moment: dt.datetime) -> dt.date:
    return moment.astimezone(appointment.location.tz).date()


def _audit(
    session: Session, actor: Actor, appointment: Appointment, action: str, summary: str = ""
) -> None:
    record_event(
        session,
        actor,
        action=f"appointment.{action}",
        entity_type="appointment",
        entity_id=appointment.id,
        patient_id=appointment.patient_id,
        summary=summary or f"appointment {appointment.id} {action.replace('_', ' ')}",
    )


def check_in(
    session: Session,
    *,
    appointment_id: int,
    actor: Actor,
    now: dt.datetime,
    escort_name: str | None = None,
    escort_phone: str | None = None,
    escort_confirmed: bool = False,
) -> Appointment:
    """The patient has arrived. Optionally record who will take them home.

    Only on the day of the session (in the location's time): a click on the wrong row of
    next week's list must not mark someone as present.
    """
    appointment = _load(session, appointment_id)
    _require_status(appointment, AppointmentStatus.BOOKED, "check in")
    rebooking.require_runnable(session, appointment, now=now)
    session_day = _local_day(appointment, appointment.starts_at)
    if _local_day(appointment, now) != session_day:
        raise InvalidTransition(
            "A patient can be checked in only on the day of their session "
            f"({session_day.strftime('%a %-d %b %Y')})."
        )
    _record_escort(appointment, escort_name, escort_phone, escort_confirmed, now)
    appointment.status = AppointmentStatus.CHECKED_IN
    appointment.checked_in_at = now
    appointment.updated_at = now
    session_record(session, appointment)
    # The patient is here: a "your session is in 2 hours" message would only confuse.
    withdraw_pending_reminders(session, appointment_ids=[appointment.id], now=now)
    _audit(
        session,
        actor,
        appointment,
        "check_in",
        f"appointment {appointment.id} checked in"
        + ("; escort confirmed" if appointment.escort_confirmed_at else ""),
    )
    session.commit()
    return appointment


def _record_escort(
    appointment: Appointment,
    escort_name: str | None,
    escort_phone: str | None,
    confirmed: bool,
    now: dt.datetime,
) -> None:
    """Validate everything first, then change the row: an error leaves it untouched."""
    name = " ".join((escort_name or "").split())
    if len(name) > MAX_ESCORT_NAME:
        raise InvalidRequest(f"The escort's name may be at most {MAX_ESCORT_NAME} characters.")
    try:
        phone = normalise_phone(escort_phone)
    except ValueError as error:
        raise InvalidRequest(f"Escort phone: {error}") from error
    if confirmed and not (name or appointment.escort_name):
        raise InvalidRequest("Enter the escort's name before confirming the escort.")
    if name:
        appointment.escort_name = name
    if phone:
        appointment.escort_phone = phone
    if confirmed and appointment.escort_confirmed_at is None:
        appointment.escort_confirmed_at = now


def confirm_escort(
    session: Session,
    *,
    appointment_id: int,
    actor: Actor,
    now: dt.datetime,
    escort_name: str | None = None,
    escort_phone: str | None = None,
) -> Appointment:
    """Record that the person taking the patient home is confirmed (at any point of the day)."""
    appointment = _load(session, appointment_id)
    if not appointment.is_live or appointment.status == AppointmentStatus.DISCHARGED:
        current = STATUS_LABELS[AppointmentStatus(appointment.status)].lower()
        raise InvalidTransition(f"The session is {current}; there is no escort to confirm.")
    _record_escort(appointment, escort_name, escort_phone, True, now)
    appointment.updated_at = now
    _audit(session, actor, appointment, "escort_confirm")
    session.commit()
    return appointment


def start_treatment(
    session: Session, *, appointment_id: int, actor: Actor, now: dt.datetime
) -> Appointment:
    appointment = _load(session, appointment_id)
    _require_status(appointment, AppointmentStatus.CHECKED_IN, "start treatment")
    rebooking.require_runnable(session, appointment, now=now)
    gates.check_treatment_start(session, appointment, now=now)
    session_record(session, appointment).treatment_started_at = now
    appointment.status = AppointmentStatus.IN_TREATMENT
    appointment.updated_at = now
    _audit(session, actor, appointment, "start_treatment")
    session.commit()
    return appointment


def start_monitoring(
    session: Session, *, appointment_id: int, actor: Actor, now: dt.datetime
) -> Appointment:
    appointment = _load(session, appointment_id)
    _require_status(appointment, AppointmentStatus.IN_TREATMENT, "start monitoring")
    appointment.status = AppointmentStatus.MONITORING
    appointment.updated_at = now
    _audit(session, actor, appointment, "start_monitoring")
    session.commit()
    return appointment


def discharge(
    session: Session,
    *,
    appointment_id: int,
    actor: Actor,
    now: dt.datetime,
    escort_confirmed: bool,
    override_reason: str | None = None,
    escort_name: str | None = None,
) -> Appointment:
    """Send the patient home once every discharge condition is met (see
    :func:`clinic.monitoring.gates.discharge_conditions`), or with an override.

    The override is for the rare case (the escort is late and a clinic taxi takes the
    patient; a reading the prescriber accepts): only a nurse or prescriber may give it, with
    a written reason; the unmet conditions are kept on the record and it is audited as its
    own action so it stands out in the trail.
    """
    appointment = _load(session, appointment_id)
    _require_status(appointment, AppointmentStatus.MONITORING, "discharge")
    reason = " ".join((override_reason or "").split())
    name = " ".join((escort_name or "").split())[:MAX_ESCORT_NAME] or (
        appointment.escort_name or appointment.patient.escort_name
    )
    confirmed = escort_confirmed or appointment.escort_confirmed_at is not None
    unmet = gates.discharge_conditions(
        session, appointment, now=now, escort_named=bool(confirmed and name)
    )
    if unmet and not reason:
        raise DischargeRefused(unmet)
    if unmet:
        gates.require_override_authority(session, actor, reason)
        _record_override(session, actor, appointment, unmet, reason, now)
    if escort_confirmed and name:
        appointment.escort_name = name
        if appointment.escort_confirmed_at is None:
            appointment.escort_confirmed_at = now
    appointment.status = AppointmentStatus.DISCHARGED
    appointment.discharged_at = now
    appointment.updated_at = now
    _audit(session, actor, appointment, "discharge")
    session.commit()
    return appointment


def _record_override(
    session: Session,
    actor: Actor,
    appointment: Appointment,
    unmet: list[str],
    reason: str,
    now: dt.datetime,
) -> None:
    record = session_record(session, appointment)
    record.override_conditions = unmet
    record.override_reason = reason
    record.override_by_id = actor.user_id
    record.override_by = actor.username
    record.overridden_at = now
    appointment.discharge_override_reason = reason
    _audit(
        session,
        actor,
        appointment,
        "discharge_override",
        f"appointment {appointment.id} discharged with {len(unmet)} unmet condition(s) (override)",
    )


def mark_no_show(
    session: Session, *, appointment_id: int, actor: Actor, now: dt.datetime
) -> Appointment:
    """The patient did not come. Frees the chair and the monitor for the rest of the window."""
    appointment = _load(session, appointment_id)
    _require_status(appointment, AppointmentStatus.BOOKED, "mark as no-show")
    if now < appointment.starts_at:
        local_start = appointment.starts_at.astimezone(appointment.location.tz)
        raise InvalidTransition(
            "A session can be marked as a no-show only once its start time has passed "
            f"({local_start.strftime('%H:%M')})."
        )
    appointment.status = AppointmentStatus.NO_SHOW
    appointment.updated_at = now
    _audit(session, actor, appointment, "no_show")
    session.commit()
    return appointment
