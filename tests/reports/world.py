"""Hand-built worlds whose report figures are known, on the standard ``build_world`` clinic
("Harbour Clinic", New York, open 07:00–20:00 every day, 4 IV chairs and 1 nasal chair, so
5 chairs × 13 h = 65 open chair hours a day). IV sessions hold the chair 120 minutes (15 prep,
45 treatment, 45 monitoring, 15 turnover) and the patient 105.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from clinic.models import (
    Appointment,
    AppointmentStatus,
    Channel,
    Notification,
    NotificationKind,
    NotificationStatus,
    Series,
    SeriesStatus,
)
from tests.builders import World, add_session, block_chair, build_world, close_day

# Monday 23 February 2026, a week before NOW; the Tuesday after it is a closure day.
DAY = dt.date(2026, 2, 23)
NEXT_DAY = DAY + dt.timedelta(days=1)


def _session(
    session: Session,
    world: World,
    hhmm: str,
    *,
    chair: int,
    nurse: int = 0,
    status: AppointmentStatus = AppointmentStatus.DISCHARGED,
    day: dt.date = DAY,
    checked_in: bool | None = None,
    series: Series | None = None,
    patient: int | None = None,
) -> Appointment:
    starts_at = world.at(day, hhmm)
    appointment = add_session(
        session,
        world,
        patient=world.patients[patient if patient is not None else chair % len(world.patients)],
        starts_at=starts_at,
        chair=world.chairs[chair],
        monitor=world.nurses[nurse],
        status=status,
        series=series,
        commit=False,
    )
    if checked_in if checked_in is not None else status is AppointmentStatus.DISCHARGED:
        appointment.checked_in_at = starts_at - dt.timedelta(minutes=10)
    return appointment


def day_world(session: Session) -> World:
    """On ``DAY``:

    - 09:00 IV 1, nurse 1, discharged (checked in);
    - 09:10 IV 4, nurse 1, discharged (checked in);
    - 09:00 IV 2, nurse 2, no-show;
    - 10:00 IV 3, nurse 2, cancelled at 08:00 that day (late);
    - 13:00 IV 3, nurse 2, cancelled three days before (not late);
    - 13:00 IV 1, nurse 1, booked and checked in, then cancelled at 12:55 (late, not used);
    - IV 1 blocked 18:00–22:00 (two of its open hours).

    ``NEXT_DAY`` is a closure day; on it nurse 1 has a 09:00 session anyway (discharged).
    """
    world = build_world(session, today=DAY, patients=6)
    _session(session, world, "09:00", chair=0, nurse=0, patient=0)
    _session(session, world, "09:10", chair=3, nurse=0, patient=1)
    _session(session, world, "09:00", chair=1, nurse=1, status=AppointmentStatus.NO_SHOW, patient=2)
    late = _session(
        session, world, "10:00", chair=2, nurse=1, status=AppointmentStatus.CANCELLED, patient=3
    )
    late.cancelled_at = world.at(DAY, "08:00")
    early = _session(
        session, world, "13:00", chair=2, nurse=1, status=AppointmentStatus.CANCELLED, patient=4
    )
    early.cancelled_at = world.at(DAY - dt.timedelta(days=3), "13:00")
    last_minute = _session(
        session,
        world,
        "13:00",
        chair=0,
        nurse=0,
        status=AppointmentStatus.CANCELLED,
        checked_in=True,
        patient=5,
    )
    last_minute.cancelled_at = world.at(DAY, "12:55")
    _session(session, world, "09:00", chair=0, nurse=0, day=NEXT_DAY, patient=0)
    session.commit()
    block_chair(session, world.chairs[0], world.at(DAY, "18:00"), world.at(DAY, "22:00"), "repair")
    close_day(session, world.location, NEXT_DAY, "training")
    return world


def with_a_series(session: Session, world: World) -> World:
    """Make patient 1's two sessions of ``day_world`` (``DAY`` and ``NEXT_DAY``, both given)
    a completed IV induction series; the other reports' figures do not change."""
    patient = world.patients[0]
    row = Series(
        patient=patient,
        treatment_type=world.iv,
        protocol=world.iv_protocol,
        status=SeriesStatus.COMPLETED,
    )
    session.add(row)
    for appointment in session.scalars(
        sa.select(Appointment).where(
            Appointment.patient_id == patient.id,
            Appointment.status == AppointmentStatus.DISCHARGED,
        )
    ):
        appointment.series = row
    session.commit()
    return world


def series_world(session: Session) -> World:
    """Series in January 2026 (IV induction protocol: a 21-day window):

    - completed, sessions given 5 and 14 Jan (10 days: within the window);
    - completed, given 6 and 30 Jan (25 days: outside);
    - cancelled, its one session (7 Jan) cancelled;
    - running, a session given 8 Jan and one booked 3 Mar;
    - completed but started 20 Dec 2025: outside the range.
    """
    world = build_world(session, today=dt.date(2026, 1, 1), patients=5)

    def series(status: SeriesStatus, patient: int, sessions: list[tuple[str, AppointmentStatus]]):
        row = Series(
            patient=world.patients[patient],
            treatment_type=world.iv,
            protocol=world.iv_protocol,
            status=status,
        )
        session.add(row)
        for day, state in sessions:
            _session(
                session,
                world,
                "09:00",
                chair=patient % 4,
                status=state,
                day=dt.date.fromisoformat(day),
                series=row,
                patient=patient,
            )

    given, booked = AppointmentStatus.DISCHARGED, AppointmentStatus.BOOKED
    series(SeriesStatus.COMPLETED, 0, [("2026-01-05", given), ("2026-01-14", given)])
    series(SeriesStatus.COMPLETED, 1, [("2026-01-06", given), ("2026-01-30", given)])
    series(SeriesStatus.CANCELLED, 2, [("2026-01-07", AppointmentStatus.CANCELLED)])
    series(SeriesStatus.ACTIVE, 3, [("2026-01-08", given), ("2026-03-03", booked)])
    series(SeriesStatus.COMPLETED, 4, [("2025-12-20", given), ("2026-01-02", given)])
    session.commit()
    return world


def message_world(session: Session) -> World:
    """One session on ``DAY`` with five messages due that day and one due the day before:
    sent, failed, pending, withdrawn and skipped on ``DAY``; sent the day before."""
    world = build_world(session, today=DAY, patients=1)
    appointment = _session(session, world, "15:00", chair=0, patient=0)
    plan = [
        (NotificationKind.INVITE, Channel.EMAIL, NotificationStatus.SENT, DAY, "08:00"),
        (NotificationKind.REMINDER, Channel.EMAIL, NotificationStatus.FAILED, DAY, "09:00"),
        (NotificationKind.REMINDER, Channel.SMS, NotificationStatus.PENDING, DAY, "13:00"),
        (NotificationKind.UPDATE, Channel.EMAIL, NotificationStatus.WITHDRAWN, DAY, "10:00"),
        (NotificationKind.REMINDER, Channel.SMS, NotificationStatus.SKIPPED, DAY, "11:00"),
        (
            NotificationKind.INVITE,
            Channel.SMS,
            NotificationStatus.SENT,
            DAY - dt.timedelta(days=1),
            "08:00",
        ),
    ]
    for n, (kind, channel, status, day, hhmm) in enumerate(plan):
        session.add(
            Notification(
                appointment=appointment,
                kind=kind,
                channel=channel,
                status=status,
                due_at=world.at(day, hhmm),
                idempotency_key=f"report-test-{n}",
            )
        )
    session.commit()
    return world
