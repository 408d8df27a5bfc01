"""A realistic demo clinic for trying the app: ``clinic seed-demo`` or ``clinic serve --demo``.

Everything is looked up by a natural key before it is added, so seeding twice adds nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .audit import SYSTEM
from .catalog import add_catalogue
from .models import (
    Appointment,
    Certification,
    Chair,
    Location,
    OpeningHours,
    Patient,
    Protocol,
    Role,
    ShiftTemplate,
    Staff,
    StaffRole,
    User,
)
from .scheduling import SchedulingError, book_series, plan_from_protocol
from .scheduling.shifts import materialize_shifts

DEMO_LOCATION = "Riverside Ketamine Clinic"
DEMO_USERS = [
    ("admin", "admin", "demo-admin-password"),
    ("reception", "receptionist", "demo-reception-password"),
    ("nurse", "nurse", "demo-nurse-password"),
]
STAFF = [
    # name, role, certifications
    ("Maria Kim", StaffRole.NURSE, ["RN", "ACLS", "KETAMINE_IV", "ESKETAMINE_REMS"]),
    ("Daniel Okafor", StaffRole.NURSE, ["RN", "ACLS", "KETAMINE_IV"]),
    ("Priya Natarajan", StaffRole.NURSE, ["RN", "ACLS", "KETAMINE_IV", "ESKETAMINE_REMS"]),
    ("Tom Becker", StaffRole.NURSE, ["RN", "ESKETAMINE_REMS"]),
    ("Dr. Helen Alvarez", StaffRole.PRESCRIBER, ["MD", "ACLS", "KETAMINE_IV", "ESKETAMINE_REMS"]),
    ("Dr. Samuel Reyes", StaffRole.PRESCRIBER, ["MD", "ACLS"]),
]
GIVEN_NAMES = [
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Elijah", "Sophia", "James", "Isabella", "Lucas",
    "Mia", "Mason", "Amelia", "Ethan", "Harper", "Logan", "Evelyn", "Aiden", "Abigail", "Jackson",
    "Ella", "Sebastian", "Scarlett", "Mateo", "Grace", "Henry", "Chloe", "Owen", "Nora", "Wyatt",
]  # fmt: skip
FAMILY_NAMES = [
    "Garcia", "Smith", "Johnson", "Nguyen", "Brown", "Patel", "Miller", "Davis", "Lopez", "Wilson",
    "Anderson", "Thomas", "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White",
    "Harris",
    "Clark", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Hill",
]  # fmt: skip


@dataclass
class SeedReport:
    added: dict[str, int] = field(default_factory=dict)

    def count(self, what: str, n: int = 1) -> None:
        self.added[what] = self.added.get(what, 0) + n

    def summary(self) -> str:
        if not any(self.added.values()):
            return "Demo clinic already present; nothing added."
        parts = ", ".join(f"{n} {what}" for what, n in self.added.items() if n)
        return f"Demo clinic loaded: {parts}."


def database_is_empty(session: Session) -> bool:
    """No location and no user yet. Ends the transaction it read in: on SQLite every
    transaction takes the write lock, and this check is often the first thing a long-lived
    command does."""
    try:
        return (
            session.scalar(sa.select(Location.id).limit(1)) is None
            and session.scalar(sa.select(User.id).limit(1)) is None
        )
    finally:
        session.rollback()


def seed_demo(session: Session, *, now: dt.datetime | None = None) -> SeedReport:
    """Add whatever of the demo clinic is missing, around ``now`` (the app clock; callers
    that pass none get the real time). Commits."""
    now = now or dt.datetime.now(dt.UTC)
    report = SeedReport()
    location = _location(session, report)
    tz = ZoneInfo(location.timezone)
    today = now.astimezone(tz).date()
    _chairs(session, location, report)
    staff = _staff(session, today, report)
    _shift_templates(session, location, staff, today, report)
    session.flush()
    report.count("shifts", materialize_shifts(session, start=today, end=today + dt.timedelta(60)))
    catalogue = add_catalogue(session)
    for what, n in catalogue.added.items():
        report.count(what, n)
    patients = _patients(session, today, report)
    _users(session, staff, report)
    session.flush()
    session.commit()
    _appointments(
        session,
        location,
        catalogue.iv_protocol,
        catalogue.nasal_protocol,
        patients,
        today,
        now,
        report,
    )
    session.commit()
    return report


def _get(session: Session, model: type, **natural_key: object) -> object | None:
    return session.scalar(sa.select(model).filter_by(**natural_key))


def _location(session: Session, report: SeedReport) -> Location:
    location = session.scalar(sa.select(Location).filter_by(name=DEMO_LOCATION))
    if location is not None:
        return location
    location = Location(
        name=DEMO_LOCATION,
        address="120 River Street, Suite 4, Hoboken, NJ 07030",
        phone="+12015550100",
        email="appointments@riverside-clinic.example",
        timezone="America/New_York",
    )
    for weekday in range(5):
        location.opening_hours.append(
            OpeningHours(weekday=weekday, opens=dt.time(8, 0), closes=dt.time(18, 0))
        )
    location.opening_hours.append(OpeningHours(weekday=5, opens=dt.time(9), closes=dt.time(13)))
    session.add(location)
    report.count("location")
    return location


def _chairs(session: Session, location: Location, report: SeedReport) -> list[Chair]:
    chairs = []
    specs = [(f"IV {n}", ["iv"]) for n in range(1, 7)] + [
        (f"Nasal {n}", ["nasal"]) for n in range(1, 3)
    ]
    for label, capabilities in specs:
        chair = session.scalar(sa.select(Chair).filter_by(location=location, label=label))
        if chair is None:
            chair = Chair(location=location, label=label, capabilities=capabilities)
            session.add(chair)
            report.count("chairs")
        chairs.append(chair)
    return chairs


def _staff(session: Session, today: dt.date, report: SeedReport) -> list[Staff]:
    members = []
    for index, (name, role, kinds) in enumerate(STAFF):
        email = name.lower().replace("dr. ", "").replace(" ", ".") + "@riverside-clinic.example"
        member = session.scalar(sa.select(Staff).filter_by(email=email))
        if member is None:
            member = Staff(name=name, email=email, role=role)
            for kind in kinds:
                expires = today + dt.timedelta(days=400 + 30 * index)
                # Daniel's ACLS runs out within the month: the board flags it.
                if name == "Daniel Okafor" and kind == "ACLS":
                    expires = today + dt.timedelta(days=20)
                member.certifications.append(
                    Certification(
                        kind=kind,
                        number=f"{kind}-{1000 + index}",
                        valid_from=today - dt.timedelta(days=365),
                        expires_on=expires,
                    )
                )
            session.add(member)
            report.count("staff")
        members.append(member)
    return members


def _shift_templates(
    session: Session, location: Location, staff: list[Staff], today: dt.date, report: SeedReport
) -> None:
    for member in staff:
        if member.shift_templates:
            continue
        early = member.name in ("Maria Kim", "Priya Natarajan", "Dr. Helen Alvarez")
        for weekday in range(5):
            starts, ends = (
                (dt.time(7, 30), dt.time(16, 0)) if early else (dt.time(9, 30), dt.time(18, 0))
            )
            member.shift_templates.append(
                ShiftTemplate(
                    location=location,
                    weekday=weekday,
                    starts=starts,
                    ends=ends,
                    effective_from=today - dt.timedelta(days=today.weekday()),
                )
            )
        if early:
            member.shift_templates.append(
                ShiftTemplate(
                    location=location,
                    weekday=5,
                    starts=dt.time(8, 45),
                    ends=dt.time(13, 15),
                    effective_from=today - dt.timedelta(days=today.weekday()),
                )
            )
        report.count("weekly shift templates", len(member.shift_templates))


def _patients(session: Session, today: dt.date, report: SeedReport) -> list[Patient]:
    patients = []
    for n, (given, family) in enumerate(zip(GIVEN_NAMES, FAMILY_NAMES, strict=True), start=1):
        mrn = f"DEMO-{n:04d}"
        patient = session.scalar(sa.select(Patient).filter_by(mrn=mrn))
        if patient is None:
            patient = Patient(
                mrn=mrn,
                given_name=given,
                family_name=family,
                date_of_birth=dt.date(1950 + (n * 7) % 50, 1 + n % 12, 1 + (n * 3) % 28),
                email=f"{given.lower()}.{family.lower()}@example.com",
                phone=f"+1201555{n:04d}",
                sms_opt_in=n % 3 != 0,
                sms_consent_at=dt.datetime(2026, 1, 5, 15, tzinfo=dt.UTC) if n % 3 else None,
                escort_name=f"{GIVEN_NAMES[(n + 7) % 30]} {family}",
                escort_phone=f"+1201556{n:04d}",
                rems_enrolled_on=today - dt.timedelta(days=30) if n % 4 == 0 else None,
            )
            session.add(patient)
            report.count("patients")
        patients.append(patient)
    return patients


def _users(session: Session, staff: list[Staff], report: SeedReport) -> None:
    for username, role, password in DEMO_USERS:
        if _get(session, User, username=username) is None:
            user = User(username=username, role=Role(role))
            if role == "nurse":
                user.staff = staff[0]
            user.set_password(password)
            session.add(user)
            report.count("users")


def _appointments(
    session: Session,
    location: Location,
    iv_protocol: Protocol,
    nasal_protocol: Protocol,
    patients: list[Patient],
    today: dt.date,
    now: dt.datetime,
    report: SeedReport,
) -> None:
    """Book demo series through the real scheduler, so every session obeys the rules and
    has its invitations and reminders in the outbox, as a receptionist's booking would."""
    already = session.scalar(
        sa.select(sa.func.count(Appointment.id)).where(Appointment.location_id == location.id)
    )
    if already:
        return
    rems_enrolled = [patient for patient in patients if patient.rems_enrolled_on is not None]
    bookings = [(patient, iv_protocol) for patient in patients[:12]] + [
        (patient, nasal_protocol) for patient in rems_enrolled[:3]
    ]
    for index, (patient, protocol) in enumerate(bookings):
        plan = plan_from_protocol(
            session,
            protocol_id=protocol.id,
            location_id=location.id,
            first_date=today + dt.timedelta(days=index % 3),
            # Spread the patients' preferred hours across the day.
            preferred_start=dt.time(8 + (index * 2) % 9),
            preferred_end=dt.time(min(17, 10 + (index * 2) % 9)),
        )
        try:
            series = book_series(session, patient_id=patient.id, plan=plan, actor=SYSTEM, now=now)
        except SchedulingError:
            # A full demo day: this patient simply gets no demo series.
            session.rollback()
            continue
        report.count("series")
        report.count("sessions", len(series.appointments))
