"""Everything the rules need for one location, treatment type and date range, loaded in a
constant number of bulk queries (seven, whatever the size of the history).

The rules and the search then work in memory on plain records with times as integer UTC
seconds, which keeps evaluating thousands of candidate starts cheap. Rows are read as
columns, not ORM entities, so a booking's re-check inside its transaction never sees stale
objects from the session's identity map.

Concrete shifts are read from the ``shift`` table: the ``materialize-shifts`` job expands the
weekly templates 180 days ahead every six hours (and ``clinic seed-demo`` does it too), so the
search never writes.
"""

from __future__ import annotations

import copy
import datetime as dt
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Bundle, Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from ..models import (
    Appointment,
    Certification,
    Chair,
    ChairBlock,
    Closure,
    Location,
    OpeningHours,
    Patient,
    Shift,
    Staff,
    TimeOff,
    TreatmentType,
)
from ..models.booking import RELEASED_STATUSES
from .errors import NotFound, PatientUnavailable, TreatmentUnavailable
from .wording import chair_text, staff_text

DAY = 86_400
Span = tuple[int, int]


def to_seconds(instant: dt.datetime) -> int:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("naive datetime given where a timezone-aware one is required")
    return int(instant.timestamp())


def to_instant(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def local_midnight(day: dt.date, tz: ZoneInfo) -> int:
    return to_seconds(dt.datetime.combine(day, dt.time(0), tzinfo=tz))


def local_seconds(day: dt.date, wall_time: dt.time, tz: ZoneInfo) -> int:
    return to_seconds(dt.datetime.combine(day, wall_time, tzinfo=tz))


class EpochSeconds(FunctionElement[int]):
    """A timestamp column as whole UTC seconds since 1970, computed by the database: the
    snapshot reads thousands of instants and needs integers, not datetime objects."""

    type = sa.BigInteger()
    inherit_cache = True
    name = "epoch_seconds"


@compiles(EpochSeconds)
def _epoch_seconds_default(element: EpochSeconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})) AS BIGINT)"


@compiles(EpochSeconds, "sqlite")
def _epoch_seconds_sqlite(element: EpochSeconds, compiler: SQLCompiler, **kw: Any) -> str:
    # Stored as naive UTC text ("2026-06-02 11:00:00.000000"), which strftime reads as UTC.
    return f"CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


