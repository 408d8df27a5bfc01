"""Small factory helpers that build a clinic for the scheduling tests.

``build_clinic`` makes one New York location (Mon–Fri 08:00–18:00, Sat 09:00–13:00), IV and
nasal chairs, certified nurses and a prescriber on weekly shifts (expanded into concrete
shifts with ``materialize_shifts``), the two shipped treatment types and protocols, and
patients. Tests tweak the world with the other helpers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from clinic.audit import Actor
from clinic.models import (
    Certification,
    Chair,
    ChairBlock,
    Closure,
    Location,
    OpeningHours,
    Patient,
    Protocol,
    Shift,
    ShiftTemplate,
    Staff,
    StaffRole,
    TimeOff,
    TreatmentType,
)
from clinic.scheduling.shifts import materialize_shifts

NY = ZoneInfo("America/New_York")
# Monday 2 March 2026, 07:00 in New York.
NOW = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)
ACTOR = Actor(user_id=None, username="test-receptionist")
IV_CERTS = ("RN", "ACLS", "KETAMINE_IV")
NASAL_CERTS = ("RN", "ESKETAMINE_REMS")


def at(day: dt.date | str, hhmm: str, tz: ZoneInfo = NY) -> dt.datetime:
    """The UTC instant of a local wall-clock time, e.g. ``at("2026-03-03", "09:00")``."""
    if isinstance(day, str):
        day = dt.date.fromisoformat(day)
    hour, minute = (int(part) for part in hhmm.split(":"))
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=tz).astimezone(dt.UTC)


@dataclass
class Clinic:
    location: Location
    iv: TreatmentType
    nasal: TreatmentType
    iv_protocol: Protocol
    nasal_protocol: Protocol
    iv_chairs: list[Chair] = field(default_factory=list)
    nasal_chairs: list[Chair] = field(default_factory=list)
    nurses: list[Staff] = field(default_factory=list)
    prescriber: Staff | None = None
    patients: list[Patient] = field(default_factory=list)


def make_location(
    session: Session, *, name: str = "Riverside", timezone: str = "America/New_York"
) -> Location:
    location = Location(name=name, timezone=timezone, email="desk@riverside.example")
    for weekday in range(5):
        location.opening_hours.append(
            OpeningHours(weekday=weekday, opens=dt.time(8), closes=dt.time(18))
        )
    location.opening_hours.append(OpeningHours(weekday=5, opens=dt.time(9), closes=dt.time(13)))
    session.add(location)
    return location


def make_chair(
    session: Session, location: Location, label: str, capabilities: tuple[str, ...] = ("iv",)
) -> Chair:
    chair = Chair(location=location, label=label, capabilities=list(capabilities))
    session.add(chair)
    return chair


def make_staff(
    session: Session,
    name: str,
    *,
    role: StaffRole = StaffRole.NURSE,
    certifications: tuple[str, ...] = IV_CERTS + ("ESKETAMINE_REMS",),
    valid_from: dt.date = dt.date(2025, 1, 1),
    expires_on: dt.date = dt.date(2028, 1, 1),
) -> Staff:
    staff = Staff(name=name, role=role, email=f"{name.lower().replace(' ', '.')}@x.example")
    for kind in certifications:
        staff.certifications.append(
            Certification(
                kind=kind, number=f"{kind}-1", valid_from=valid_from, expires_on=expires_on
            )
        )
    session.add(staff)
    return staff


def weekly_shifts(
    session: Session,
    staff: Staff,
    location: Location,
    *,
    starts: dt.time = dt.time(7, 30),
    ends: dt.time = dt.time(18, 0),
    weekdays: tuple[int, ...] = (0, 1, 2, 3, 4, 5),
    effective_from: dt.date = dt.date(2026, 1, 1),
) -> None:
    for weekday in weekdays:
        day_ends = ends if weekday < 5 else min(ends, dt.time(13, 30))
        session.add(
            ShiftTemplate(
                staff=staff,
                location=location,
                weekday=weekday,
                starts=starts,
                ends=day_ends,
                effective_from=effective_from,
            )
        )


def make_iv(session: Session, **overrides: Any) -> TreatmentType:
    fields: dict[str, Any] = dict(
        name="IV ketamine infusion",
        route="iv",
        prep_minutes=15,
        treatment_minutes=45,
        monitoring_minutes=45,
        turnover_minutes=15,
        chair_capability="iv",
        required_certifications=list(IV_CERTS),
        max_patients_per_monitor=2,
        needs_prescriber_on_site=False,
        needs_rems_enrollment=False,
    )
    fields.update(overrides)
    treatment = TreatmentType(**fields)
    session.add(treatment)
    return treatment


def make_nasal(session: Session, **overrides: Any) -> TreatmentType:
    fields: dict[str, Any] = dict(
        name="Esketamine nasal spray",
        route="nasal",
        prep_minutes=10,
        treatment_minutes=15,
        monitoring_minutes=120,
        turnover_minutes=10,
        chair_capability="nasal",
        required_certifications=list(NASAL_CERTS),
        max_patients_per_monitor=3,
        needs_prescriber_on_site=True,
        needs_rems_enrollment=True,
    )
    fields.update(overrides)
    treatment = TreatmentType(**fields)
    session.add(treatment)
    return treatment


def make_patient(session: Session, n: int, **overrides: Any) -> Patient:
    fields: dict[str, Any] = dict(
        mrn=f"T-{n:05d}",
        given_name=f"Given{n}",
        family_name=f"Family{n}",
        date_of_birth=dt.date(1980, 1, 1),
        email=f"patient{n}@example.com",
        phone=f"+1201555{n:04d}",
        escort_name="Escort Person",
        escort_phone="+12015559999",
        rems_enrolled_on=dt.date(2026, 1, 1),
    )
    fields.update(overrides)
    patient = Patient(**fields)
    session.add(patient)
    return patient


def build_clinic(
    session: Session,
    *,
    iv_chairs: int = 3,
    nasal_chairs: int = 2,
    nurses: int = 2,
    patients: int = 6,
    shift_until: dt.date = dt.date(2026, 4, 30),
    shift_from: dt.date = dt.date(2026, 2, 23),
    iv_overrides: dict[str, Any] | None = None,
) -> Clinic:
    location = make_location(session)
    iv = make_iv(session, **(iv_overrides or {}))
    nasal = make_nasal(session)
    iv_protocol = Protocol(
        name="IV ketamine induction",
        treatment_type=iv,
        phases=[{"sessions": 6, "sessions_per_week": 3}],
        min_hours_between=24,
        max_span_days=21,
    )
    nasal_protocol = Protocol(
        name="Esketamine induction and maintenance",
        treatment_type=nasal,
        phases=[{"sessions": 8, "sessions_per_week": 2}, {"sessions": 4, "sessions_per_week": 1}],
        min_hours_between=48,
        max_span_days=56,
    )
    session.add_all([iv_protocol, nasal_protocol])
    clinic = Clinic(
        location=location,
        iv=iv,
        nasal=nasal,
        iv_protocol=iv_protocol,
        nasal_protocol=nasal_protocol,
    )
    for n in range(1, iv_chairs + 1):
        clinic.iv_chairs.append(make_chair(session, location, f"IV {n}"))
    for n in range(1, nasal_chairs + 1):
        clinic.nasal_chairs.append(make_chair(session, location, f"Nasal {n}", ("nasal",)))
    names = ["Maria Kim", "Daniel Okafor", "Priya Natarajan", "Tom Becker", "Ana Silva"]
    for n in range(nurses):
        nurse = make_staff(session, names[n] if n < len(names) else f"Nurse {n}")
        weekly_shifts(session, nurse, location)
        clinic.nurses.append(nurse)
    clinic.prescriber = make_staff(
        session,
        "Dr. Helen Alvarez",
        role=StaffRole.PRESCRIBER,
        certifications=("MD", "ACLS"),
    )
    weekly_shifts(session, clinic.prescriber, location, starts=dt.time(8), ends=dt.time(17))
    for n in range(1, patients + 1):
        clinic.patients.append(make_patient(session, n))
    session.flush()
    materialize_shifts(session, start=shift_from, end=shift_until)
    session.commit()
    return clinic


def block_chair(
    session: Session, chair: Chair, starts_at: dt.datetime, ends_at: dt.datetime, reason: str
) -> None:
    session.add(ChairBlock(chair=chair, starts_at=starts_at, ends_at=ends_at, reason=reason))
    session.commit()


def close_day(session: Session, location: Location, day: dt.date, reason: str) -> None:
    session.add(Closure(location=location, date=day, reason=reason))
    session.commit()


def time_off(
    session: Session, staff: Staff, starts_at: dt.datetime, ends_at: dt.datetime, reason: str
) -> None:
    session.add(TimeOff(staff=staff, starts_at=starts_at, ends_at=ends_at, reason=reason))
    session.commit()


def add_shift(
    session: Session, staff: Staff, location: Location, starts_at: dt.datetime, ends_at: dt.datetime
) -> None:
    session.add(Shift(staff=staff, location=location, starts_at=starts_at, ends_at=ends_at))
    session.commit()
