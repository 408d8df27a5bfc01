"""Booking, rescheduling and cancelling: one transaction per use case, all sessions or none.

How double booking is prevented (DESIGN section 4):

- PostgreSQL: the transaction first takes the patient's advisory lock (dose spacing holds
  across locations and distant days, which no location-day lock covers: two receptionists
  booking different series for one patient queue here), then
  ``pg_advisory_xact_lock(location_id, day)`` for every local day it books into, in sorted
  order (no deadlocks between bookers: every booker takes at most one patient lock, always
  before its location-day locks). Only then
  does it load the snapshot and re-check every rule, so two receptionists booking the same
  day are serialised and the limits no constraint can express (patients per monitor, starts
  per 15 minutes) hold. The exclusion constraints on chair and patient windows stay as the
  last line of defence; a violation of one becomes ``SlotTaken``.
- SQLite: every transaction begins IMMEDIATE (``clinic.database``), so writers queue on the
  database lock for up to the busy timeout. A "database is locked" that still happens is
  retried, then reported as ``SlotTaken``; it never escapes as a crash.

Every change bumps ``calendar_sequence`` where the patient's calendar must apply it, queues
the messages through the outbox and writes an audit row, in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Literal, Protocol, TypeVar
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from ..audit import Actor, record_event
from ..models import (
    CANCELLABLE_STATUSES,
    OPEN_STATUSES,
    Appointment,
    AppointmentStatus,
    Location,
    Patient,
    Series,
    SeriesStatus,
    Staff,
)
from ..notify.outbox import (
    ReminderSettings,
    enqueue_booking,
    enqueue_cancellation,
    enqueue_update,
)
from . import rebooking
from .choice import Anchors, choose_resources, first_violation, pick_prescriber
from .errors import (
    InvalidPlan,
    InvalidRequest,
    InvalidTransition,
    MonitorUnavailable,
    NotFound,
    PrescriberUnavailable,
    RuleViolation,
    SchedulingError,
    SlotTaken,
)
from .plans import SeriesPlan
from .preview import check_now, load_for_plan, propose_sessions
from .rules import CheckContext, check_candidate, check_chair, check_monitor, check_prescriber
from .search import SlotChoice
from .settings import DEFAULT_SETTINGS, SchedulingSettings
from .snapshot import Snapshot, load_snapshot, require_bookable, to_instant, to_seconds
from .wording import day_text, staff_text

log = logging.getLogger("clinic.scheduling")

Scope = Literal["one", "following", "all"]
SCOPES: tuple[str, ...] = ("one", "following", "all")
ATTEMPTS = 3
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})  # serialization failure, deadlock
EXCLUSION_VIOLATION = "23P01"
MAX_REASON = 300

T = TypeVar("T")


class ChosenSlot(Protocol):
    """A proposal to book: ``Slot`` from a preview or a ``SlotChoice`` from a form."""

    @property
    def starts_at(self) -> dt.datetime: ...
    @property
    def chair_id(self) -> int: ...
    @property
    def monitor_id(self) -> int: ...
    @property
    def prescriber_id(self) -> int | None: ...


# --- the transaction ----------------------------------------------------------------------


def run_booking_transaction(session: Session, work: Callable[[], T]) -> T:
    """Run ``work`` and commit; roll back on any error.

    Lock timeouts and deadlocks are retried (``work`` reloads everything it needs); a
    violated exclusion constraint becomes ``SlotTaken``.
    """
    for attempt in range(1, ATTEMPTS + 1):
        try:
            result = work()
            session.commit()
            return result
        except SchedulingError:
            session.rollback()
            raise
        except IntegrityError as error:
            session.rollback()
            if getattr(error.orig, "sqlstate", None) == EXCLUSION_VIOLATION:
                log.info("an exclusion constraint refused a concurrent booking")
                raise SlotTaken(
                    "Another booking took the chair or the patient's time at the same moment."
                ) from error
            raise
        except OperationalError as error:
            session.rollback()
            if not _retryable(error):
                raise
            log.info("booking transaction retried after %s (attempt %d)", type(error.orig), attempt)
            if attempt == ATTEMPTS:
                raise SlotTaken("The schedule was too busy to confirm the booking.") from error
        except BaseException:
            session.rollback()
            raise
    raise AssertionError("unreachable")  # pragma: no cover


def _retryable(error: OperationalError) -> bool:
    if getattr(error.orig, "sqlstate", None) in RETRYABLE_SQLSTATES:
        return True
    text = str(error.orig).lower()
    return "database is locked" in text or "database is busy" in text


# The first key of the patients' two-key advisory locks: negative, so never a location id
# (the location-day locks' first key).
PATIENT_LOCK_SPACE = -12


def lock_for_booking(
    session: Session, *, patient_id: int, location_id: int, days: Iterable[dt.date]
) -> None:
    """Take the patient's lock, then the location-day locks, in one statement (PostgreSQL;
    SQLite's writers are already serialised).

    The patient's lock makes the dose-spacing re-check see every other session of the
    patient, wherever and whenever it is booked; the location-day locks serialise the limits
    of one day. PostgreSQL evaluates a SELECT list left to right, so the order (patient, then
    days sorted) is the one every booker uses and no two wait on each other in a cycle.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    calls = ["pg_advisory_xact_lock(:space, :patient_id)"]
    params: dict[str, int] = {
        "space": PATIENT_LOCK_SPACE,
        "patient_id": patient_id,
        "location_id": location_id,
    }
    for index, day in enumerate(sorted(set(days))):
        calls.append(f"pg_advisory_xact_lock(:location_id, :day_{index})")
        params[f"day_{index}"] = day.toordinal()
    session.execute(sa.text(f"SELECT {', '.join(calls)}"), params)


