"""The day and week board: chairs as lanes, sessions with their phases, staff on shift.

Read-only. One call loads a whole day (or week) in a fixed number of bulk queries (five at
most; six on a day with patients in the clinic, whose records the nurses' checks need),
however many sessions there are, and returns plain dataclasses in the location's local
time, so the web board, the printable day sheet and the JSON API all draw from the same
data.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from ..errors import NotFound
from ..models import (
    CERTIFICATION_WARNING_DAYS,
    RELEASED_STATUSES,
    Appointment,
    AppointmentStatus,
    Chair,
    ChairBlock,
    Closure,
    Location,
    Notification,
    Series,
    Shift,
    Staff,
    TimeOff,
)
from ..monitoring.queries import BoardCheck, board_checks
from .shifts import local_instant

DEFAULT_OPENING = (dt.time(8, 0), dt.time(18, 0))

STATUS_LABELS: dict[AppointmentStatus, str] = {
    AppointmentStatus.BOOKED: "Booked",
    AppointmentStatus.CHECKED_IN: "Checked in",
    AppointmentStatus.IN_TREATMENT: "In treatment",
    AppointmentStatus.MONITORING: "Monitoring",
    AppointmentStatus.DISCHARGED: "Discharged",
    AppointmentStatus.CANCELLED: "Cancelled",
    AppointmentStatus.NO_SHOW: "No-show",
}


class BoardNotFound(NotFound):
    """The location asked for does not exist."""


@dataclass(frozen=True, slots=True)
class BoardSession:
    """One session as the board shows it. Datetimes are aware, in the location's zone."""

    appointment_id: int
    patient_id: int
    patient_name: str
    mrn: str
    treatment_type_id: int
    treatment_name: str
    route: str
    chair_id: int
    chair_label: str
    monitor_id: int
    monitor_name: str
    prescriber_name: str | None
    status: AppointmentStatus
    starts_at: dt.datetime
    treatment_ends_at: dt.datetime
    ends_at: dt.datetime
    busy_until: dt.datetime
    needs_escort: bool
    escort_name: str | None
    escort_phone: str | None
    escort_confirmed: bool
    series_id: int | None
    series_position: int | None
    series_total: int | None
    cancel_reason: str | None
    # The record (issue 12): the nurse's next check for an in-clinic session, and whether a
    # discharge broke a gate by override.
    check: BoardCheck | None = None
    discharge_override: str | None = None
    # When the front desk checked the patient in and the nurse sent them home (local time),
    # and whether they went home without a confirmed, named escort (only by an override).
    checked_in_at: dt.datetime | None = None
    discharged_at: dt.datetime | None = None
    home_without_escort: bool = False

    @property
    def check_state(self) -> str | None:
        return self.check.state.value if self.check and self.check.state else None

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def is_live(self) -> bool:
        return self.status not in RELEASED_STATUSES

    @property
    def series_label(self) -> str | None:
        if self.series_position is None or self.series_total is None:
            return None
        return f"{self.series_position} of {self.series_total}"


@dataclass(frozen=True, slots=True)
class OutOfService:
    chair_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    reason: str


@dataclass(slots=True)
class ChairLane:
    chair_id: int
    label: str
    capabilities: list[str]
    active: bool
    sessions: list[BoardSession] = field(default_factory=list)
    blocks: list[OutOfService] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CertificationFlag:
    kind: str
    expires_on: dt.date
    days_left: int  # negative once expired

    @property
    def expired(self) -> bool:
        return self.days_left < 0


@dataclass(slots=True)
class StaffOnShift:
    staff_id: int
    name: str
    role: str
    shifts: list[tuple[dt.datetime, dt.datetime]] = field(default_factory=list)
    time_off: list[tuple[dt.datetime, dt.datetime, str]] = field(default_factory=list)
    sessions: int = 0
    peak_patients: int = 0
    patients_now: int | None = None  # only on today's board
    certification_flags: list[CertificationFlag] = field(default_factory=list)
    on_shift: bool = True  # False: monitors sessions but has no shift that day


