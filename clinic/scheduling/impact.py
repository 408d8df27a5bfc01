"""The impact check: which booked sessions break a hard rule after a change to the world.

Every service that changes something a rule reads (opening hours, closures, chairs and their
blocks, staff, shifts, time off, certifications, treatment types, a patient's REMS
enrollment) wraps the change in :func:`watch` and :func:`settle`::

    watch = impact.watch(session, Scope(location_ids={location.id}), now=now)
    ... apply the change, flush ...
    impact.settle(session, watch, change="location.hours", kind=CHOICE, proceed=proceed,
                  actor=actor, now=now)
    session.commit()

The sessions are judged by the booking's own rules (``rules.check_candidate``) on the
snapshots booking uses, loaded once per location and treatment type: the check costs
``3 + 7 × (location, treatment type) pairs`` queries however many sessions it judges.

A *choice* of the clinic (hours, closures, blocks, shifts, time off, a chair or treatment
type changed) that would newly break sessions is refused with :class:`ImpactConflict`
listing them, unless the caller says to proceed. A *fact* (a certification expires, a nurse
leaves, REMS enrollment withdrawn) is always recorded. Either way, every session in the
change's scope that breaks a rule afterwards lands on the "Needs rebooking" worklist
(``scheduling.rebooking``), and the entries of sessions that no longer break one resolve.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..audit import Actor
from ..errors import Conflict
from ..models import Appointment, AppointmentStatus, Location, Patient, Series, TreatmentType
from ..models.booking import RELEASED_STATUSES
from .errors import InThePast
from .rules import CheckContext, check_candidate
from .settings import DEFAULT_SETTINGS, SchedulingSettings
from .snapshot import (
    Booked,
    EpochSeconds,
    PatientInfo,
    Snapshot,
    load_snapshot,
    select_booked,
    to_instant,
    to_seconds,
)
from .wording import moment_text

# Sessions that have not started: the ones a change can still leave unsafe to run.
NOT_STARTED = frozenset({AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN})


class Kind(enum.StrEnum):
    CHOICE = "choice"  # the clinic may cancel it: refused with the list unless confirmed
    FACT = "fact"  # it happened: recorded, its sessions go onto the worklist


CHOICE, FACT = Kind.CHOICE, Kind.FACT


@dataclass(frozen=True, slots=True)
class Scope:
    """The live sessions a change can touch: those meeting any of the sets (none given:
    every one), not started, and overlapping ``[since, until)`` when given."""

    location_ids: Collection[int] = ()
    chair_ids: Collection[int] = ()
    staff_ids: Collection[int] = ()  # as monitor or prescriber
    patient_ids: Collection[int] = ()
    treatment_type_ids: Collection[int] = ()
    appointment_ids: Collection[int] = ()
    since: dt.datetime | None = None
    until: dt.datetime | None = None

    def where(self, now: dt.datetime) -> list[sa.ColumnElement[bool]]:
        who = [
            column.in_(sorted(ids))
            for column, ids in (
                (Appointment.location_id, self.location_ids),
                (Appointment.chair_id, self.chair_ids),
                (Appointment.monitor_id, self.staff_ids),
                (Appointment.prescriber_id, self.staff_ids),
                (Appointment.patient_id, self.patient_ids),
                (Appointment.treatment_type_id, self.treatment_type_ids),
                (Appointment.id, self.appointment_ids),
            )
            if ids
        ]
        since = max(self.since, now) if self.since is not None else now
        conditions = [
            Appointment.status.in_(sorted(NOT_STARTED)),
            Appointment.busy_until > since,
        ]
        if self.until is not None:
            conditions.append(Appointment.starts_at < self.until)
        if who:
            conditions.append(sa.or_(*who))
        return conditions


@dataclass(frozen=True, slots=True)
class Affected:
    """A session and why it breaks a rule, in the rules' own sentences."""

    appointment_id: int
    patient_id: int
    location_id: int
    starts_at: dt.datetime
    when: str  # "4 May 09:00", the location's wall clock
    reasons: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "appointment_id": self.appointment_id,
            "starts_at": self.starts_at.isoformat(),
            "reasons": list(self.reasons),
        }


class ImpactConflict(Conflict):
    """A change of the clinic's choice would leave booked sessions breaking a rule. Asking
    again with ``proceed`` records it and puts them onto the "Needs rebooking" worklist."""

    def __init__(self, affected: list[Affected]) -> None:
        self.affected = affected
        count = len(affected)
        super().__init__(
            f"This change would leave {count} booked session{'s' if count != 1 else ''} "
            "breaking a rule. Review them, then confirm the change (they go onto the Needs "
            "rebooking list) or cancel it.",
            extra={"affected_sessions": [item.as_json() for item in affected]},
        )