def _location_tz(session: Session, location_id: int) -> ZoneInfo:
    timezone = session.scalar(sa.select(Location.timezone).where(Location.id == location_id))
    if timezone is None:
        raise NotFound("That location no longer exists.")
    return ZoneInfo(timezone)


def _aware(value: dt.datetime, what: str) -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidRequest(f"The {what} must include its timezone.")
    return value


# --- booking ------------------------------------------------------------------------------


def book_series(
    session: Session,
    *,
    patient_id: int,
    plan: SeriesPlan,
    actor: Actor,
    now: dt.datetime,
    proposals: Sequence[ChosenSlot] | None = None,
    reminders: ReminderSettings | None = None,
    settings: SchedulingSettings | None = None,
) -> Series:
    """Book a series in one transaction: every session or none.

    With ``proposals`` (the slots a receptionist accepted in the preview, alternatives
    included) each is re-checked and booked as given; if another booking took one meanwhile,
    ``SlotTaken``. Without, the plan is searched afresh and booked if every date can be met.
    """
    settings = settings or DEFAULT_SETTINGS
    now_seconds = check_now(now)
    choices = None if proposals is None else _sorted_choices(proposals)

    def work() -> Series:
        tz = _location_tz(session, plan.location_id)
        if choices is None:
            days = list(plan.dates)
        else:
            days = [choice.starts_at.astimezone(tz).date() for choice in choices]
        lock_for_booking(session, patient_id=patient_id, location_id=plan.location_id, days=days)
        snapshot = load_for_plan(
            session,
            patient_id=patient_id,
            plan=plan,
            settings=settings,
            now=now_seconds,
            extra_dates=days,
        )
        if choices is None:
            accepted = _search_whole_plan(snapshot, plan, now=now_seconds, settings=settings)
        else:
            context = CheckContext(
                now=now_seconds, settings=settings, min_spacing_hours=plan.min_hours_between
            )
            accepted = [_confirm_choice(snapshot, choice, context) for choice in choices]
        return _save_series(
            session,
            snapshot,
            patient_id=patient_id,
            plan=plan,
            accepted=accepted,
            actor=actor,
            now=now,
            reminders=reminders or ReminderSettings(),
        )

    return run_booking_transaction(session, work)


def _sorted_choices(proposals: Sequence[ChosenSlot]) -> list[SlotChoice]:
    choices = sorted(
        (
            SlotChoice(
                starts_at=_aware(p.starts_at, "session start"),
                chair_id=p.chair_id,
                monitor_id=p.monitor_id,
                prescriber_id=p.prescriber_id,
            )
            for p in proposals
        ),
        key=lambda choice: choice.starts_at,
    )
    if not choices:
        raise InvalidPlan("A series needs at least one session.")
    return choices