def merge_spans(spans: Iterable[Span]) -> list[Span]:
    """Sorted, non-overlapping spans; touching spans (a shift ending as the next begins) join."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]


def subtract_spans(spans: list[Span], holes: Iterable[Span]) -> list[Span]:
    result = spans
    for hole_start, hole_end in sorted(holes):
        next_result: list[Span] = []
        for start, end in result:
            if hole_end <= start or hole_start >= end:
                next_result.append((start, end))
                continue
            if start < hole_start:
                next_result.append((start, hole_start))
            if hole_end < end:
                next_result.append((hole_end, end))
        result = next_result
    return result


@dataclass(slots=True)
class Booked:
    """A live appointment as the rules see it. Proposals not yet saved have negative ids."""

    id: int
    patient_id: int
    series_id: int | None
    location_id: int
    chair_id: int
    monitor_id: int
    prescriber_id: int | None
    starts: int
    ends: int  # end of monitoring: patient and monitor are taken until here
    busy_until: int  # chair busy until here (turnover)
    max_per_monitor: int
    # Its treatment type's dose spacing in seconds (0: gives no dose), and its name, for
    # the dose-spacing rule and its wording (``rules.doses``).
    dose_seconds: int = 0
    treatment_name: str = ""


@dataclass(slots=True)
class ChairInfo:
    id: int
    label: str
    active: bool
    capabilities: frozenset[str]
    blocks: list[tuple[int, int, str]] = field(default_factory=list)

    @property
    def text(self) -> str:
        return chair_text(self.label)


@dataclass(slots=True)
class StaffInfo:
    id: int
    name: str
    role: str
    active: bool
    # kind -> [(valid_from, expires_on)]
    certifications: dict[str, list[tuple[dt.date, dt.date]]] = field(default_factory=dict)
    shifts: list[Span] = field(default_factory=list)  # at this location, merged
    time_off: list[tuple[int, int, str]] = field(default_factory=list)
    _coverage: list[Span] | None = None

    @property
    def text(self) -> str:
        return staff_text(self.name, self.role)

    @property
    def coverage(self) -> list[Span]:
        """When the person is on shift here and not off."""
        if self._coverage is None:
            self._coverage = subtract_spans(
                self.shifts, [(start, end) for start, end, _ in self.time_off]
            )
        return self._coverage


@dataclass(slots=True)
class LocationInfo:
    id: int
    name: str
    tz: ZoneInfo
    active: bool
    opening: dict[int, list[tuple[dt.time, dt.time]]]
    closures: dict[dt.date, str]


@dataclass(slots=True)
class TreatmentInfo:
    id: int
    name: str
    active: bool
    capability: str
    required_certifications: tuple[str, ...]
    max_per_monitor: int
    needs_prescriber: bool
    needs_rems: bool
    to_treatment_end: int  # seconds from start: prep + treatment
    patient_seconds: int  # prep + treatment + monitoring
    chair_seconds: int  # ... + turnover
    dose_seconds: int = 0  # least time between this dose and another; 0: gives no dose

    def windows(self, starts: int) -> tuple[int, int, int]:
        """(treatment_ends, ends, busy_until) for a start, in seconds."""
        return (
            starts + self.to_treatment_end,
            starts + self.patient_seconds,
            starts + self.chair_seconds,
        )


@dataclass(slots=True)
class PatientInfo:
    id: int
    active: bool
    rems_enrolled_on: dt.date | None
    # For refusals a receptionist reads ("Elena already has ..."); never logged.
    given_name: str = ""


class Snapshot:
    """The world for one search or re-check. ``add`` records a proposal so that the next
    session of a series sees it; ``booked`` never contains released appointments."""

    def __init__(
        self,
        *,
        location: LocationInfo,
        treatment: TreatmentInfo,
        patient: PatientInfo | None,
        chairs: list[ChairInfo],
        staff: dict[int, StaffInfo],
        booked: list[Booked],
        first_day: dt.date,
        last_day: dt.date,
    ) -> None:
        self.location = location
        self.treatment = treatment
        self.patient = patient
        self.chairs = chairs
        self.chairs_by_id = {chair.id: chair for chair in chairs}
        self.staff = staff
        self.first_day = first_day
        self.last_day = last_day
        self._next_proposal_id = -1
        self._buckets: dict[int, list[Booked]] = defaultdict(list)
        self._longest = 0
        # The patient's own live sessions, at every location (dose spacing reads them all).
        self._own: list[Booked] = []
        # A booked session re-checked against the world (``seen_by``) does not meet itself.
        self._skip: int | None = None
        # ``_index`` for each, inlined: a snapshot indexes a thousand or more bookings.
        buckets, own, patient_id = self._buckets, self._own, patient.id if patient else None
        longest = 0
        for appointment in booked:
            starts = appointment.starts
            buckets[starts // DAY].append(appointment)
            if appointment.patient_id == patient_id:
                own.append(appointment)
            if appointment.busy_until - starts > longest:
                longest = appointment.busy_until - starts
        self._longest = longest

    @property
    def tz(self) -> ZoneInfo:
        return self.location.tz

    def _index(self, appointment: Booked) -> None:
        self._buckets[appointment.starts // DAY].append(appointment)
        if self.patient is not None and appointment.patient_id == self.patient.id:
            self._own.append(appointment)
        self._longest = max(self._longest, appointment.busy_until - appointment.starts)

    def overlapping(self, start: int, end: int) -> list[Booked]:
        """Live appointments whose chair-busy window meets [start, end)."""
        found = []
        for bucket in range((start - self._longest) // DAY, end // DAY + 1):
            for appointment in self._buckets.get(bucket, ()):
                if appointment.id == self._skip:
                    continue
                if appointment.starts < end and appointment.busy_until > start:
                    found.append(appointment)
        return found

    def seen_by(
        self,
        appointment: Booked,
        *,
        patient: PatientInfo,
        own: list[Booked],
        treatment: TreatmentInfo | None = None,
    ) -> Snapshot:
        """This snapshot as the re-check of one booked session sees it (the impact check):
        without the session itself, with its patient and the patient's ``own`` live
        sessions. Shares the loaded world; costs no query."""
        view = copy.copy(self)
        view.patient = patient
        view._skip = appointment.id
        view._own = [other for other in own if other.id != appointment.id]
        if treatment is not None:
            view.treatment = treatment
        return view

    def add_proposal(
        self,
        *,
        starts: int,
        chair_id: int,
        monitor_id: int,
        prescriber_id: int | None,
        series_id: int | None = None,
    ) -> Booked:
        _, ends, busy_until = self.treatment.windows(starts)
        proposal = Booked(
            id=self._next_proposal_id,
            patient_id=self.patient.id if self.patient else 0,
            series_id=series_id,
            location_id=self.location.id,
            chair_id=chair_id,
            monitor_id=monitor_id,
            prescriber_id=prescriber_id,
            starts=starts,
            ends=ends,
            busy_until=busy_until,
            max_per_monitor=self.treatment.max_per_monitor,
            dose_seconds=self.treatment.dose_seconds,
            treatment_name=self.treatment.name,
        )
        self._next_proposal_id -= 1
        self._index(proposal)
        return proposal

    def remove(self, appointment_ids: Iterable[int]) -> None:
        """Forget appointments that are being moved: their old times are free again."""
        ids = set(appointment_ids)
        for bucket, appointments in self._buckets.items():
            self._buckets[bucket] = [a for a in appointments if a.id not in ids]
        self._own = [a for a in self._own if a.id not in ids]

    def patient_sessions(self) -> list[Booked]:
        """The patient's live sessions in the snapshot, at any location, proposals included
        (loaded as far either side as the longest dose spacing of any treatment type)."""
        return self._own

    def first_of_series(self, series_id: int | None) -> Booked | None:
        """The earliest live session of a series in the snapshot (proposals included)."""
        if series_id is None:
            return None
        members = [
            appointment
            for appointments in self._buckets.values()
            for appointment in appointments
            if appointment.series_id == series_id
        ]
        return min(members, key=lambda appointment: appointment.starts, default=None)

    def series_starts(self, series_id: int | None, *, excluding: Iterable[int] = ()) -> list[int]:
        if series_id is None:
            return []
        skip = set(excluding)
        return sorted(
            appointment.starts
            for appointments in self._buckets.values()
            for appointment in appointments
            if appointment.series_id == series_id and appointment.id not in skip
        )


@dataclass(slots=True)
class StartIndex:
    """Sorted starts and ends of a set of appointments, for counting overlaps quickly."""

    starts: list[int]
    ends: list[int]

    @classmethod
    def of(cls, appointments: Iterable[Booked]) -> StartIndex:
        items = list(appointments)
        return cls(sorted(a.starts for a in items), sorted(a.ends for a in items))

    def overlapping(self, start: int, end: int) -> int:
        return bisect_left(self.starts, end) - bisect_right(self.ends, start)

    def starts_between(self, start: int, end: int) -> int:
        return bisect_left(self.starts, end) - bisect_left(self.starts, start)


def load_snapshot(
    session: Session,
    *,
    location_id: int,
    treatment_type_id: int,
    patient_id: int | None,
    first_day: dt.date,
    last_day: dt.date,
    pad_hours: int = 24,
) -> Snapshot:
    """Load the world for ``first_day``..``last_day`` (local dates) in seven queries.

    Appointments are read ``pad_hours`` either side of the range so that spacing to series
    sessions just outside it is checked too; the patient's own sessions, at every location,
    as far as the longest dose spacing of any treatment type. Raises ``NotFound`` for a
    missing location, treatment type or patient.
    """
    location, treatment, patient, longest_dose_hours = _load_location_treatment_patient(
        session, location_id, treatment_type_id, patient_id
    )
    # Queries 2-7 read plain columns: through the session's connection (its transaction and
    # locks) they skip the ORM's row handling, a good part of the cost for a thousand
    # appointments. Query 1 went through the session, which flushed any pending change.
    reader = session.connection()
    location.closures = _load_closures(reader, location_id, first_day, last_day)
    window = _Window.of(first_day, last_day, location.tz, pad_hours)
    chairs = _load_chairs(reader, location_id, window)
    staff = _load_staff_on_shift(reader, location_id, window)
    if staff:
        _add_certifications(reader, staff)
        _add_time_off(reader, staff, window)
    return Snapshot(
        location=location,
        treatment=treatment,
        patient=patient,
        chairs=chairs,
        staff=staff,
        booked=_load_booked(
            reader,
            location_id,
            patient_id,
            sorted(staff),
            window,
            patient_pad=dt.timedelta(hours=max(pad_hours, longest_dose_hours)),
        ),
        first_day=first_day,
        last_day=last_day,
    )


@dataclass(frozen=True, slots=True)
class _Window:
    """The instants a snapshot reads: the range itself and the padding either side."""

    start_at: dt.datetime
    end_at: dt.datetime
    pad: dt.timedelta

    @classmethod
    def of(cls, first_day: dt.date, last_day: dt.date, tz: ZoneInfo, pad_hours: int) -> _Window:
        return cls(
            start_at=to_instant(local_midnight(first_day, tz)),
            end_at=to_instant(local_midnight(last_day + dt.timedelta(days=1), tz)),
            pad=dt.timedelta(hours=max(pad_hours, 24)),
        )

    @property
    def earliest_start(self) -> dt.datetime:
        # Shifts and sessions are shorter than a day: this lower bound on their start keeps
        # the index scan short however long the history.
        return self.start_at - self.pad - dt.timedelta(days=1)


# The columns the rules read, as bundles (rows with named fields), not whole entities: a
# treatment type also carries JSON documents (session checkpoints, discharge limits) that the
# scheduler never reads and that every row of query 1 would otherwise decode.
_LOCATION_FACTS: Bundle[Any] = Bundle(
    "location", Location.id, Location.name, Location.timezone, Location.active
)
_TREATMENT_FACTS: Bundle[Any] = Bundle(
    "treatment",
    TreatmentType.id,
    TreatmentType.name,
    TreatmentType.active,
    TreatmentType.chair_capability,
    TreatmentType.required_certifications,
    TreatmentType.max_patients_per_monitor,
    TreatmentType.needs_prescriber_on_site,
    TreatmentType.needs_rems_enrollment,
    TreatmentType.prep_minutes,
    TreatmentType.treatment_minutes,
    TreatmentType.monitoring_minutes,
    TreatmentType.turnover_minutes,
    TreatmentType.min_hours_between_doses,
)


def _load_location_treatment_patient(
    session: Session, location_id: int, treatment_type_id: int, patient_id: int | None
) -> tuple[LocationInfo, TreatmentInfo, PatientInfo | None, int]:
    """Query 1: the location with its opening hours, the treatment type, the patient's
    booking facts and the longest dose spacing of any treatment type, in one SELECT."""
    longest_dose = (
        sa.select(sa.func.coalesce(sa.func.max(TreatmentType.min_hours_between_doses), 0))
        .scalar_subquery()
        .label("longest_dose_hours")
    )
    query = (
        sa.select(
            _LOCATION_FACTS,
            _TREATMENT_FACTS,
            OpeningHours.weekday,
            OpeningHours.opens,
            OpeningHours.closes,
            longest_dose,
        )
        .select_from(Location)
        .join(TreatmentType, TreatmentType.id == treatment_type_id)
        .outerjoin(OpeningHours, OpeningHours.location_id == Location.id)
        .where(Location.id == location_id)
    )
    if patient_id is not None:
        query = query.join(Patient, Patient.id == patient_id).add_columns(
            Patient.active, Patient.rems_enrolled_on, Patient.given_name
        )
    rows: list[Any] = list(session.execute(query).all())
    if not rows:
        _raise_missing(session, location_id, treatment_type_id, patient_id)
    location_row = rows[0][0]
    opening: dict[int, list[tuple[dt.time, dt.time]]] = defaultdict(list)
    for row in rows:
        if row[2] is not None:
            opening[row[2]].append((row[3], row[4]))
    patient = (
        PatientInfo(
            id=patient_id,
            active=rows[0][6],
            rems_enrolled_on=rows[0][7],
            given_name=rows[0][8],
        )
        if patient_id is not None
        else None
    )
    location = LocationInfo(
        id=location_row.id,
        name=location_row.name,
        tz=ZoneInfo(location_row.timezone),
        active=location_row.active,
        opening={day: sorted(spans) for day, spans in opening.items()},
        closures={},
    )
    return location, treatment_info(rows[0][1]), patient, int(rows[0][5] or 0)


def _load_closures(
    reader: sa.Connection, location_id: int, first_day: dt.date, last_day: dt.date
) -> dict[dt.date, str]:
    """Query 2."""
    return {
        day: reason
        for day, reason in reader.execute(
            sa.select(Closure.date, Closure.reason).where(
                Closure.location_id == location_id,
                Closure.date >= first_day,
                Closure.date <= last_day,
            )
        ).all()
    }


def _load_chairs(reader: sa.Connection, location_id: int, window: _Window) -> list[ChairInfo]:
    """Query 3: the chairs with the blocks that meet the range."""
    chairs: dict[int, ChairInfo] = {}
    for chair_id, label, active, capabilities, b_start, b_end, b_reason in reader.execute(
        sa.select(
            Chair.id,
            Chair.label,
            Chair.active,
            Chair.capabilities,
            EpochSeconds(ChairBlock.starts_at),
            EpochSeconds(ChairBlock.ends_at),
            ChairBlock.reason,
        )
        .outerjoin(
            ChairBlock,
            sa.and_(
                ChairBlock.chair_id == Chair.id,
                ChairBlock.starts_at < window.end_at,
                ChairBlock.ends_at > window.start_at,
            ),
        )
        .where(Chair.location_id == location_id)
        .order_by(Chair.label, Chair.id)
    ).all():
        chair = chairs.get(chair_id)
        if chair is None:
            chair = chairs[chair_id] = ChairInfo(
                id=chair_id, label=label, active=active, capabilities=frozenset(capabilities or ())
            )
        if b_start is not None:
            chair.blocks.append((b_start, b_end, b_reason))
    return list(chairs.values())


def _load_staff_on_shift(
    reader: sa.Connection, location_id: int, window: _Window
) -> dict[int, StaffInfo]:
    """Query 4: the staff with shifts here in the range (padded), with those shifts merged;
    in name order, so that ties between equally good people break the same way always."""
    staff: dict[int, StaffInfo] = {}
    shift_spans: dict[int, list[Span]] = defaultdict(list)
    for staff_id, name, role, active, s_start, s_end in reader.execute(
        sa.select(
            Staff.id,
            Staff.name,
            Staff.role,
            Staff.active,
            EpochSeconds(Shift.starts_at),
            EpochSeconds(Shift.ends_at),
        )
        .join(Shift, Shift.staff_id == Staff.id)
        .where(
            Shift.location_id == location_id,
            Shift.starts_at >= window.earliest_start,
            Shift.starts_at < window.end_at + window.pad,
            Shift.ends_at > window.start_at - window.pad,
        )
    ).all():
        if staff_id not in staff:
            staff[staff_id] = StaffInfo(id=staff_id, name=name, role=str(role), active=active)
        shift_spans[staff_id].append((s_start, s_end))
    for staff_id, spans in shift_spans.items():
        staff[staff_id].shifts = merge_spans(spans)
    return dict(sorted(staff.items(), key=lambda item: (item[1].name, item[0])))


def _add_certifications(reader: sa.Connection, staff: dict[int, StaffInfo]) -> None:
    """Query 5."""
    for staff_id, kind, valid_from, expires_on in reader.execute(
        sa.select(
            Certification.staff_id,
            Certification.kind,
            Certification.valid_from,
            Certification.expires_on,
        ).where(Certification.staff_id.in_(sorted(staff)))
    ).all():
        staff[staff_id].certifications.setdefault(kind, []).append((valid_from, expires_on))


def _add_time_off(reader: sa.Connection, staff: dict[int, StaffInfo], window: _Window) -> None:
    """Query 6."""
    for staff_id, o_start, o_end, o_reason in reader.execute(
        sa.select(
            TimeOff.staff_id,
            EpochSeconds(TimeOff.starts_at),
            EpochSeconds(TimeOff.ends_at),
            TimeOff.reason,
        ).where(
            TimeOff.staff_id.in_(sorted(staff)),
            TimeOff.starts_at < window.end_at + window.pad,
            TimeOff.ends_at > window.start_at - window.pad,
        )
    ).all():
        staff[staff_id].time_off.append((o_start, o_end, o_reason))


def _load_booked(
    reader: sa.Connection,
    location_id: int,
    patient_id: int | None,
    staff_ids: list[int],
    window: _Window,
    *,
    patient_pad: dt.timedelta,
) -> list[Booked]:
    """Query 7: live appointments that share the location or a monitor, and the patient's
    own at every location, read further either side (``patient_pad``, the dose spacing)."""
    who = [Appointment.location_id == location_id]
    if staff_ids:
        who.append(Appointment.monitor_id.in_(staff_ids))
    near = sa.and_(
        sa.or_(*who),
        Appointment.starts_at >= window.earliest_start,
        Appointment.starts_at < window.end_at + window.pad,
        Appointment.busy_until > window.start_at - window.pad,
    )
    if patient_id is not None:
        pad = max(patient_pad, window.pad)
        near = sa.or_(
            near,
            sa.and_(
                Appointment.patient_id == patient_id,
                Appointment.starts_at >= window.start_at - pad - dt.timedelta(days=1),
                Appointment.starts_at < window.end_at + pad,
                Appointment.busy_until > window.start_at - pad,
            ),
        )
    rows = reader.execute(
        select_booked().where(near, Appointment.status.not_in(sorted(RELEASED_STATUSES)))
    ).all()
    return [Booked(*row) for row in rows]


def select_booked() -> sa.Select[*tuple[Any, ...]]:
    """The columns of a :class:`Booked`, in its field order (the search's and the impact
    check's one reading of live sessions)."""
    return sa.select(
        Appointment.id,
        Appointment.patient_id,
        Appointment.series_id,
        Appointment.location_id,
        Appointment.chair_id,
        Appointment.monitor_id,
        Appointment.prescriber_id,
        EpochSeconds(Appointment.starts_at),
        EpochSeconds(Appointment.ends_at),
        EpochSeconds(Appointment.busy_until),
        TreatmentType.max_patients_per_monitor,
        TreatmentType.min_hours_between_doses * 3600,
        TreatmentType.name,
    ).join(TreatmentType, TreatmentType.id == Appointment.treatment_type_id)


def treatment_info(treatment: sa.Row[Any]) -> TreatmentInfo:
    """The rules' view of a treatment type, from a row of ``_TREATMENT_FACTS``."""
    to_treatment_end = (treatment.prep_minutes + treatment.treatment_minutes) * 60
    patient_seconds = to_treatment_end + treatment.monitoring_minutes * 60
    return TreatmentInfo(
        id=treatment.id,
        name=treatment.name,
        active=treatment.active,
        capability=treatment.chair_capability,
        required_certifications=tuple(treatment.required_certifications or ()),
        max_per_monitor=treatment.max_patients_per_monitor,
        needs_prescriber=treatment.needs_prescriber_on_site,
        needs_rems=treatment.needs_rems_enrollment,
        to_treatment_end=to_treatment_end,
        patient_seconds=patient_seconds,
        chair_seconds=patient_seconds + treatment.turnover_minutes * 60,
        dose_seconds=treatment.min_hours_between_doses * 3600,
    )


def _raise_missing(
    session: Session, location_id: int, treatment_type_id: int, patient_id: int | None
) -> None:
    if session.get(Location, location_id) is None:
        raise NotFound("That location no longer exists.")
    if session.get(TreatmentType, treatment_type_id) is None:
        raise NotFound("That treatment type no longer exists.")
    if patient_id is not None and session.get(Patient, patient_id) is None:
        raise NotFound("That patient record no longer exists.")
    raise NotFound("That location, treatment type or patient no longer exists.")


def require_bookable(snapshot: Snapshot) -> None:
    """Refuse the whole request when the treatment, location or patient cannot be booked."""
    if not snapshot.location.active:
        raise TreatmentUnavailable(f"{snapshot.location.name} no longer takes bookings.")
    if not snapshot.treatment.active:
        raise TreatmentUnavailable(f"{snapshot.treatment.name} is no longer offered.")
    if snapshot.patient is not None and not snapshot.patient.active:
        raise PatientUnavailable(
            "This patient record is inactive; reactivate it before booking sessions."
        )
