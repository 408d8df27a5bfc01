"""The gates on the day: when treatment may start, and what discharge needs.

``clinic.scheduling.status`` calls these inside its own transaction; each gate lives here
once, for the web UI and the API alike.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..audit import Actor
from ..models import (
    RELEASED_STATUSES,
    Appointment,
    AppointmentStatus,
    Role,
    StaffRole,
    User,
)
from . import queries
from .errors import OverrideRefused, TreatmentStartRefused

GONE = frozenset({*RELEASED_STATUSES, AppointmentStatus.DISCHARGED})
MAX_OVERRIDE_REASON = 300


def check_treatment_start(session: Session, appointment: Appointment, *, now: dt.datetime) -> None:
    """No earlier than the treatment type allows before the booked start, and only if the
    chair and the monitor are free from now on."""
    tz = appointment.location.tz
    early = appointment.treatment_type.start_early_minutes
    opens = appointment.starts_at - dt.timedelta(minutes=early)
    if now < opens:
        raise TreatmentStartRefused(
            f"Treatment can start from {opens.astimezone(tz):%H:%M} at the earliest "
            f"({early} minutes before the booked {appointment.starts_at.astimezone(tz):%H:%M})."
        )
    if now >= appointment.starts_at:
        return
    # Starting early moves the session's windows into [now, starts_at): who is still there?
    others = session.execute(
        sa.select(
            Appointment.id, Appointment.chair_id, Appointment.monitor_id, Appointment.ends_at
        ).where(
            Appointment.id != appointment.id,
            Appointment.status.not_in(list(GONE)),
            Appointment.starts_at < appointment.starts_at,
            Appointment.busy_until > now,
            sa.or_(
                Appointment.chair_id == appointment.chair_id,
                Appointment.monitor_id == appointment.monitor_id,
            ),
        )
    ).all()
    if any(row.chair_id == appointment.chair_id for row in others):
        raise TreatmentStartRefused(
            f"Chair {appointment.chair.label} is still taken by another session; start at "
            f"{appointment.starts_at.astimezone(tz):%H:%M} or when the chair is free."
        )
    watched = sum(
        1 for row in others if row.monitor_id == appointment.monitor_id and row.ends_at > now
    )
    if watched + 1 > appointment.treatment_type.max_patients_per_monitor:
        raise TreatmentStartRefused(
            f"{appointment.monitor.name} already watches {watched} patient(s) now; starting "
            f"early would exceed {appointment.treatment_type.max_patients_per_monitor} per nurse."
        )


def _hm(moment: dt.datetime, appointment: Appointment) -> str:
    return f"{moment.astimezone(appointment.location.tz):%H:%M}"


def discharge_conditions(
    session: Session, appointment: Appointment, *, now: dt.datetime, escort_named: bool
) -> list[str]:
    """Every unmet discharge condition, in words a nurse acts on (empty: may go home)."""
    treatment = appointment.treatment_type
    view = queries.load_record(session, appointment, now=now)
    unmet: list[str] = []
    dose = view.dose
    minimum = treatment.minimum_monitoring_minutes
    if dose is None:
        unmet.append("No dose is recorded")
    elif dose.weight_kg is not None and dose.infusion_ends_at is None:
        unmet.append("Record when the infusion ended (amend the dose entry)")
    else:
        since = now - dose.dose_given_at
        if since < dt.timedelta(minutes=minimum):
            ready = dose.dose_given_at + dt.timedelta(minutes=minimum)
            unmet.append(
                f"Monitoring since the dose has lasted {int(since.total_seconds() // 60)} "
                f"minutes; {treatment.name} needs at least {minimum} "
                f"(from {_hm(ready, appointment)})"
            )
    for checkpoint in view.checkpoints:
        if not checkpoint.done:
            unmet.append(f'The vitals checkpoint "{checkpoint.label}" is not recorded')
    unmet.extend(_vitals_outside_limits(view, treatment.discharge_limits or {}))
    assessment = view.assessment
    if assessment is None:
        unmet.append(f"No discharge assessment ({treatment.discharge_scale}) is recorded")
    elif (assessment.score or 0) < treatment.discharge_min_score:
        unmet.append(
            f"The {treatment.discharge_scale} score is {assessment.score}; discharge needs "
            f"at least {treatment.discharge_min_score}"
        )
    if treatment.needs_escort and not escort_named:
        unmet.append("Confirm that the escort is here to take the patient home, by name")
    return unmet


def _vitals_outside_limits(view: queries.SessionRecordView, limits: dict[str, int]) -> list[str]:
    vitals = view.vitals
    if not vitals:
        return ["No vital signs are recorded"]
    last = vitals[-1]
    problems = []
    bp = f"{last.systolic}/{last.diastolic}"
    checks = (
        ("systolic_max", last.systolic, 1, f"The last blood pressure {bp} is above {{}} systolic"),
        ("systolic_min", last.systolic, -1, f"The last blood pressure {bp} is below {{}} systolic"),
        (
            "diastolic_max",
            last.diastolic,
            1,
            f"The last blood pressure {bp} is above {{}} diastolic",
        ),
        (
            "heart_rate_max",
            last.heart_rate,
            1,
            f"The last heart rate {last.heart_rate} is above {{}}",
        ),
        (
            "heart_rate_min",
            last.heart_rate,
            -1,
            f"The last heart rate {last.heart_rate} is below {{}}",
        ),
        ("spo2_min", last.spo2, -1, f"The last SpO2 {last.spo2}% is below {{}}%"),
    )
    for key, value, direction, wording in checks:
        limit = limits.get(key)
        if limit is None or value is None:
            continue
        if (direction > 0 and value > limit) or (direction < 0 and value < limit):
            problems.append(wording.format(limit) + " (the discharge limit)")
    return problems


def require_override_authority(session: Session, actor: Actor, reason: str) -> None:
    """An override needs a written reason and a nurse or prescriber behind it."""
    if len(reason) > MAX_OVERRIDE_REASON:
        raise OverrideRefused(
            f"The override reason may be at most {MAX_OVERRIDE_REASON} characters."
        )
    user = session.get(User, actor.user_id) if actor.user_id is not None else None
    staff_role = user.staff.role if user is not None and user.staff is not None else None
    if user is None or not (
        user.role == Role.NURSE or staff_role in (StaffRole.NURSE, StaffRole.PRESCRIBER)
    ):
        raise OverrideRefused(
            "Only a nurse or a prescriber can discharge a patient when a condition is unmet."
        )
