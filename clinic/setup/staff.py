"""Staff, certifications, weekly shift templates and time off.

Each function validates first, applies the change, audits it and commits once.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..audit import Actor
from ..models import (
    Certification,
    Location,
    Shift,
    ShiftTemplate,
    Staff,
    StaffRole,
    TimeOff,
)
from ..patients import normalise_email
from ..scheduling import impact
from ..scheduling.impact import CHOICE, FACT, Scope
from ..scheduling.shifts import SHIFT_HORIZON_DAYS, materialize_shifts
from .common import (
    WEEKDAYS,
    SetupError,
    SetupNotFound,
    apply_changes,
    audit,
    clean_text,
    commit_or_conflict,
    get_or_fail,
    local_to_utc,
    require_text,
)


def save_staff(
    session: Session,
    *,
    staff_id: int | None,
    name: str,
    email: str | None,
    role: str,
    active: bool,
    actor: Actor,
    now: dt.datetime,
) -> Staff:
    """Add or change a staff member. Leaving (deactivated) or a changed role is a fact: it
    is recorded, and the sessions it breaks go onto the Needs rebooking list."""
    errors: dict[str, str] = {}
    name = clean_text(name, 120)
    require_text(errors, "name", name, "name", 120)
    clean_email = None
    try:
        clean_email = normalise_email(email)
    except ValueError as error:
        errors["email"] = str(error)
    try:
        role_value = StaffRole(role)
    except ValueError:
        errors["role"] = "Choose nurse, prescriber or tech."
    if clean_email and "email" not in errors:
        query = sa.select(Staff.id).where(sa.func.lower(Staff.email) == clean_email.lower())
        if staff_id is not None:
            query = query.where(Staff.id != staff_id)
        if session.scalar(query) is not None:
            errors["email"] = "Another staff member has this email address."
    if errors:
        raise SetupError(errors)
    values = {"name": name, "email": clean_email, "role": role_value, "active": bool(active)}
    if staff_id is None:
        member = Staff(**values)
        session.add(member)
        session.flush()
        audit(session, actor, "staff.create", "staff", member.id)
    else:
        member = get_or_fail(session, Staff, staff_id, "staff member")
        watch = impact.watch(session, Scope(staff_ids={member.id}), now=now)
        changed = apply_changes(member, values)
        if not changed:
            return member
        impact.settle(
            session, watch, change="staff.update", kind=FACT, proceed=True, actor=actor, now=now
        )
        audit(session, actor, "staff.update", "staff", member.id, "changed: " + ", ".join(changed))
    commit_or_conflict(session, {"email": "Another staff member has this email address."})
    return member


def save_certification(
    session: Session,
    *,
    certification_id: int | None,
    staff_id: int,
    kind: str,
    number: str,
    valid_from: dt.date | None,
    expires_on: dt.date | None,
    actor: Actor,
    now: dt.datetime,
) -> Certification:
    """A certification is a fact: a shortened one is recorded, and the sessions it no
    longer covers go onto the Needs rebooking list."""
    get_or_fail(session, Staff, staff_id, "staff member")
    errors: dict[str, str] = {}
    kind = clean_text(kind, 40).upper().replace(" ", "_")
    require_text(errors, "kind", kind, "certification kind (e.g. ACLS)", 40)
    number = clean_text(number, 60)
    if len(number) > 60:
        errors["number"] = "Use at most 60 characters."
    if valid_from is None:
        errors["valid_from"] = "Enter the date the certification is valid from."
    if expires_on is None:
        errors["expires_on"] = "Enter the expiry date."
    if valid_from and expires_on and expires_on < valid_from:
        errors["expires_on"] = "The expiry date must not be before the valid-from date."
    if errors:
        raise SetupError(errors)
    values = {"kind": kind, "number": number, "valid_from": valid_from, "expires_on": expires_on}
    watch = impact.watch(session, Scope(staff_ids={staff_id}), now=now)
    if certification_id is None:
        certification = Certification(staff_id=staff_id, **values)
        session.add(certification)
        session.flush()
        audit(
            session,
            actor,
            "certification.create",
            "certification",
            certification.id,
            f"staff {staff_id} certification {certification.id} added",
        )
    else:
        certification = get_or_fail(session, Certification, certification_id, "certification")
        if certification.staff_id != staff_id:
            raise SetupNotFound("This certification belongs to someone else.")
        changed = apply_changes(certification, values)
        if not changed:
            return certification
        audit(
            session,
            actor,
            "certification.update",
            "certification",
            certification.id,
            "changed: " + ", ".join(changed),
        )
    impact.settle(
        session, watch, change="certification.save", kind=FACT, proceed=True, actor=actor, now=now
    )
    session.commit()
    return certification


def remove_certification(
    session: Session, *, certification_id: int, actor: Actor, now: dt.datetime
) -> int:
    """A fact: recorded, and the sessions it covered go onto the Needs rebooking list.
    Returns the staff id."""
    certification = get_or_fail(session, Certification, certification_id, "certification")
    staff_id = certification.staff_id
    watch = impact.watch(session, Scope(staff_ids={staff_id}), now=now)
    audit(
        session,
        actor,
        "certification.delete",
        "certification",
        certification.id,
        f"staff {certification.staff_id} certification {certification.id} removed",
    )
    session.delete(certification)
    impact.settle(
        session,
        watch,
        change="certification.delete",
        kind=FACT,
        proceed=True,
        actor=actor,
        now=now,
    )
    session.commit()
    return staff_id


def add_shift_template(
    session: Session,
    *,
    staff_id: int,
    location_id: int,
    weekday: int | None,
    starts: dt.time | None,
    ends: dt.time | None,
    effective_from: dt.date | None,
    effective_until: dt.date | None,
    actor: Actor,
    now: dt.datetime,
) -> ShiftTemplate:
    """Add a weekly shift and create its concrete shifts for the coming months."""
    get_or_fail(session, Staff, staff_id, "staff member")
    location = get_or_fail(session, Location, location_id, "location")
    errors: dict[str, str] = {}
    if weekday is None or not 0 <= weekday <= 6:
        errors["weekday"] = "Choose a weekday."
    if starts is None:
        errors["starts"] = "Enter the start time."
    if ends is None:
        errors["ends"] = "Enter the end time."
    if starts and ends and ends <= starts:
        errors["ends"] = "The shift must end after it starts (on the same day)."
    if effective_from is None:
        errors["effective_from"] = "Enter the first day this shift applies."
    if effective_from and effective_until and effective_until < effective_from:
        errors["effective_until"] = "The last day must not be before the first day."
    if errors:
        raise SetupError(errors)
    assert weekday is not None and starts and ends and effective_from
    overlapping = session.scalar(
        sa.select(ShiftTemplate.id).where(
            ShiftTemplate.staff_id == staff_id,
            ShiftTemplate.weekday == weekday,
            ShiftTemplate.starts < ends,
            ShiftTemplate.ends > starts,
            sa.or_(
                ShiftTemplate.effective_until.is_(None),
                ShiftTemplate.effective_until >= effective_from,
            ),
            *(
                [ShiftTemplate.effective_from <= effective_until]
                if effective_until is not None
                else []
            ),
        )
    )
    if overlapping is not None:
        raise SetupError(
            {"starts": f"This overlaps another {WEEKDAYS[weekday]} shift of the same person."}
        )
    watch = impact.watch(session, Scope(staff_ids={staff_id}), now=now)
    template = ShiftTemplate(
        staff_id=staff_id,
        location_id=location_id,
        weekday=weekday,
        starts=starts,
        ends=ends,
        effective_from=effective_from,
        effective_until=effective_until,
    )
    session.add(template)
    session.flush()
    today = location.local_today(now)
    added = materialize_shifts(
        session,
        start=max(today, effective_from),
        end=today + dt.timedelta(days=SHIFT_HORIZON_DAYS),
    )
    audit(
        session,
        actor,
        "shift_template.create",
        "shift_template",
        template.id,
        f"staff {staff_id} weekly shift {template.id} added ({added} shifts)",
    )
    impact.settle(
        session,
        watch,
        change="shift_template.create",
        kind=CHOICE,
        proceed=True,
        actor=actor,
        now=now,
    )
    session.commit()
    return template


def remove_shift_template(
    session: Session,
    *,
    template_id: int,
    actor: Actor,
    now: dt.datetime,
    proceed: bool = False,
) -> int:
    """End a weekly shift: its future shifts go; past ones stay as the record of who worked.

    Sessions that need the person (as monitor or prescriber) in those shifts are listed and
    the removal refused unless ``proceed``. Returns the staff id.
    """
    template = get_or_fail(session, ShiftTemplate, template_id, "weekly shift")
    staff_id = template.staff_id
    watch = impact.watch(session, Scope(staff_ids={staff_id}), now=now)
    future = list(
        session.scalars(
            sa.select(Shift).where(Shift.template_id == template_id, Shift.starts_at >= now)
        )
    )
    for shift in future:
        session.delete(shift)
    audit(
        session,
        actor,
        "shift_template.delete",
        "shift_template",
        template.id,
        f"staff {template.staff_id} weekly shift {template.id} removed ({len(future)} shifts)",
    )
    session.delete(template)
    impact.settle(
        session,
        watch,
        change="shift_template.delete",
        kind=CHOICE,
        proceed=proceed,
        actor=actor,
        now=now,
    )
    session.commit()
    return staff_id


def staff_timezone(session: Session, staff_id: int) -> ZoneInfo:
    """Where a person's wall-clock times are meant: their shift location, else the first one."""
    timezone = session.scalar(
        sa.select(Location.timezone)
        .join(ShiftTemplate, ShiftTemplate.location_id == Location.id)
        .where(ShiftTemplate.staff_id == staff_id)
        .limit(1)
    ) or session.scalar(sa.select(Location.timezone).order_by(Location.id).limit(1))
    try:
        return ZoneInfo(timezone or "UTC")
    except ZoneInfoNotFoundError:
        return ZoneInfo("UTC")


