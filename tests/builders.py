"""The one place tests build a clinic: small factories with keyword defaults, and worlds.

Everything is built around one fixed instant, ``NOW`` (Monday 2 March 2026, 07:00 in New
York: the morning before the clinic opens), so a test reads the same on any day it runs.

- Factories: ``make_location``, ``make_chair``, ``make_staff``, ``weekly_shifts``,
  ``make_treatment`` / ``make_protocol`` (the shipped catalogue, with overrides),
  ``make_patient``, ``add_session`` (a session inserted directly, no booking rules), and the
  small ``block_chair``, ``close_day``, ``time_off``, ``add_shift``.
- Worlds, both returning a ``World``:
  ``build_clinic`` is the scheduling clinic: realistic hours (Mon–Fri 08:00–18:00,
  Sat 09:00–13:00), IV and nasal chairs, certified nurses and a prescriber on weekly shifts,
  REMS-enrolled patients. The rule tests read its hours and names.
  ``build_world`` is the standard clinic world for web, API and security tests: open every
  day 07:00–20:00, so a test never depends on the weekday, around a given ``today``.
- Users and what requests leave behind: ``make_user`` (password ``TEST_PASSWORD``),
  ``add_user``, ``flask_session``, ``login_sessions``, ``audit_actions``.
- ``MinimalClinic``: one location, chair, nurse and treatment type, enough to hang
  appointments on (the notification tests).
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from clinic.audit import Actor
from clinic.catalog import (
    ESKETAMINE_INDUCTION,
    ESKETAMINE_NASAL,
    IV_CERTIFICATIONS,
    IV_INDUCTION,
    IV_KETAMINE,
    NASAL_CERTIFICATIONS,
    ProtocolSpec,
    TreatmentSpec,
)
from clinic.extensions import db
from clinic.models import (
    Appointment,
    AppointmentStatus,
    AuditEvent,
    Certification,
    Chair,
    ChairBlock,
    Closure,
    Location,
    LoginSession,
    OpeningHours,
    Patient,
    Protocol,
    Role,
    Series,
    Shift,
    ShiftTemplate,
    Staff,
    StaffRole,
    TimeOff,
    TreatmentType,
    User,
)
from clinic.scheduling.shifts import local_instant, materialize_shifts

TZ_NAME = "America/New_York"
NY = ZoneInfo(TZ_NAME)
# Monday 2 March 2026, 07:00 in New York: an hour before the clinic opens.
NOW = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)
TODAY = NOW.astimezone(NY).date()
ACTOR = Actor(user_id=None, username="test-receptionist")
IV_CERTS = IV_CERTIFICATIONS
NASAL_CERTS = NASAL_CERTIFICATIONS
ALL_NURSE_CERTS = (*IV_CERTS, "ESKETAMINE_REMS")
TEST_PASSWORD = "correct-horse-battery-staple-9"
SMS_CONSENT_AT = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
NURSE_NAMES = ("Maria Kim", "Daniel Okafor", "Priya Natarajan", "Tom Becker", "Ana Silva")
# Opening hours as weekday -> (opens, closes).
Hours = dict[int, tuple[dt.time, dt.time]]
CLINIC_HOURS: Hours = {
    **{weekday: (dt.time(8), dt.time(18)) for weekday in range(5)},
    5: (dt.time(9), dt.time(13)),
}

# Unique suffixes for rows a test makes without naming them.
_serial = itertools.count(1)


def at(day: dt.date | str, hhmm: str, tz: ZoneInfo = NY) -> dt.datetime:
    """The UTC instant of a local wall-clock time, e.g. ``at("2026-03-03", "09:00")``."""
    if isinstance(day, str):
        day = dt.date.fromisoformat(day)
    hour, minute = (int(part) for part in hhmm.split(":"))
    return local_instant(day, dt.time(hour, minute), tz)


def every_day(opens: dt.time, closes: dt.time) -> Hours:
    return {weekday: (opens, closes) for weekday in range(7)}


def count_rows(session: Session, model: type) -> int:
    return int(session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


# --- factories ----------------------------------------------------------------------------


def make_location(
    session: Session,
    *,
    name: str = "Riverside",
    timezone: str = TZ_NAME,
    hours: Hours | None = None,
    address: str = "120 River Street, Hoboken, NJ 07030",
    email: str = "appointments@riverside.example",
    phone: str | None = "+12015550100",
) -> Location:
    """A location; ``hours`` defaults to none at all (pass ``CLINIC_HOURS`` or ``every_day``)."""
    location = Location(name=name, timezone=timezone, address=address, email=email, phone=phone)
    for weekday, (opens, closes) in sorted((hours or {}).items()):
        location.opening_hours.append(OpeningHours(weekday=weekday, opens=opens, closes=closes))
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
    certifications: tuple[str, ...] = ALL_NURSE_CERTS,
    valid_from: dt.date = dt.date(2025, 1, 1),
    expires_on: dt.date = dt.date(2028, 1, 1),
    number_suffix: str = "1",
    email: str | None = None,
) -> Staff:
    """A staff member whose certifications all run from ``valid_from`` to ``expires_on``."""
    if email is None:
        email = name.lower().replace(" ", ".") + "@x.example"
    staff = Staff(name=name, role=role, email=email)
    for kind in certifications:
        staff.certifications.append(
            Certification(
                kind=kind,
                number=f"{kind}-{number_suffix}",
                valid_from=valid_from,
                expires_on=expires_on,
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
    saturday_ends: dt.time | None = dt.time(13, 30),
) -> None:
    """Weekly shift templates; on Saturday the shift ends by ``saturday_ends`` (None: as
    on other days)."""
    for weekday in weekdays:
        day_ends = ends
        if weekday == 5 and saturday_ends is not None:
            day_ends = min(ends, saturday_ends)
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


def make_treatment(
    session: Session, spec: TreatmentSpec = IV_KETAMINE, **overrides: Any
) -> TreatmentType:
    """A shipped treatment type (``IV_KETAMINE`` or ``ESKETAMINE_NASAL``), with overrides."""
    treatment = spec.to_model(**overrides)
    session.add(treatment)
    return treatment


def make_protocol(
    session: Session, treatment: TreatmentType, spec: ProtocolSpec = IV_INDUCTION, **overrides: Any
) -> Protocol:
    protocol = spec.to_model(treatment, **overrides)
    session.add(protocol)
    return protocol


def make_patient(session: Session, n: int | None = None, **overrides: Any) -> Patient:
    """Patient number ``n`` (a fresh number if not given): "Pat1 Tester1", MRN W-0001, an
    escort on file, email only (pass ``sms_opt_in=True, sms_consent_at=...`` for texts)."""
    if n is None:
        n = 5000 + next(_serial)
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


def make_contactable_patient(session: Session, **overrides: Any) -> Patient:
    """A patient reachable by email and text (SMS consent on file), "Olivia Garcia<n>", with
    no escort on file (the appointment carries one)."""
    n = next(_serial)
    values: dict[str, Any] = dict(
        mrn=f"MRN-{n:05d}",
        given_name="Olivia",
        family_name=f"Garcia{n}",
        date_of_birth=dt.date(1980, 1, 2),
        email=f"olivia{n}@example.com",
        phone="+12015550123",
        sms_opt_in=True,
        sms_consent_at=SMS_CONSENT_AT,
        escort_name=None,
        escort_phone=None,
    )
    return make_patient(session, n, **{**values, **overrides})


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


# --- worlds -------------------------------------------------------------------------------


@dataclass
class World:
    """A built clinic. ``chairs`` are the IV chairs."""

    location: Location
    iv: TreatmentType
    nasal: TreatmentType
    iv_protocol: Protocol
    nasal_protocol: Protocol | None = None
    chairs: list[Chair] = field(default_factory=list)
    nasal_chairs: list[Chair] = field(default_factory=list)
    nurses: list[Staff] = field(default_factory=list)
    prescriber: Staff | None = None
    patients: list[Patient] = field(default_factory=list)

    @property
    def iv_chairs(self) -> list[Chair]:
        return self.chairs

    @property
    def nasal_chair(self) -> Chair | None:
        return self.nasal_chairs[0] if self.nasal_chairs else None

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.location.timezone)

    def at(self, day: dt.date | str, hhmm: str) -> dt.datetime:
        return at(day, hhmm, self.tz)


def _world_with_catalogue(
    session: Session,
    location: Location,
    *,
    iv_overrides: dict[str, Any] | None = None,
    nasal_protocol: bool = True,
) -> World:
    """A world at ``location`` with the shipped treatments and protocols (IV overridable)."""
    iv = make_treatment(session, IV_KETAMINE, **(iv_overrides or {}))
    nasal = make_treatment(session, ESKETAMINE_NASAL)
    return World(
        location=location,
        iv=iv,
        nasal=nasal,
        iv_protocol=make_protocol(session, iv, IV_INDUCTION),
        nasal_protocol=(
            make_protocol(session, nasal, ESKETAMINE_INDUCTION) if nasal_protocol else None
        ),
    )


def build_clinic(
    session: Session,
    *,
    iv_chairs: int = 3,
    nasal_chairs: int = 2,
    nurses: int = 2,
    patients: int = 6,
    shift_from: dt.date = dt.date(2026, 2, 23),
    shift_until: dt.date = dt.date(2026, 4, 30),
    iv_overrides: dict[str, Any] | None = None,
    patient_fields: dict[str, Any] | None = None,
) -> World:
    """The scheduling clinic "Riverside" around ``NOW``; commits.

    Nurses hold every certification until 2028 and work 07:30–18:00 (Saturday to 13:30);
    the prescriber "Dr. Helen Alvarez" works 08:00–17:00. Patients are REMS-enrolled.
    """
    location = make_location(session, hours=CLINIC_HOURS)
    world = _world_with_catalogue(session, location, iv_overrides=iv_overrides)
    for n in range(1, iv_chairs + 1):
        world.chairs.append(make_chair(session, location, f"IV {n}"))
    for n in range(1, nasal_chairs + 1):
        world.nasal_chairs.append(make_chair(session, location, f"Nasal {n}", ("nasal",)))
    for n in range(nurses):
        nurse = make_staff(session, NURSE_NAMES[n] if n < len(NURSE_NAMES) else f"Nurse {n}")
        weekly_shifts(session, nurse, location)
        world.nurses.append(nurse)
    world.prescriber = make_staff(
        session, "Dr. Helen Alvarez", role=StaffRole.PRESCRIBER, certifications=("MD", "ACLS")
    )
    weekly_shifts(session, world.prescriber, location, starts=dt.time(8), ends=dt.time(17))
    fields = {"rems_enrolled_on": dt.date(2026, 1, 1), **(patient_fields or {})}
    for n in range(1, patients + 1):
        world.patients.append(make_patient(session, n, **fields))
    session.flush()
    materialize_shifts(session, start=shift_from, end=shift_until)
    session.commit()
    return world


def build_world(
    session: Session,
    *,
    today: dt.date = TODAY,
    timezone: str = TZ_NAME,
    chairs: int = 4,
    nurses: int = 2,
    patients: int = 4,
    opens: dt.time = dt.time(7),
    closes: dt.time = dt.time(20),
) -> World:
    """The standard clinic world "Harbour Clinic", open every day ``opens``–``closes``, with
    staff on shift all those hours from two days before ``today`` to 40 days after, both
    shipped treatments but only the IV protocol, and patients not REMS-enrolled; commits.

    ``today`` is the local date of ``NOW``; tests that go through the views or the API run
    with the app clock fixed at ``NOW`` (the ``clock`` fixture), so the two agree.
    """
    location = make_location(
        session,
        name="Harbour Clinic",
        timezone=timezone,
        hours=every_day(opens, closes),
        address="1 Quay",
        email="desk@harbour.example",
        phone=None,
    )
    # One protocol: the admin pages count and list them.
    world = _world_with_catalogue(session, location, nasal_protocol=False)
    for n in range(1, chairs + 1):
        world.chairs.append(make_chair(session, location, f"IV {n}"))
    world.nasal_chairs.append(make_chair(session, location, "Nasal 1", ("nasal",)))
    valid_from, expires_on = today - dt.timedelta(days=300), today + dt.timedelta(days=400)
    for n in range(1, nurses + 1):
        nurse = make_staff(
            session,
            f"Nurse Number{n}",
            valid_from=valid_from,
            expires_on=expires_on,
            number_suffix="7",
        )
        world.nurses.append(nurse)
    world.prescriber = make_staff(
        session,
        "Dr. Presley",
        role=StaffRole.PRESCRIBER,
        certifications=("MD",),
        valid_from=valid_from,
        expires_on=expires_on,
        number_suffix="7",
    )
    for member in [*world.nurses, world.prescriber]:
        weekly_shifts(
            session,
            member,
            location,
            starts=opens,
            ends=closes,
            weekdays=tuple(range(7)),
            effective_from=today - dt.timedelta(days=7),
            saturday_ends=None,
        )
    for n in range(1, patients + 1):
        world.patients.append(make_patient(session, n))
    session.flush()
    materialize_shifts(session, start=today - dt.timedelta(days=2), end=today + dt.timedelta(40))
    session.commit()
    return world


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


class MinimalClinic:
    """One location, chair, nurse and treatment type: enough to hang appointments on.

    The treatment is the shipped IV infusion; several of these in one database share it.
    """

    def __init__(self, session: Session, **location_fields: Any) -> None:
        self.session = session
        location_fields.setdefault("name", f"Riverside {next(_serial)}")
        self.location = make_location(session, **location_fields)
        self.chair = make_chair(session, self.location, "IV 1")
        self.nurse = Staff(name="Maria Kim", role=StaffRole.NURSE, email=None)
        self.treatment_type = session.scalar(
            sa.select(TreatmentType).filter_by(name=IV_KETAMINE.name)
        ) or make_treatment(session, IV_KETAMINE)
        session.add(self.nurse)
        session.flush()

    def new_chair(self) -> Chair:
        """A chair of its own per session, so sessions never collide on a chair."""
        return make_chair(self.session, self.location, f"IV {next(_serial) + 1}")

    def patient(self, **overrides: Any) -> Patient:
        return make_contactable_patient(self.session, **overrides)

    def appointment(self, patient: Patient, starts_at: dt.datetime, **fields: Any) -> Appointment:
        treatment_ends_at, ends_at, busy_until = self.treatment_type.windows(starts_at)
        appointment = Appointment(
            patient=patient,
            treatment_type=self.treatment_type,
            location=self.location,
            chair=fields.pop("chair", None) or self.new_chair(),
            monitor=self.nurse,
            starts_at=starts_at,
            treatment_ends_at=treatment_ends_at,
            ends_at=ends_at,
            busy_until=busy_until,
            escort_name=fields.pop("escort_name", "Sam Garcia"),
            escort_phone=fields.pop("escort_phone", "+12015550124"),
            **fields,
        )
        self.session.add(appointment)
        self.session.flush()
        return appointment

    def move(self, appointment: Appointment, new_starts_at: dt.datetime) -> None:
        """Reschedule by hand, as the scheduling service does: new windows, SEQUENCE + 1."""
        treatment_ends_at, ends_at, busy_until = self.treatment_type.windows(new_starts_at)
        appointment.starts_at = new_starts_at
        appointment.treatment_ends_at = treatment_ends_at
        appointment.ends_at = ends_at
        appointment.busy_until = busy_until
        appointment.calendar_sequence += 1


def due_emails(session: Session, count: int, *, now: dt.datetime) -> list[int]:
    """``count`` email invitations, all due at ``now``: one per session, one chair, sessions
    three hours apart so none overlap. Returns the notification ids."""
    from clinic.notify.outbox import ReminderSettings, enqueue_booking

    clinic = MinimalClinic(session)
    patients = [make_contactable_patient(session, sms_opt_in=False) for _ in range(10)]
    appointments = [
        clinic.appointment(
            patients[n % len(patients)],
            now + dt.timedelta(days=1, hours=3 * n),
            chair=clinic.chair,
        )
        for n in range(count)
    ]
    added = enqueue_booking(
        session, appointments, now=now, settings=ReminderSettings(email_hours=(), sms_hours=())
    )
    session.commit()
    return [notification.id for notification in added]


# --- users and what requests left behind ----------------------------------------------------


def make_user(session: Session, username: str, role: Role | str, **fields: Any) -> User:
    """A user with ``TEST_PASSWORD``; commits."""
    user = User(username=username, role=Role(role), **fields)
    user.set_password(TEST_PASSWORD)
    session.add(user)
    session.commit()
    return user


def add_user(app: Flask, username: str, role: str, **fields: Any) -> int:
    """Create a user in a context of its own and return the id.

    (The ``session`` fixture keeps an app context pushed, which requests then share: its
    open transaction would hold SQLite's write lock across them.)
    """
    with app.app_context():
        return make_user(db.session, username, role, **fields).id  # type: ignore[arg-type]


def flask_session(app: Flask, client: FlaskClient) -> dict[str, Any]:
    """The decoded (signed, not encrypted) Flask session cookie the client holds."""
    cookie = client.get_cookie("session")
    if cookie is None:
        return {}
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    return dict(serializer.loads(cookie.value))


def login_sessions(app: Flask) -> list[LoginSession]:
    with app.app_context():
        rows = db.session.scalars(sa.select(LoginSession).order_by(LoginSession.created_at))
        result = list(rows)
        db.session.expunge_all()
        return result


def audit_actions(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))