@dataclass(slots=True)
class _Session:
    booked: Booked
    treatment_type_id: int
    spacing_hours: int
    windows: tuple[int, int, int]  # stored, from the start: (treatment_ends, ends, busy_until)
    local_day: dt.date


@dataclass(frozen=True, slots=True)
class Judgement:
    judged: frozenset[int]  # every session of the scope
    broken: dict[int, Affected]  # those that break a rule, by appointment id


def find_broken(
    session: Session,
    scope: Scope,
    *,
    now: dt.datetime,
    settings: SchedulingSettings | None = None,
) -> dict[int, Affected]:
    """Every session in ``scope`` that breaks a hard rule, by appointment id."""
    return judge(session, scope, now=now, settings=settings).broken


def judge(
    session: Session,
    scope: Scope,
    *,
    now: dt.datetime,
    settings: SchedulingSettings | None = None,
) -> Judgement:
    """Judge every session in ``scope`` by the booking rules, in bulk."""
    now_seconds = to_seconds(now)
    # Starts per 15 minutes is a setting, not a fact of the world: no change judged here
    # can break it, and judging it again would flag sessions booked under another setting.
    context_settings = dataclasses.replace(
        settings or DEFAULT_SETTINGS, max_starts_per_monitor_per_15min=0
    )
    sessions = _load_sessions(session, scope, now)
    judged = frozenset(item.booked.id for item in sessions)
    if not sessions:
        return Judgement(judged, {})
    patients, own = _load_patients(session, {s.booked.patient_id for s in sessions})
    groups: dict[tuple[int, int], list[_Session]] = defaultdict(list)
    for item in sessions:
        groups[(item.booked.location_id, item.treatment_type_id)].append(item)
    found: dict[int, Affected] = {}
    for (location_id, treatment_type_id), members in groups.items():
        snapshot = _group_snapshot(session, location_id, treatment_type_id, members)
        for item in members:
            reasons = _judge(snapshot, item, patients, own, now_seconds, context_settings)
            if reasons:
                booked = item.booked
                starts_at = to_instant(booked.starts)
                found[booked.id] = Affected(
                    appointment_id=booked.id,
                    patient_id=booked.patient_id,
                    location_id=location_id,
                    starts_at=starts_at,
                    when=moment_text(starts_at, snapshot.tz),
                    reasons=tuple(reasons),
                )
    return Judgement(judged, found)


def _judge(
    snapshot: Snapshot,
    item: _Session,
    patients: dict[int, PatientInfo],
    own: dict[int, list[Booked]],
    now: int,
    settings: SchedulingSettings,
) -> list[str]:
    booked = item.booked
    view = snapshot.seen_by(
        booked, patient=patients[booked.patient_id], own=own.get(booked.patient_id, [])
    )
    context = CheckContext(
        now=now,
        settings=settings,
        min_spacing_hours=item.spacing_hours,
        series_starts=snapshot.series_starts(booked.series_id, excluding=[booked.id]),
    )
    violations = check_candidate(
        view,
        starts=booked.starts,
        chair_id=booked.chair_id,
        monitor_id=booked.monitor_id,
        prescriber_id=booked.prescriber_id,
        context=context,
    )
    # Booked before its start, it was not in the past then; running late is not a rule.
    reasons = [v.message for v in violations if v.error is not InThePast]
    if not snapshot.location.active:
        reasons.insert(0, f"{snapshot.location.name} no longer takes bookings.")
    treatment = snapshot.treatment
    if not treatment.active:
        reasons.insert(0, f"{treatment.name} is no longer offered.")
    if treatment.windows(booked.starts) != item.windows:
        reasons.append(
            f"{treatment.name}'s durations changed since this session was booked; it must be "
            "booked again at its new length."
        )
    return list(dict.fromkeys(reasons))