def _search_whole_plan(
    snapshot: Snapshot, plan: SeriesPlan, *, now: int, settings: SchedulingSettings
) -> list[ChosenSlot]:
    """The search's slot for every planned date, or the first date that cannot be met."""
    proposed = propose_sessions(snapshot, plan, now=now, settings=settings, with_alternatives=False)
    for item in proposed:
        if item.slot is None:
            raise RuleViolation(
                f"Session {item.index} on {day_text(item.target_date)} cannot be "
                f"booked: {item.reason}"
            )
    return [item.slot for item in proposed if item.slot]


def _save_series(
    session: Session,
    snapshot: Snapshot,
    *,
    patient_id: int,
    plan: SeriesPlan,
    accepted: Sequence[ChosenSlot],
    actor: Actor,
    now: dt.datetime,
    reminders: ReminderSettings,
) -> Series:
    """Insert the series and its sessions, queue their messages and write the audit rows."""
    patient = _patient(session, patient_id)
    series = Series(
        patient_id=patient_id,
        treatment_type_id=plan.treatment_type_id,
        protocol_id=plan.protocol_id,
        status=SeriesStatus.ACTIVE,
        created_by_id=actor.user_id,
        created_at=now,
        min_hours_between=plan.min_hours_between,
    )
    session.add(series)
    appointments = [
        _new_appointment(snapshot, patient, choice, actor=actor, now=now, series=series)
        for choice in accepted
    ]
    session.add_all(appointments)
    session.flush()
    enqueue_booking(session, appointments, now=now, settings=reminders)
    ids = ",".join(str(appointment.id) for appointment in appointments)
    record_event(
        session,
        actor,
        action="series.book",
        entity_type="series",
        entity_id=series.id,
        patient_id=patient_id,
        summary=f"series {series.id}: {len(appointments)} sessions (appointments {ids}); "
        f"treatment_type {plan.treatment_type_id}; location {plan.location_id}",
    )
    for appointment in appointments:
        _audit_booking(session, actor, appointment)
    return series


def _confirm_choice(snapshot: Snapshot, choice: ChosenSlot, context: CheckContext) -> SlotChoice:
    """Re-check one accepted slot against the locked snapshot and add it there. A slot posted
    without its prescriber gets the one the search would pick."""
    starts = to_seconds(choice.starts_at)
    prescriber_id = choice.prescriber_id
    if not snapshot.treatment.needs_prescriber:
        prescriber_id = None
    elif prescriber_id is None:
        prescriber_id = pick_prescriber(snapshot, starts)
    violations = check_candidate(
        snapshot,
        starts=starts,
        chair_id=choice.chair_id,
        monitor_id=choice.monitor_id,
        prescriber_id=prescriber_id,
        context=context,
    )
    if violations:
        raise first_violation(violations)
    snapshot.add_proposal(
        starts=starts,
        chair_id=choice.chair_id,
        monitor_id=choice.monitor_id,
        prescriber_id=prescriber_id,
    )
    context.series_starts.append(starts)
    return SlotChoice(
        starts_at=to_instant(starts),
        chair_id=choice.chair_id,
        monitor_id=choice.monitor_id,
        prescriber_id=prescriber_id,
    )


def book_session(
    session: Session,
    *,
    patient_id: int,
    treatment_type_id: int,
    location_id: int,
    starts_at: dt.datetime,
    actor: Actor,
    now: dt.datetime,
    chair_id: int | None = None,
    monitor_id: int | None = None,
    reminders: ReminderSettings | None = None,
    settings: SchedulingSettings | None = None,
    prescriber_id: int | None = None,
) -> Appointment:
    """Book one session (outside any series) at ``starts_at``. Without ``chair_id`` or
    ``monitor_id`` the best free one is picked."""
    settings = settings or DEFAULT_SETTINGS
    now_seconds = check_now(now)
    starts = to_seconds(_aware(starts_at, "session start"))

    def work() -> Appointment:
        tz = _location_tz(session, location_id)
        day = to_instant(starts).astimezone(tz).date()
        lock_for_booking(session, patient_id=patient_id, location_id=location_id, days=[day])
        snapshot = load_snapshot(
            session,
            location_id=location_id,
            treatment_type_id=treatment_type_id,
            patient_id=patient_id,
            first_day=day,
            last_day=day,
        )
        require_bookable(snapshot)
        for staff_id, error in (
            (monitor_id, MonitorUnavailable),
            (prescriber_id, PrescriberUnavailable),
        ):
            if staff_id is not None and staff_id not in snapshot.staff:
                raise error(_not_on_shift(session, snapshot, staff_id, day))
        context = CheckContext(now=now_seconds, settings=settings)
        choice = choose_resources(
            snapshot,
            starts,
            context,
            chair_id=chair_id,
            monitor_id=monitor_id,
            prescriber_id=prescriber_id,
        )
        patient = _patient(session, patient_id)
        appointment = _new_appointment(snapshot, patient, choice, actor=actor, now=now)
        session.add(appointment)
        session.flush()
        enqueue_booking(session, [appointment], now=now, settings=reminders or ReminderSettings())
        _audit_booking(session, actor, appointment)
        return appointment

    return run_booking_transaction(session, work)