def add_time_off(
    session: Session,
    *,
    staff_id: int,
    starts_at: dt.datetime | None,
    ends_at: dt.datetime | None,
    reason: str,
    actor: Actor,
    now: dt.datetime,
    proceed: bool = False,
) -> TimeOff:
    """Record leave. Naive datetimes are in the person's location's wall-clock time.

    Sessions that need the person (as monitor or prescriber) in the window are listed and
    the leave refused unless ``proceed``; they then go onto the Needs rebooking list.
    """
    get_or_fail(session, Staff, staff_id, "staff member")
    errors: dict[str, str] = {}
    reason = clean_text(reason, 200)
    if starts_at is None:
        errors["starts_at"] = "Enter when the time off starts."
    if ends_at is None:
        errors["ends_at"] = "Enter when the time off ends."
    if len(reason) > 200:
        errors["reason"] = "Use at most 200 characters."
    if errors:
        raise SetupError(errors)
    assert starts_at is not None and ends_at is not None
    tz = staff_timezone(session, staff_id)
    start, end = local_to_utc(starts_at, tz), local_to_utc(ends_at, tz)
    if end <= start:
        raise SetupError({"ends_at": "The end must be after the start."})
    scope = Scope(staff_ids={staff_id}, since=start, until=end)
    watch = impact.watch(session, scope, now=now)
    time_off = TimeOff(staff_id=staff_id, starts_at=start, ends_at=end, reason=reason)
    session.add(time_off)
    session.flush()
    impact.settle(
        session,
        watch,
        change="time_off.create",
        kind=CHOICE,
        proceed=proceed,
        actor=actor,
        now=now,
    )
    audit(
        session,
        actor,
        "time_off.create",
        "time_off",
        time_off.id,
        f"staff {staff_id} time off added",
    )
    session.commit()
    return time_off


def remove_time_off(session: Session, *, time_off_id: int, actor: Actor, now: dt.datetime) -> int:
    """Returns the staff id."""
    time_off = get_or_fail(session, TimeOff, time_off_id, "time off")
    staff_id = time_off.staff_id
    watch = impact.watch(session, Scope(staff_ids={staff_id}), now=now)
    audit(
        session,
        actor,
        "time_off.delete",
        "time_off",
        time_off.id,
        f"staff {time_off.staff_id} time off removed",
    )
    session.delete(time_off)
    impact.settle(
        session, watch, change="time_off.delete", kind=CHOICE, proceed=True, actor=actor, now=now
    )
    session.commit()
    return staff_id