def _load_sessions(session: Session, scope: Scope, now: dt.datetime) -> list[_Session]:
    """Query 1: the sessions in scope, with their series' planned spacing."""
    rows = session.execute(
        sa.select(
            Appointment.id,
            Appointment.patient_id,
            Appointment.series_id,
            Appointment.location_id,
            Appointment.chair_id,
            Appointment.monitor_id,
            Appointment.prescriber_id,
            EpochSeconds(Appointment.starts_at),
            EpochSeconds(Appointment.treatment_ends_at),
            EpochSeconds(Appointment.ends_at),
            EpochSeconds(Appointment.busy_until),
            Appointment.treatment_type_id,
            TreatmentType.max_patients_per_monitor,
            TreatmentType.min_hours_between_doses * 3600,
            TreatmentType.name,
            sa.func.coalesce(Series.min_hours_between, 0),
            Location.timezone,
        )
        .join(TreatmentType, TreatmentType.id == Appointment.treatment_type_id)
        .join(Location, Location.id == Appointment.location_id)
        .outerjoin(Series, Series.id == Appointment.series_id)
        .where(*scope.where(now))
        .order_by(Appointment.starts_at, Appointment.id)
    ).all()
    return [
        _Session(
            booked=Booked(
                id=row[0],
                patient_id=row[1],
                series_id=row[2],
                location_id=row[3],
                chair_id=row[4],
                monitor_id=row[5],
                prescriber_id=row[6],
                starts=row[7],
                ends=row[9],
                busy_until=row[10],
                max_per_monitor=row[12],
                dose_seconds=row[13],
                treatment_name=row[14],
            ),
            treatment_type_id=row[11],
            spacing_hours=int(row[15]),
            windows=(row[8], row[9], row[10]),
            local_day=to_instant(row[7]).astimezone(ZoneInfo(row[16])).date(),
        )
        for row in rows
    ]


def _load_patients(
    session: Session, patient_ids: set[int]
) -> tuple[dict[int, PatientInfo], dict[int, list[Booked]]]:
    """Queries 2 and 3: the patients' booking facts and all their live sessions (the dose
    spacing and the patient's own overlaps read them at every location)."""
    ids = sorted(patient_ids)
    patients = {
        row.id: PatientInfo(
            id=row.id,
            active=row.active,
            rems_enrolled_on=row.rems_enrolled_on,
            given_name=row.given_name,
        )
        for row in session.execute(
            sa.select(
                Patient.id, Patient.active, Patient.rems_enrolled_on, Patient.given_name
            ).where(Patient.id.in_(ids))
        )
    }
    own: dict[int, list[Booked]] = defaultdict(list)
    for row in session.execute(
        select_booked().where(
            Appointment.patient_id.in_(ids),
            Appointment.status.not_in(sorted(RELEASED_STATUSES)),
        )
    ):
        own[row[1]].append(Booked(*row))
    return patients, own


def _group_snapshot(
    session: Session, location_id: int, treatment_type_id: int, members: list[_Session]
) -> Snapshot:
    """Seven queries: booking's own snapshot over the days the group's sessions are on."""
    days = [item.local_day for item in members]
    longest_spacing = max(item.spacing_hours for item in members)
    return load_snapshot(
        session,
        location_id=location_id,
        treatment_type_id=treatment_type_id,
        patient_id=None,
        first_day=min(days),
        last_day=max(days),
        pad_hours=max(24, longest_spacing),
    )


# --- around a change ----------------------------------------------------------------------


@dataclass(slots=True)
class Watch:
    """The sessions of a scope that broke a rule before the change, to tell which ones the
    change itself breaks."""

    scope: Scope
    before: dict[int, Affected] = field(default_factory=dict)


def watch(session: Session, scope: Scope, *, now: dt.datetime) -> Watch:
    return Watch(scope, find_broken(session, scope, now=now))


def settle(
    session: Session,
    watched: Watch,
    *,
    change: str,
    kind: Kind,
    proceed: bool,
    actor: Actor,
    now: dt.datetime,
) -> list[Affected]:
    """Judge the scope again after the (flushed) change. A choice that newly breaks sessions
    is rolled back and refused with the list unless ``proceed``; otherwise the broken
    sessions are put onto the worklist and those fixed come off it. Returns the sessions
    the change broke. The caller commits."""
    from . import rebooking

    session.flush()
    judgement = judge(session, watched.scope, now=now)
    after = judgement.broken
    newly = [
        affected
        for appointment_id, affected in after.items()
        if not set(affected.reasons) <= set(_reasons(watched.before.get(appointment_id)))
    ]
    if newly and kind is CHOICE and not proceed:
        session.rollback()
        raise ImpactConflict(newly)
    rebooking.record(
        session,
        list(after.values()),
        change=change,
        actor=actor,
        now=now,
        judged=judgement.judged,
    )
    return newly


def _reasons(affected: Affected | None) -> Iterable[str]:
    return affected.reasons if affected is not None else ()