def _not_on_shift(session: Session, snapshot: Snapshot, staff_id: int, day: dt.date) -> str:
    row = session.execute(sa.select(Staff.name, Staff.role).where(Staff.id == staff_id)).first()
    if row is None:
        return "That staff member no longer exists."
    return (
        f"{staff_text(row[0], str(row[1]))} is not on shift at {snapshot.location.name} on "
        f"{day_text(day)}."
    )


def _patient(session: Session, patient_id: int) -> Patient:
    patient = session.get(Patient, patient_id)
    if patient is None:
        raise NotFound("That patient record no longer exists.")
    return patient


def _new_appointment(
    snapshot: Snapshot,
    patient: Patient,
    choice: ChosenSlot,
    *,
    actor: Actor,
    now: dt.datetime,
    series: Series | None = None,
) -> Appointment:
    starts = to_seconds(choice.starts_at)
    treatment_ends, ends, busy_until = snapshot.treatment.windows(starts)
    return Appointment(
        series=series,
        patient=patient,
        treatment_type_id=snapshot.treatment.id,
        location_id=snapshot.location.id,
        chair_id=choice.chair_id,
        monitor_id=choice.monitor_id,
        prescriber_id=choice.prescriber_id,
        starts_at=to_instant(starts),
        treatment_ends_at=to_instant(treatment_ends),
        ends_at=to_instant(ends),
        busy_until=to_instant(busy_until),
        status=AppointmentStatus.BOOKED,
        escort_name=patient.escort_name,
        escort_phone=patient.escort_phone,
        calendar_sequence=0,
        created_by_id=actor.user_id,
        created_at=now,
        updated_at=now,
    )


def _audit_booking(session: Session, actor: Actor, appointment: Appointment) -> None:
    record_event(
        session,
        actor,
        action="appointment.book",
        entity_type="appointment",
        entity_id=appointment.id,
        patient_id=appointment.patient_id,
        summary=f"appointment {appointment.id}: series {appointment.series_id}; "
        f"starts_at {appointment.starts_at.isoformat()}; chair {appointment.chair_id}; "
        f"monitor {appointment.monitor_id}; prescriber {appointment.prescriber_id}",
    )


# --- changing booked sessions --------------------------------------------------------------


def _check_scope(scope: str) -> None:
    if scope not in SCOPES:
        raise InvalidRequest(
            "Choose which sessions to change: this one, this and following, or all."
        )