@dataclass(slots=True)
class DayBoard:
    location_id: int
    location_name: str
    timezone: str
    day: dt.date
    opening: list[tuple[dt.time, dt.time]]
    closure_reason: str | None
    window_start: dt.datetime
    window_end: dt.datetime
    lanes: list[ChairLane]
    staff: list[StaffOnShift]
    sessions: list[BoardSession]  # live sessions, by start
    released: list[BoardSession]  # cancelled and no-shows
    now: dt.datetime | None  # local now when it falls inside the window

    @property
    def is_closed(self) -> bool:
        return self.closure_reason is not None or not self.opening

    @property
    def status_counts(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for item in self.sessions + self.released:
            counts[item.status_label] += 1
        return dict(counts)

    @property
    def certification_warnings(self) -> list[tuple[StaffOnShift, CertificationFlag]]:
        return [(member, flag) for member in self.staff for flag in member.certification_flags]


@dataclass(slots=True)
class WeekDay:
    day: dt.date
    opening: list[tuple[dt.time, dt.time]]
    closure_reason: str | None
    sessions: list[BoardSession]
    released: list[BoardSession]
    chair_utilisation: int | None  # percent of open chair-time that is busy
    staff_on_shift: int

    @property
    def is_closed(self) -> bool:
        return self.closure_reason is not None or not self.opening


@dataclass(slots=True)
class WeekBoard:
    location_id: int
    location_name: str
    timezone: str
    first_day: dt.date
    days: list[WeekDay]
    chair_count: int
    certification_warnings: list[tuple[str, CertificationFlag]]


# --- loading ------------------------------------------------------------------------------


@dataclass(slots=True)
class _Loaded:
    location: Location
    tz: ZoneInfo
    chairs: list[Chair]
    closures: dict[dt.date, str]
    appointments: list[Appointment]
    positions: dict[int, tuple[int, int]]
    shifts: list[Shift]
    time_off: list[TimeOff]


def _load(session: Session, *, location_id: int, first_day: dt.date, last_day: dt.date) -> _Loaded:
    """At most five queries for any number of days, chairs and sessions."""
    location = _load_location(session, location_id, first_day, last_day)
    tz = ZoneInfo(location.timezone)
    start = local_instant(first_day, dt.time(0), tz)
    end = local_instant(last_day + dt.timedelta(days=1), dt.time(0), tz)
    appointments = _load_appointments(session, location_id, start, end)
    positions = _series_positions(session, appointments)
    shifts = _load_shifts(session, location_id, start, end)
    return _Loaded(
        location=location,
        tz=tz,
        chairs=list(location.chairs),
        closures={c.date: c.reason or "Closed" for c in location.closures},
        appointments=appointments,
        positions=positions,
        shifts=shifts,
        time_off=_load_time_off(session, {s.staff_id for s in shifts}, start, end),
    )


def _load_location(
    session: Session, location_id: int, first_day: dt.date, last_day: dt.date
) -> Location:
    """Query 1: the location with its hours, the closures in range, and its chairs with the
    out-of-service blocks near the range: one SELECT (small collections). The zone is not
    known yet, so blocks are fetched with a day of margin and trimmed per day later."""
    margin_start = dt.datetime.combine(first_day - dt.timedelta(days=1), dt.time(0), dt.UTC)
    margin_end = dt.datetime.combine(last_day + dt.timedelta(days=2), dt.time(0), dt.UTC)
    location = (
        session.scalars(
            sa.select(Location)
            .where(Location.id == location_id)
            .options(
                joinedload(Location.opening_hours),
                joinedload(
                    Location.closures.and_(Closure.date >= first_day, Closure.date <= last_day)
                ),
                joinedload(Location.chairs).joinedload(
                    Chair.blocks.and_(
                        ChairBlock.starts_at < margin_end, ChairBlock.ends_at > margin_start
                    )
                ),
            )
        )
        .unique()
        .one_or_none()
    )
    if location is None:
        raise BoardNotFound(f"There is no location with id {location_id}.")
    return location


def _load_appointments(
    session: Session, location_id: int, start: dt.datetime, end: dt.datetime
) -> list[Appointment]:
    """Query 2: the sessions, with everything the board prints about them in one SELECT."""
    return list(
        session.scalars(
            sa.select(Appointment)
            .where(
                Appointment.location_id == location_id,
                Appointment.starts_at < end,
                Appointment.busy_until > start,
            )
            .options(
                joinedload(Appointment.patient),
                joinedload(Appointment.treatment_type),
                joinedload(Appointment.monitor),
                joinedload(Appointment.prescriber),
            )
            .order_by(Appointment.starts_at, Appointment.id)
        )
    )


def _series_positions(
    session: Session, appointments: list[Appointment]
) -> dict[int, tuple[int, int]]:
    """Query 3 (only when a session belongs to a series): where each sits in its series
    ("3 of 6"), counted over the whole series."""
    positions: dict[int, tuple[int, int]] = {}
    series_ids = {a.series_id for a in appointments if a.series_id is not None}
    if not series_ids:
        return positions
    rows = session.execute(
        sa.select(Appointment.series_id, Appointment.id)
        .where(
            Appointment.series_id.in_(series_ids),
            Appointment.status != AppointmentStatus.CANCELLED,
        )
        .order_by(Appointment.series_id, Appointment.starts_at, Appointment.id)
    ).all()
    members: dict[int, list[int]] = defaultdict(list)
    for series_id, appointment_id in rows:
        if series_id is not None:
            members[series_id].append(appointment_id)
    for ids in members.values():
        for index, appointment_id in enumerate(ids, start=1):
            positions[appointment_id] = (index, len(ids))
    return positions


def _load_shifts(
    session: Session, location_id: int, start: dt.datetime, end: dt.datetime
) -> list[Shift]:
    """Query 4: shifts at this location with their staff and certifications."""
    return list(
        session.scalars(
            sa.select(Shift)
            .where(Shift.location_id == location_id, Shift.starts_at < end, Shift.ends_at > start)
            .options(joinedload(Shift.staff).joinedload(Staff.certifications))
            .order_by(Shift.starts_at, Shift.id)
        ).unique()
    )


def _load_time_off(
    session: Session, staff_ids: set[int], start: dt.datetime, end: dt.datetime
) -> list[TimeOff]:
    """Query 5 (only when someone is on shift): their time off."""
    if not staff_ids:
        return []
    return list(
        session.scalars(
            sa.select(TimeOff).where(
                TimeOff.staff_id.in_(staff_ids),
                TimeOff.starts_at < end,
                TimeOff.ends_at > start,
            )
        )
    )


def _board_session(
    appointment: Appointment,
    *,
    tz: ZoneInfo,
    chair_labels: dict[int, str],
    positions: dict[int, tuple[int, int]],
    checks: dict[int, BoardCheck] | None = None,
) -> BoardSession:
    position = positions.get(appointment.id)
    return BoardSession(
        appointment_id=appointment.id,
        patient_id=appointment.patient_id,
        patient_name=appointment.patient.full_name,
        mrn=appointment.patient.mrn,
        treatment_type_id=appointment.treatment_type_id,
        treatment_name=appointment.treatment_type.name,
        route=str(appointment.treatment_type.route),
        chair_id=appointment.chair_id,
        chair_label=chair_labels.get(appointment.chair_id, f"Chair {appointment.chair_id}"),
        monitor_id=appointment.monitor_id,
        monitor_name=appointment.monitor.name,
        prescriber_name=appointment.prescriber.name if appointment.prescriber else None,
        status=AppointmentStatus(appointment.status),
        starts_at=appointment.starts_at.astimezone(tz),
        treatment_ends_at=appointment.treatment_ends_at.astimezone(tz),
        ends_at=appointment.ends_at.astimezone(tz),
        busy_until=appointment.busy_until.astimezone(tz),
        needs_escort=appointment.treatment_type.needs_escort,
        escort_name=appointment.escort_name,
        escort_phone=appointment.escort_phone,
        escort_confirmed=appointment.escort_confirmed_at is not None,
        series_id=appointment.series_id,
        series_position=position[0] if position else None,
        series_total=position[1] if position else None,
        cancel_reason=appointment.cancel_reason,
        check=(checks or {}).get(appointment.id),
        discharge_override=appointment.discharge_override_reason,
        checked_in_at=_local(appointment.checked_in_at, tz),
        discharged_at=_local(appointment.discharged_at, tz),
        home_without_escort=_home_without_escort(appointment),
    )


def _local(moment: dt.datetime | None, tz: ZoneInfo) -> dt.datetime | None:
    return moment.astimezone(tz) if moment is not None else None


def _home_without_escort(appointment: Appointment) -> bool:
    """Discharged although the escort condition of the discharge gate was unmet: the same
    test as :func:`clinic.scheduling.status.discharge` (confirmed, and a name on file)."""
    if appointment.status != AppointmentStatus.DISCHARGED:
        return False
    if not appointment.treatment_type.needs_escort:
        return False
    named = appointment.escort_name or appointment.patient.escort_name
    return not (appointment.escort_confirmed_at is not None and named)


def _opening_for(location: Location, day: dt.date) -> list[tuple[dt.time, dt.time]]:
    return sorted(
        (hours.opens, hours.closes)
        for hours in location.opening_hours
        if hours.weekday == day.weekday()
    )


def _peak_overlap(windows: list[tuple[dt.datetime, dt.datetime]]) -> int:
    events = sorted([(start, 1) for start, _ in windows] + [(end, -1) for _, end in windows])
    peak = current = 0
    for _, delta in events:  # ends sort before starts at the same instant (-1 < 1)
        current += delta
        peak = max(peak, current)
    return peak


def _certification_flags(member: Staff, day: dt.date) -> list[CertificationFlag]:
    horizon = day + dt.timedelta(days=CERTIFICATION_WARNING_DAYS)
    return [
        CertificationFlag(
            kind=cert.kind, expires_on=cert.expires_on, days_left=(cert.expires_on - day).days
        )
        for cert in sorted(member.certifications, key=lambda c: c.expires_on)
        if cert.expires_on <= horizon
    ]


def _day_staff(
    loaded: _Loaded,
    sessions: list[BoardSession],
    *,
    day_start: dt.datetime,
    day_end: dt.datetime,
    day: dt.date,
    now: dt.datetime,
) -> list[StaffOnShift]:
    tz = loaded.tz
    staff: dict[int, StaffOnShift] = {}
    for shift in loaded.shifts:
        if not (shift.starts_at < day_end and shift.ends_at > day_start):
            continue
        member = staff.get(shift.staff_id)
        if member is None:
            member = staff[shift.staff_id] = StaffOnShift(
                staff_id=shift.staff_id,
                name=shift.staff.name,
                role=str(shift.staff.role),
                certification_flags=_certification_flags(shift.staff, day),
            )
        member.shifts.append((shift.starts_at.astimezone(tz), shift.ends_at.astimezone(tz)))
    for off in loaded.time_off:
        if off.staff_id in staff and off.starts_at < day_end and off.ends_at > day_start:
            staff[off.staff_id].time_off.append(
                (off.starts_at.astimezone(tz), off.ends_at.astimezone(tz), off.reason)
            )
    windows: dict[int, list[tuple[dt.datetime, dt.datetime]]] = defaultdict(list)
    for item in sessions:
        windows[item.monitor_id].append((item.starts_at, item.ends_at))
        if item.monitor_id not in staff:
            staff[item.monitor_id] = StaffOnShift(
                staff_id=item.monitor_id, name=item.monitor_name, role="", on_shift=False
            )
    is_today = now.astimezone(tz).date() == day
    for staff_id, member in staff.items():
        own = windows.get(staff_id, [])
        member.sessions = len(own)
        member.peak_patients = _peak_overlap(own)
        if is_today:
            member.patients_now = sum(1 for start, end in own if start <= now < end)
    return sorted(staff.values(), key=lambda m: (not m.on_shift, m.role != "nurse", m.name))


def _window(
    opening: list[tuple[dt.time, dt.time]],
    day: dt.date,
    tz: ZoneInfo,
    sessions: list[BoardSession],
) -> tuple[dt.datetime, dt.datetime]:
    """Whole hours from the earliest opening (or session) to the latest close (or session)."""
    opens = min((o for o, _ in opening), default=DEFAULT_OPENING[0])
    closes = max((c for _, c in opening), default=DEFAULT_OPENING[1])
    start = dt.datetime.combine(day, opens.replace(minute=0, second=0), tzinfo=tz)
    end = dt.datetime.combine(day, dt.time(0), tzinfo=tz) + dt.timedelta(
        hours=closes.hour + (1 if closes.minute or closes.second else 0)
    )
    for item in sessions:
        start = min(start, item.starts_at.replace(minute=0))
        end = max(end, item.busy_until)
    day_start = dt.datetime.combine(day, dt.time(0), tzinfo=tz)
    day_end = day_start + dt.timedelta(days=1)
    start = max(start, day_start)
    if end.minute or end.second:
        end = end.replace(minute=0, second=0) + dt.timedelta(hours=1)
    return start, min(end, day_end)


def load_day_board(
    session: Session, *, location_id: int, day: dt.date, now: dt.datetime
) -> DayBoard:
    loaded = _load(session, location_id=location_id, first_day=day, last_day=day)
    # Query 6 (only when someone is in the clinic): the records behind the nurses' checks.
    checks = board_checks(session, loaded.appointments, now=now)
    return _day_board(loaded, day=day, now=now, checks=checks)


def _day_sessions(
    loaded: _Loaded,
    day_start: dt.datetime,
    day_end: dt.datetime,
    day: dt.date,
    checks: dict[int, BoardCheck] | None,
) -> tuple[list[BoardSession], list[BoardSession]]:
    """The day's sessions as the board shows them: (live, released)."""
    tz = loaded.tz
    chair_labels = {chair.id: chair.label for chair in loaded.chairs}
    live: list[BoardSession] = []
    released: list[BoardSession] = []
    for appointment in loaded.appointments:
        if not (appointment.starts_at < day_end and appointment.busy_until > day_start):
            continue
        if appointment.starts_at.astimezone(tz).date() != day:
            continue
        item = _board_session(
            appointment,
            tz=tz,
            chair_labels=chair_labels,
            positions=loaded.positions,
            checks=checks,
        )
        (live if item.is_live else released).append(item)
    return live, released


def _day_board(
    loaded: _Loaded,
    *,
    day: dt.date,
    now: dt.datetime,
    checks: dict[int, BoardCheck] | None = None,
) -> DayBoard:
    tz = loaded.tz
    day_start = local_instant(day, dt.time(0), tz)
    day_end = local_instant(day + dt.timedelta(days=1), dt.time(0), tz)
    live, released = _day_sessions(loaded, day_start, day_end, day, checks)

    lanes = []
    for chair in loaded.chairs:
        own = [item for item in live if item.chair_id == chair.id]
        if not chair.active and not own:
            continue
        lanes.append(
            ChairLane(
                chair_id=chair.id,
                label=chair.label,
                capabilities=list(chair.capabilities or []),
                active=chair.active,
                sessions=own,
                blocks=[
                    OutOfService(
                        chair_id=chair.id,
                        starts_at=max(block.starts_at, day_start).astimezone(tz),
                        ends_at=min(block.ends_at, day_end).astimezone(tz),
                        reason=block.reason,
                    )
                    for block in chair.blocks
                    if block.starts_at < day_end and block.ends_at > day_start
                ],
            )
        )
    opening = _opening_for(loaded.location, day)
    window_start, window_end = _window(opening, day, tz, live)
    local_now = now.astimezone(tz)
    return DayBoard(
        location_id=loaded.location.id,
        location_name=loaded.location.name,
        timezone=loaded.location.timezone,
        day=day,
        opening=opening,
        closure_reason=loaded.closures.get(day),
        window_start=window_start,
        window_end=window_end,
        lanes=lanes,
        staff=_day_staff(loaded, live, day_start=day_start, day_end=day_end, day=day, now=now),
        sessions=live,
        released=released,
        now=local_now if window_start <= local_now < window_end else None,
    )


def load_week_board(
    session: Session, *, location_id: int, first_day: dt.date, now: dt.datetime, days: int = 7
) -> WeekBoard:
    last_day = first_day + dt.timedelta(days=days - 1)
    loaded = _load(session, location_id=location_id, first_day=first_day, last_day=last_day)
    active_chairs = sum(1 for chair in loaded.chairs if chair.active)
    week_days = []
    warnings: dict[tuple[str, str], tuple[str, CertificationFlag]] = {}
    for offset in range(days):
        day = first_day + dt.timedelta(days=offset)
        board = _day_board(loaded, day=day, now=now)
        open_minutes = sum(
            (dt.datetime.combine(day, c) - dt.datetime.combine(day, o)).total_seconds() / 60
            for o, c in board.opening
        )
        busy_minutes = sum(
            (item.busy_until - item.starts_at).total_seconds() / 60 for item in board.sessions
        )
        capacity = open_minutes * active_chairs
        week_days.append(
            WeekDay(
                day=day,
                opening=board.opening,
                closure_reason=board.closure_reason,
                sessions=board.sessions,
                released=board.released,
                chair_utilisation=(
                    round(100 * busy_minutes / capacity)
                    if capacity and not board.is_closed
                    else None
                ),
                staff_on_shift=sum(1 for member in board.staff if member.on_shift),
            )
        )
        for member in board.staff:
            for flag in member.certification_flags:
                warnings.setdefault((member.name, flag.kind), (member.name, flag))
    return WeekBoard(
        location_id=loaded.location.id,
        location_name=loaded.location.name,
        timezone=loaded.location.timezone,
        first_day=first_day,
        days=week_days,
        chair_count=active_chairs,
        certification_warnings=sorted(warnings.values(), key=lambda w: w[1].expires_on),
    )


def list_locations(session: Session) -> list[tuple[int, str, str]]:
    """(id, name, timezone) of the active locations, for the board's location picker."""
    return [
        (row.id, row.name, row.timezone)
        for row in session.execute(
            sa.select(Location.id, Location.name, Location.timezone)
            .where(Location.active)
            .order_by(Location.name)
        )
    ]


@dataclass(frozen=True, slots=True)
class SessionDetail:
    appointment: Appointment
    series_position: int | None
    series_total: int | None
    notifications: list[Notification]

    @property
    def local_starts_at(self) -> dt.datetime:
        return self.appointment.starts_at.astimezone(self.appointment.location.tz)


def load_session_detail(session: Session, *, appointment_id: int) -> SessionDetail | None:
    """One session with its people, place, series position and messages (three queries)."""
    appointment = session.scalars(
        sa.select(Appointment)
        .where(Appointment.id == appointment_id)
        .options(
            joinedload(Appointment.patient),
            joinedload(Appointment.treatment_type),
            joinedload(Appointment.location),
            joinedload(Appointment.chair),
            joinedload(Appointment.monitor),
            joinedload(Appointment.prescriber),
            joinedload(Appointment.series).joinedload(Series.protocol),
        )
    ).one_or_none()
    if appointment is None:
        return None
    position = total = None
    if appointment.series_id is not None:
        ids = list(
            session.scalars(
                sa.select(Appointment.id)
                .where(
                    Appointment.series_id == appointment.series_id,
                    Appointment.status != AppointmentStatus.CANCELLED,
                )
                .order_by(Appointment.starts_at, Appointment.id)
            )
        )
        if appointment.id in ids:
            position, total = ids.index(appointment.id) + 1, len(ids)
    notifications = list(
        session.scalars(
            sa.select(Notification)
            .where(Notification.appointment_id == appointment_id)
            .order_by(Notification.due_at, Notification.id)
        )
    )
    return SessionDetail(
        appointment=appointment,
        series_position=position,
        series_total=total,
        notifications=notifications,
    )


@dataclass(frozen=True, slots=True)
class SeriesDetail:
    series: Series
    appointments: list[Appointment]
    done: int
    planned: int

    @property
    def timezone(self) -> str:
        return self.appointments[0].location.timezone if self.appointments else "UTC"


def load_series_detail(session: Session, *, series_id: int) -> SeriesDetail | None:
    series = session.scalars(
        sa.select(Series)
        .where(Series.id == series_id)
        .options(
            joinedload(Series.patient),
            joinedload(Series.treatment_type),
            joinedload(Series.protocol),
        )
    ).one_or_none()
    if series is None:
        return None
    appointments = list(
        session.scalars(
            sa.select(Appointment)
            .where(Appointment.series_id == series_id)
            .options(
                joinedload(Appointment.location),
                joinedload(Appointment.chair),
                joinedload(Appointment.monitor),
            )
            .order_by(Appointment.starts_at, Appointment.id)
        )
    )
    counted = [a for a in appointments if a.status != AppointmentStatus.CANCELLED]
    return SeriesDetail(
        series=series,
        appointments=appointments,
        done=sum(1 for a in counted if a.status == AppointmentStatus.DISCHARGED),
        planned=len(counted),
    )
