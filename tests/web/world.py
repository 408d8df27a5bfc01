"""A small clinic for the web UI tests, built around a given day.

Views read the real clock, so tests that go through HTTP build the world around the real
today; service tests pass a fixed ``now``. Opening hours cover every day from 07:00 to 20:00
so a test never depends on the weekday it happens to run on.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from clinic.models import (
    Appointment,
    AppointmentStatus,
    Certification,
    Chair,
    Location,
    OpeningHours,
    Patient,
    Protocol,
    Series,
    ShiftTemplate,
    Staff,
    StaffRole,
    TreatmentType,
)
from clinic.scheduling.shifts import local_instant, materialize_shifts

TZ_NAME = "America/New_York"
TZ = ZoneInfo(TZ_NAME)


@dataclass
class World:
    location: Location
    iv: TreatmentType
    nasal: TreatmentType
    iv_protocol: Protocol
    chairs: list[Chair] = field(default_factory=list)
    nasal_chair: Chair | None = None
    nurses: list[Staff] = field(default_factory=list)
    prescriber: Staff | None = None
    patients: list[Patient] = field(default_factory=list)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.location.timezone)

    def at(self, day: dt.date, hhmm: str) -> dt.datetime:
        hour, minute = (int(part) for part in hhmm.split(":"))
        return local_instant(day, dt.time(hour, minute), self.tz)


def local_today(timezone: str = TZ_NAME) -> dt.date:
    return dt.datetime.now(dt.UTC).astimezone(ZoneInfo(timezone)).date()


def build_world(
    session: Session,
    *,
    today: dt.date,
    timezone: str = TZ_NAME,
    chairs: int = 4,
    nurses: int = 2,
    patients: int = 4,
    opens: dt.time = dt.time(7),
    closes: dt.time = dt.time(20),
) -> World:
    location = Location(
        name="Harbour Clinic", timezone=timezone, email="desk@harbour.example", address="1 Quay"
    )
    for weekday in range(7):
        location.opening_hours.append(OpeningHours(weekday=weekday, opens=opens, closes=closes))
    session.add(location)
    iv = TreatmentType(
        name="IV ketamine infusion",
        route="iv",
        prep_minutes=15,
        treatment_minutes=45,
        monitoring_minutes=45,
        turnover_minutes=15,
        chair_capability="iv",
        required_certifications=["RN", "ACLS", "KETAMINE_IV"],
        max_patients_per_monitor=2,
        patient_notice="Eat nothing for 4 hours before.",
    )
    nasal = TreatmentType(
        name="Esketamine nasal spray",
        route="nasal",
        prep_minutes=10,
        treatment_minutes=15,
        monitoring_minutes=120,
        turnover_minutes=10,
        chair_capability="nasal",
        required_certifications=["RN", "ESKETAMINE_REMS"],
        max_patients_per_monitor=3,
        needs_prescriber_on_site=True,
        needs_rems_enrollment=True,
    )
    protocol = Protocol(
        name="IV ketamine induction",
        treatment_type=iv,
        phases=[{"sessions": 6, "sessions_per_week": 3}],
        min_hours_between=24,
        max_span_days=21,
        description="Six infusions within three weeks.",
    )
    session.add_all([iv, nasal, protocol])
    world = World(location=location, iv=iv, nasal=nasal, iv_protocol=protocol)
    for n in range(1, chairs + 1):
        chair = Chair(location=location, label=f"IV {n}", capabilities=["iv"])
        session.add(chair)
        world.chairs.append(chair)
    world.nasal_chair = Chair(location=location, label="Nasal 1", capabilities=["nasal"])
    session.add(world.nasal_chair)
    kinds = ["RN", "ACLS", "KETAMINE_IV", "ESKETAMINE_REMS"]
    for n in range(1, nurses + 1):
        world.nurses.append(_staff(session, f"Nurse Number{n}", StaffRole.NURSE, kinds, today))
    world.prescriber = _staff(session, "Dr. Presley", StaffRole.PRESCRIBER, ["MD"], today)
    for member in [*world.nurses, world.prescriber]:
        for weekday in range(7):
            session.add(
                ShiftTemplate(
                    staff=member,
                    location=location,
                    weekday=weekday,
                    starts=opens,
                    ends=closes,
                    effective_from=today - dt.timedelta(days=7),
                )
            )
    for n in range(1, patients + 1):
        world.patients.append(make_patient(session, n))
    session.flush()
    materialize_shifts(session, start=today - dt.timedelta(days=2), end=today + dt.timedelta(40))
    session.commit()
    return world


def _staff(session: Session, name: str, role: StaffRole, kinds: list[str], today: dt.date) -> Staff:
    member = Staff(name=name, role=role, email=name.lower().replace(" ", ".") + "@x.example")
    for kind in kinds:
        member.certifications.append(
            Certification(
                kind=kind,
                number=f"{kind}-7",
                valid_from=today - dt.timedelta(days=300),
                expires_on=today + dt.timedelta(days=400),
            )
        )
    session.add(member)
    return member


def make_patient(session: Session, n: int, **overrides: Any) -> Patient:
    values: dict[str, Any] = dict(
        mrn=f"W-{n:04d}",
        given_name=f"Pat{n}",
        family_name=f"Tester{n}",
        date_of_birth=dt.date(1980, 1, n % 28 + 1),
        email=f"pat{n}@example.com",
        phone=f"+1201555{n:04d}",
        escort_name=f"Escort {n}",
        escort_phone=f"+1201556{n:04d}",
    )
    values.update(overrides)
    patient = Patient(**values)
    session.add(patient)
    return patient


def add_session(
    session: Session,
    world: World,
    *,
    patient: Patient,
    starts_at: dt.datetime,
    chair: Chair | None = None,
    monitor: Staff | None = None,
    status: AppointmentStatus = AppointmentStatus.BOOKED,
    series: Series | None = None,
    treatment: TreatmentType | None = None,
    commit: bool = True,
) -> Appointment:
    """Insert a session directly (no booking rules): for board and status tests."""
    treatment = treatment or world.iv
    treatment_ends_at, ends_at, busy_until = treatment.windows(starts_at)
    appointment = Appointment(
        series=series,
        patient=patient,
        treatment_type=treatment,
        location=world.location,
        chair=chair or world.chairs[0],
        monitor=monitor or world.nurses[0],
        starts_at=starts_at,
        treatment_ends_at=treatment_ends_at,
        ends_at=ends_at,
        busy_until=busy_until,
        status=status,
        escort_name=patient.escort_name,
        escort_phone=patient.escort_phone,
    )
    session.add(appointment)
    if commit:
        session.commit()
    return appointment


def fill_day(session: Session, world: World, day: dt.date, count: int) -> list[Appointment]:
    """``count`` sessions spread over the chairs, two-hour steps from 07:00, in series of three."""
    patients = list(world.patients)
    next_number = count_rows(session, Patient) + 1000
    while len(patients) < count:
        patients.append(make_patient(session, next_number))
        next_number += 1
    session.flush()
    appointments = []
    series: Series | None = None
    per_chair = 6  # 07:00 to 17:00 in two-hour steps fit before 20:00
    assert count <= per_chair * len(world.chairs), "not enough chairs for that many sessions"
    for index in range(count):
        chair = world.chairs[index // per_chair]
        slot = index % per_chair
        if index % 3 == 0:
            series = Series(patient=patients[index], treatment_type=world.iv)
            session.add(series)
        appointments.append(
            add_session(
                session,
                world,
                patient=patients[index],
                starts_at=world.at(day, f"{7 + 2 * slot:02d}:00"),
                chair=chair,
                monitor=world.nurses[index % len(world.nurses)],
                series=series,
                commit=False,
            )
        )
    session.commit()
    return appointments


def count_rows(session: Session, model: type) -> int:
    return int(session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)