def _locked_appointment(session: Session, appointment_id: int) -> Appointment:
    appointment = session.scalar(
        sa.select(Appointment)
        .where(Appointment.id == appointment_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if appointment is None:
        raise NotFound("That session no longer exists.")
    return appointment


def _series_members(
    session: Session, target: Appointment, scope: str, statuses: frozenset[AppointmentStatus]
) -> list[Appointment]:
    """The sessions a change with ``scope`` applies to, target included, in time order."""
    if scope == "one" or target.series_id is None:
        return [target]
    query = (
        sa.select(Appointment)
        .where(
            Appointment.series_id == target.series_id,
            Appointment.status.in_(sorted(statuses)),
        )
        .order_by(Appointment.starts_at)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if scope == "following":
        query = query.where(Appointment.starts_at >= target.starts_at)
    members = list(session.scalars(query))
    if target not in members:
        members.insert(0, target)
    return sorted(members, key=lambda appointment: appointment.starts_at)


_STATUS_WORDS = {
    AppointmentStatus.CHECKED_IN: "the patient has already checked in",
    AppointmentStatus.IN_TREATMENT: "the treatment is under way",
    AppointmentStatus.MONITORING: "the patient is being monitored",
    AppointmentStatus.DISCHARGED: "the patient has been discharged",
    AppointmentStatus.CANCELLED: "it has been cancelled",
    AppointmentStatus.NO_SHOW: "it was marked as a no-show",
}


def reschedule(
    session: Session,
    *,
    appointment_id: int,
    new_starts_at: dt.datetime,
    scope: Scope | str,
    actor: Actor,
    now: dt.datetime,
    reminders: ReminderSettings | None = None,
    settings: SchedulingSettings | None = None,
) -> list[Appointment]:
    """Move a session (``one``), it and the later ones of its series (``following``) or every
    upcoming session of the series (``all``). The others move by the same local wall-clock
    shift as the chosen one (same time of day across a daylight-saving change). Each keeps
    its chair and monitor where they are still free, else gets another. All or none."""
    settings = settings or DEFAULT_SETTINGS
    _check_scope(scope)
    now_seconds = check_now(now)
    new_start = _aware(new_starts_at, "new start")

    def work() -> list[Appointment]:
        target = _locked_appointment(session, appointment_id)
        if target.status is not AppointmentStatus.BOOKED:
            raise InvalidTransition(
                "This session cannot be moved: "
                f"{_STATUS_WORDS.get(target.status, 'it is not booked')}."
            )
        moves, shift = _planned_moves(session, target, scope, new_start, now=now_seconds)
        days = [moved.date() for _, moved in moves]
        lock_for_booking(
            session, patient_id=target.patient_id, location_id=target.location_id, days=days
        )
        snapshot = load_snapshot(
            session,
            location_id=target.location_id,
            treatment_type_id=target.treatment_type_id,
            patient_id=target.patient_id,
            first_day=min(days),
            last_day=max(days),
            pad_hours=_spacing_hours(target),
        )
        require_bookable(snapshot)
        placed = _place_moves(snapshot, target, moves, now=now_seconds, settings=settings)
        # Move later sessions first when moving later (earlier first when moving earlier), so
        # no intermediate state overlaps another session of the same patient.
        placed.sort(key=lambda item: item[0].starts_at, reverse=shift > dt.timedelta(0))
        for member, choice in placed:
            _move(
                session,
                snapshot,
                member,
                choice,
                scope=scope,
                actor=actor,
                now=now,
                reminders=reminders or ReminderSettings(),
            )
        # A moved session judged sound again comes off the Needs rebooking list.
        rebooking.refresh(session, now=now, appointment_ids=[member.id for member, _ in placed])
        return sorted((member for member, _ in placed), key=lambda a: a.starts_at)

    return run_booking_transaction(session, work)


def reassign(
    session: Session,
    *,
    appointment_id: int,
    actor: Actor,
    now: dt.datetime,
    reminders: ReminderSettings | None = None,
    settings: SchedulingSettings | None = None,
) -> Appointment:
    """Keep the session's time and give it another chair, monitor or prescriber where the
    one it has can no longer take it (the one-click fix of the Needs rebooking list): each
    is kept where still free, else the series search picks one, as a reschedule does. The
    patient is sent the update as for any reschedule. Refused in the rule's own words when
    nothing fits at that time (it then needs a new time)."""
    settings = settings or DEFAULT_SETTINGS
    now_seconds = check_now(now)

    def work() -> Appointment:
        target = _locked_appointment(session, appointment_id)
        if target.status is not AppointmentStatus.BOOKED:
            raise InvalidTransition(
                "This session cannot be changed: "
                f"{_STATUS_WORDS.get(target.status, 'it is not booked')}."
            )
        tz = _location_tz(session, target.location_id)
        day = target.starts_at.astimezone(tz).date()
        lock_for_booking(
            session, patient_id=target.patient_id, location_id=target.location_id, days=[day]
        )
        snapshot = load_snapshot(
            session,
            location_id=target.location_id,
            treatment_type_id=target.treatment_type_id,
            patient_id=target.patient_id,
            first_day=day,
            last_day=day,
            pad_hours=_spacing_hours(target),
        )
        require_bookable(snapshot)
        [(member, choice)] = _place_moves(
            snapshot, target, [(target, target.starts_at)], now=now_seconds, settings=settings
        )
        if (choice.chair_id, choice.monitor_id, choice.prescriber_id) == (
            target.chair_id,
            target.monitor_id,
            target.prescriber_id,
        ):
            raise InvalidRequest(
                "The session's chair, monitor and prescriber can all still take it at this "
                "time; nothing to change."
            )
        _move(
            session,
            snapshot,
            member,
            choice,
            scope="one",
            actor=actor,
            now=now,
            reminders=reminders or ReminderSettings(),
        )
        rebooking.refresh(session, now=now, appointment_ids=[member.id])
        return member

    return run_booking_transaction(session, work)


def _planned_moves(
    session: Session, target: Appointment, scope: str, new_start: dt.datetime, *, now: int
) -> tuple[list[tuple[Appointment, dt.datetime]], dt.timedelta]:
    """Each session the change applies to with its new start, and the wall-clock shift."""
    tz = _location_tz(session, target.location_id)
    members = _series_members(session, target, scope, frozenset({AppointmentStatus.BOOKED}))
    if scope == "all":
        members = [m for m in members if m is target or to_seconds(m.starts_at) >= now]
    shift = _wall_clock(new_start, tz) - _wall_clock(target.starts_at, tz)
    if not shift:
        raise InvalidRequest("The new time is the same as the current one.")
    moves = [
        (member, (_wall_clock(member.starts_at, tz) + shift).replace(tzinfo=tz))
        for member in members
    ]
    return moves, shift


def _wall_clock(instant: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """The local wall-clock time (naive): moves shift it, so DST keeps the time of day."""
    return instant.astimezone(tz).replace(tzinfo=None)


def _place_moves(
    snapshot: Snapshot,
    target: Appointment,
    moves: list[tuple[Appointment, dt.datetime]],
    *,
    now: int,
    settings: SchedulingSettings,
) -> list[tuple[Appointment, SlotChoice]]:
    """Choose the resources of every moved session in turn, each seeing the ones before."""
    moving_ids = [member.id for member, _ in moves]
    snapshot.remove(moving_ids)
    context = CheckContext(
        now=now,
        settings=settings,
        min_spacing_hours=_spacing_hours(target),
        series_starts=snapshot.series_starts(target.series_id, excluding=moving_ids),
    )
    placed: list[tuple[Appointment, SlotChoice]] = []
    for member, moved in moves:
        starts = to_seconds(moved)
        choice = _keep_or_replace(snapshot, member, starts, context)
        snapshot.add_proposal(
            starts=starts,
            chair_id=choice.chair_id,
            monitor_id=choice.monitor_id,
            prescriber_id=choice.prescriber_id,
            series_id=member.series_id,
        )
        context.series_starts.append(starts)
        placed.append((member, choice))
    return placed


def _move(
    session: Session,
    snapshot: Snapshot,
    member: Appointment,
    choice: SlotChoice,
    *,
    scope: str,
    actor: Actor,
    now: dt.datetime,
    reminders: ReminderSettings,
) -> None:
    """Write one moved session, queue its calendar update and audit it."""
    old_start = member.starts_at
    starts = to_seconds(choice.starts_at)
    treatment_ends, ends, busy_until = snapshot.treatment.windows(starts)
    member.starts_at = to_instant(starts)
    member.treatment_ends_at = to_instant(treatment_ends)
    member.ends_at = to_instant(ends)
    member.busy_until = to_instant(busy_until)
    member.chair_id = choice.chair_id
    member.monitor_id = choice.monitor_id
    member.prescriber_id = choice.prescriber_id
    member.calendar_sequence += 1
    _touch(member, now)
    session.flush()
    enqueue_update(session, member, now=now, settings=reminders)
    record_event(
        session,
        actor,
        action="appointment.reschedule",
        entity_type="appointment",
        entity_id=member.id,
        patient_id=member.patient_id,
        summary=f"appointment {member.id}: series {member.series_id}; scope {scope}; "
        f"from {old_start.isoformat()} to {member.starts_at.isoformat()}; "
        f"chair {member.chair_id}; monitor {member.monitor_id}; "
        f"sequence {member.calendar_sequence}",
    )


def _touch(appointment: Appointment, now: dt.datetime) -> None:
    # Always written, even when equal to the old value: otherwise the column's onupdate
    # default would stamp the wall clock instead of the ``now`` the caller passed.
    appointment.updated_at = now
    flag_modified(appointment, "updated_at")


def _spacing_hours(appointment: Appointment) -> int:
    """The spacing the session's series was planned with (a single session has none; dose
    spacing still holds for it)."""
    series = appointment.series
    return 0 if series is None else series.min_hours_between


def _keep_or_replace(
    snapshot: Snapshot, member: Appointment, starts: int, context: CheckContext
) -> SlotChoice:
    """Keep the session's chair, monitor and prescriber at the new time where they are free;
    a lost one is replaced by the one the series search would pick there."""
    keep_chair = not check_chair(snapshot, member.chair_id, starts)
    keep_monitor = not check_monitor(snapshot, member.monitor_id, starts, context)
    keep_prescriber = member.prescriber_id is not None and not check_prescriber(
        snapshot, member.prescriber_id, starts
    )
    return choose_resources(
        snapshot,
        starts,
        context,
        chair_id=member.chair_id if keep_chair else None,
        monitor_id=member.monitor_id if keep_monitor else None,
        prescriber_id=member.prescriber_id if keep_prescriber else None,
        anchors=_series_anchors(snapshot, member),
    )


def _series_anchors(snapshot: Snapshot, member: Appointment) -> Anchors:
    """The resources of the series' first session in the snapshot that is not moving (as the
    series search anchors on its first session), else the session's own."""
    first = snapshot.first_of_series(member.series_id)
    if first is None:
        return Anchors(member.chair_id, member.monitor_id, member.prescriber_id)
    return Anchors(first.chair_id, first.monitor_id, first.prescriber_id)


def cancel(
    session: Session,
    *,
    appointment_id: int,
    scope: Scope | str,
    reason: str,
    actor: Actor,
    now: dt.datetime,
) -> list[Appointment]:
    """Cancel a session, it and the later booked ones of its series, or every booked one.

    The chair, monitor and patient time are free at once (cancelled sessions are not live).
    """
    _check_scope(scope)
    check_now(now)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidRequest("Please give a reason for the cancellation.")
    if len(reason) > MAX_REASON:
        raise InvalidRequest(f"Keep the reason under {MAX_REASON} characters.")

    def work() -> list[Appointment]:
        target = _locked_appointment(session, appointment_id)
        if target.status not in CANCELLABLE_STATUSES:
            raise InvalidTransition(
                "This session cannot be cancelled: "
                f"{_STATUS_WORDS.get(target.status, 'it is not booked')}."
            )
        members = _series_members(session, target, scope, frozenset({AppointmentStatus.BOOKED}))
        for member in members:
            member.status = AppointmentStatus.CANCELLED
            member.cancel_reason = reason
            member.cancelled_at = now
            member.cancelled_by_id = actor.user_id
            member.calendar_sequence += 1
            _touch(member, now)
            session.flush()
            enqueue_cancellation(session, member, now=now)
            record_event(
                session,
                actor,
                action="appointment.cancel",
                entity_type="appointment",
                entity_id=member.id,
                patient_id=member.patient_id,
                summary=f"appointment {member.id}: series {member.series_id}; scope {scope}; "
                f"sequence {member.calendar_sequence}",
            )
        if target.series_id is not None:
            _settle_series(session, target.series_id, actor)
        # Their Needs rebooking entries, if any, resolve as cancelled.
        rebooking.refresh(session, now=now, appointment_ids=[m.id for m in members])
        return members

    return run_booking_transaction(session, work)


def _settle_series(session: Session, series_id: int, actor: Actor) -> None:
    """A series with no live session left is over: cancelled, or completed if any was given."""
    series = session.get(Series, series_id)
    if series is None or series.status is not SeriesStatus.ACTIVE:
        return
    statuses = set(
        session.scalars(sa.select(Appointment.status).where(Appointment.series_id == series_id))
    )
    # A series with an open session is not over yet.
    if statuses & OPEN_STATUSES:
        return
    series.status = (
        SeriesStatus.COMPLETED
        if AppointmentStatus.DISCHARGED in statuses
        else SeriesStatus.CANCELLED
    )
    record_event(
        session,
        actor,
        action=f"series.{series.status.value}",
        entity_type="series",
        entity_id=series.id,
        patient_id=series.patient_id,
        summary=f"series {series.id}: no live sessions left",
    )
