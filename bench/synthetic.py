"""A synthetic clinic with a realistic booked history, for benchmarks and scale tests.

``build_synthetic_clinic`` makes one New York location open every day (weekdays 07:00–20:00,
weekends 08:00–18:00), ``chairs`` chairs (one in five nasal), ``staff`` staff (one in six a
prescriber, the rest nurses certified for both treatments), weekly shifts expanded into
concrete shifts, and then fills every chair for ``history_days`` before ``now`` (and
``future_fill`` of the slots for ``future_days`` after it) with sessions that respect every
hard rule: staggered starts, patients-per-monitor limits, prescriber cover, one session per
patient per day. With 20 chairs and a year of history that is about 40,000 appointments.

Rows go in with bulk Core inserts, so a year builds in seconds on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from clinic.catalog import add_catalogue
from clinic.models import (
    Appointment,
    AppointmentStatus,
    Certification,
    Chair,
    Location,
    OpeningHours,
    Patient,
    ShiftTemplate,
    Staff,
    StaffRole,
    TreatmentType,
)
from clinic.models.booking import new_calendar_uid
from clinic.scheduling.shifts import materialize_shifts

TIMEZONE = "America/New_York"
WEEKDAY_HOURS = (dt.time(7), dt.time(20))
WEEKEND_HOURS = (dt.time(8), dt.time(18))
MINUTE = 60


@dataclass
class SyntheticClinic:
    location_id: int
    iv_id: int
    nasal_id: int
    iv_protocol_id: int
    nasal_protocol_id: int
    chair_ids: list[int]
    staff_ids: list[int]
    # Patients with no bookings at all, for previews and bookings to use.
    fresh_patient_ids: list[int] = field(default_factory=list)
    appointments: int = 0


@dataclass
class _Treatment:
    id: int
    capability: str
    patient_seconds: int
    chair_seconds: int
    to_treatment_end: int
    max_per_monitor: int
    needs_prescriber: bool


@dataclass
class _Monitor:
    id: int
    shift: tuple[int, int]
    sessions: list[tuple[int, int, int]] = field(default_factory=list)  # starts, ends, limit


def _seconds(day: dt.date, wall: dt.time, tz: ZoneInfo) -> int:
    return int(dt.datetime.combine(day, wall, tzinfo=tz).timestamp())


def _hours(day: dt.date) -> tuple[dt.time, dt.time]:
    return WEEKDAY_HOURS if day.weekday() < 5 else WEEKEND_HOURS


def build_synthetic_clinic(
    session: Session,
    *,
    chairs: int = 20,
    staff: int = 12,
    history_days: int = 365,
    now: dt.datetime,
    future_days: int = 28,
    future_fill: float = 0.5,
    shift_days_ahead: int = 120,
    fresh_patients: int = 200,
    seed: int = 7,
    name: str = "Synthetic Clinic",
) -> SyntheticClinic:
    """Build the clinic and commit. ``now`` splits history (discharged) from future (booked)."""
    rng = random.Random(seed)
    tz = ZoneInfo(TIMEZONE)
    today = now.astimezone(tz).date()
    location = Location(name=name, timezone=TIMEZONE, email="desk@synthetic.example")
    for weekday in range(7):
        opens, closes = WEEKDAY_HOURS if weekday < 5 else WEEKEND_HOURS
        location.opening_hours.append(OpeningHours(weekday=weekday, opens=opens, closes=closes))
    session.add(location)
    # The shipped treatments, shared by every synthetic clinic in the database.
    catalogue = add_catalogue(session)
    iv, nasal = catalogue.iv, catalogue.nasal
    iv_protocol, nasal_protocol = catalogue.iv_protocol, catalogue.nasal_protocol
    nasal_count = max(1, chairs // 5)
    chair_rows = [
        Chair(
            location=location,
            label=f"Nasal {n + 1}" if n < nasal_count else f"IV {n - nasal_count + 1}",
            capabilities=["nasal"] if n < nasal_count else ["iv"],
        )
        for n in range(chairs)
    ]
    session.add_all(chair_rows)
    first_day = today - dt.timedelta(days=history_days)
    prescribers = max(1, staff // 6)
    people = []
    for n in range(staff):
        role = StaffRole.PRESCRIBER if n < prescribers else StaffRole.NURSE
        person = Staff(
            name=f"{'Dr. ' if role is StaffRole.PRESCRIBER else ''}Synthetic {n + 1}",
            role=role,
            email=f"synthetic{n + 1}.{seed}@{name.lower().replace(' ', '-')}.example",
        )
        for kind in ("RN", "ACLS", "KETAMINE_IV", "ESKETAMINE_REMS"):
            person.certifications.append(
                Certification(
                    kind=kind,
                    number=f"{kind}-{n}",
                    valid_from=first_day - dt.timedelta(days=30),
                    expires_on=today + dt.timedelta(days=400 + n),
                )
            )
        for weekday in range(7):
            opens, closes = WEEKDAY_HOURS if weekday < 5 else WEEKEND_HOURS
            person.shift_templates.append(
                ShiftTemplate(
                    location=location,
                    weekday=weekday,
                    starts=(dt.datetime.combine(today, opens) - dt.timedelta(minutes=30)).time(),
                    ends=(dt.datetime.combine(today, closes) + dt.timedelta(minutes=30)).time(),
                    effective_from=first_day,
                )
            )
        people.append(person)
    session.add_all(people)
    session.flush()
    materialize_shifts(session, start=first_day, end=today + dt.timedelta(days=shift_days_ahead))

    # Patients: a pool large enough that nobody has two sessions a day, plus fresh ones.
    daily_max = chairs * 8
    pool_size = daily_max * 3
    _bulk_patients(session, f"SYN{seed}", pool_size + fresh_patients, today)
    patient_ids = list(
        session.scalars(
            sa.select(Patient.id).where(Patient.mrn.like(f"SYN{seed}-%")).order_by(Patient.id)
        )
    )
    pool, fresh = patient_ids[:pool_size], patient_ids[pool_size:]

    treatments = {
        "iv": _treatment(iv),
        "nasal": _treatment(nasal),
    }
    nurses = [p.id for p in people if p.role is StaffRole.NURSE]
    chairs_info = [(chair.id, chair.capabilities[0]) for chair in chair_rows]
    rows: list[dict[str, object]] = []
    now_seconds = int(now.timestamp())
    pool_cursor = 0
    day = first_day
    last_day = today + dt.timedelta(days=future_days)
    while day <= last_day:
        fill = 1.0 if day < today else future_fill
        day_rows = _fill_day(day, tz, chairs_info, nurses, treatments, fill=fill, rng=rng)
        for row in day_rows:
            row["patient_id"] = pool[pool_cursor % len(pool)]
            pool_cursor += 1
            past = int(row.pop("_starts")) < now_seconds  # type: ignore[call-overload]
            row["status"] = (
                AppointmentStatus.DISCHARGED.value if past else AppointmentStatus.BOOKED.value
            )
            row["location_id"] = location.id
            row["prescriber_id"] = people[0].id if row.pop("_prescriber") else None
            row["calendar_uid"] = new_calendar_uid()
            row["calendar_sequence"] = 0
            row["created_at"] = now
            row["updated_at"] = now
        # Nobody twice in one day: the pool holds three days' worth of patients.
        rows += day_rows
        day += dt.timedelta(days=1)
    for start in range(0, len(rows), 5000):
        session.execute(sa.insert(Appointment), rows[start : start + 5000])
    session.commit()
    return SyntheticClinic(
        location_id=location.id,
        iv_id=iv.id,
        nasal_id=nasal.id,
        iv_protocol_id=iv_protocol.id,
        nasal_protocol_id=nasal_protocol.id,
        chair_ids=[chair.id for chair in chair_rows],
        staff_ids=[person.id for person in people],
        fresh_patient_ids=fresh,
        appointments=len(rows),
    )


def _treatment(treatment: TreatmentType) -> _Treatment:
    to_treatment_end = (treatment.prep_minutes + treatment.treatment_minutes) * MINUTE
    patient_seconds = to_treatment_end + treatment.monitoring_minutes * MINUTE
    return _Treatment(
        id=treatment.id,
        capability=treatment.chair_capability,
        patient_seconds=patient_seconds,
        chair_seconds=patient_seconds + treatment.turnover_minutes * MINUTE,
        to_treatment_end=to_treatment_end,
        max_per_monitor=treatment.max_patients_per_monitor,
        needs_prescriber=treatment.needs_prescriber_on_site,
    )


def _bulk_patients(session: Session, prefix: str, count: int, today: dt.date) -> None:
    rows = [
        {
            "mrn": f"{prefix}-{n:06d}",
            "given_name": f"Given{n}",
            "family_name": f"Family{n}",
            "date_of_birth": dt.date(1950 + n % 50, 1 + n % 12, 1 + n % 28),
            "email": f"synthetic{n}@example.com",
            "phone": f"+1555{n:07d}",
            "email_opt_in": True,
            "sms_opt_in": False,
            "escort_name": "Escort",
            "escort_phone": "+15550000000",
            "rems_enrolled_on": today - dt.timedelta(days=400),
            "notes": "",
            "active": True,
        }
        for n in range(count)
    ]
    session.execute(sa.insert(Patient), rows)


def _fill_day(
    day: dt.date,
    tz: ZoneInfo,
    chairs: list[tuple[int, str]],
    nurses: list[int],
    treatments: dict[str, _Treatment],
    *,
    fill: float,
    rng: random.Random,
) -> list[dict[str, object]]:
    """Greedy, rule-abiding sessions for one day: every chair runs back to back from a
    staggered first start; each session takes the least busy nurse who may start it."""
    opens, closes = (_seconds(day, wall, tz) for wall in _hours(day))
    monitors = [_Monitor(nurse, (opens - 30 * MINUTE, closes + 30 * MINUTE)) for nurse in nurses]
    # Chair i first starts 15 minutes after chair i - 1 (four per hour), so starts stagger.
    cursors = {chair_id: opens + (i % 4) * 15 * MINUTE for i, (chair_id, _) in enumerate(chairs)}
    capability = dict(chairs)
    rows: list[dict[str, object]] = []
    while True:
        open_chairs = [
            (t, chair)
            for chair, t in cursors.items()
            if t + treatments[capability[chair]].patient_seconds <= closes
        ]
        if not open_chairs:
            break
        starts, chair = min(open_chairs)
        treatment = treatments[capability[chair]]
        ends = starts + treatment.patient_seconds
        monitor = _free_monitor(monitors, starts, ends, treatment.max_per_monitor)
        if monitor is None or rng.random() > fill:
            cursors[chair] = starts + (15 * MINUTE if monitor is None else treatment.chair_seconds)
            continue
        monitor.sessions.append((starts, ends, treatment.max_per_monitor))
        cursors[chair] = starts + treatment.chair_seconds
        rows.append(
            {
                "_starts": starts,
                "_prescriber": treatment.needs_prescriber,
                "treatment_type_id": treatment.id,
                "chair_id": chair,
                "monitor_id": monitor.id,
                "starts_at": dt.datetime.fromtimestamp(starts, dt.UTC),
                "treatment_ends_at": dt.datetime.fromtimestamp(
                    starts + treatment.to_treatment_end, dt.UTC
                ),
                "ends_at": dt.datetime.fromtimestamp(ends, dt.UTC),
                "busy_until": dt.datetime.fromtimestamp(starts + treatment.chair_seconds, dt.UTC),
            }
        )
    return rows


def _free_monitor(monitors: list[_Monitor], starts: int, ends: int, limit: int) -> _Monitor | None:
    best: _Monitor | None = None
    best_load = 0
    for monitor in monitors:
        if not (monitor.shift[0] <= starts and ends <= monitor.shift[1]):
            continue
        if any(abs(other - starts) < 15 * MINUTE for other, _, _ in monitor.sessions):
            continue
        running = [s for s in monitor.sessions if s[0] < ends and s[1] > starts]
        # Every moment of the new window: the running count must stay under every limit.
        moments = {starts} | {s[0] for s in running if s[0] > starts}
        fits = all(
            sum(1 for s in running if s[0] <= moment < s[1]) + 1
            <= min([limit] + [s[2] for s in running if s[0] <= moment < s[1]])
            for moment in moments
        )
        if fits and (best is None or len(running) < best_load):
            best, best_load = monitor, len(running)
    return best
