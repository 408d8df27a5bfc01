"""A clinic day with a session in every state, walked there through the real services: for
the day sheet and board tests and for the browser tests that visit every page.

The day is ``TODAY``; the clock of whoever uses it should read ``FULL_DAY_NOW`` (13:00 in
the clinic), when the morning's patients have gone home and the afternoon's are booked.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from clinic.audit import Actor
from clinic.models import Appointment, Series
from clinic.scheduling import booking, status
from tests.builders import NOW, TODAY, World, add_session, build_world, make_user
from tests.monitoring.walk import prefill_ready_record, vitals

FULL_DAY_NOW = NOW + dt.timedelta(hours=6)  # 13:00 in New York
MINUTE = dt.timedelta(minutes=1)


@dataclass
class FullDay:
    world: World
    series_id: int
    booked: int  # 15:00, session 1 of 6 of a series
    checked_in: int
    monitoring: int
    discharged: int  # went home with the escort, confirmed at check-in
    no_escort: int  # discharged by override without an escort
    cancelled: int
    no_show: int
    nurse_username: str


def _walk_to_monitoring(
    session: Session, appointment_id: int, actor: Actor, *, escort_confirmed: bool
) -> dt.datetime:
    appointment = session.get(Appointment, appointment_id)
    start = appointment.starts_at
    status.check_in(
        session,
        appointment_id=appointment_id,
        actor=actor,
        now=start - 15 * MINUTE,
        escort_confirmed=escort_confirmed,
    )
    from clinic.monitoring import record

    record.add_entry(
        session,
        appointment_id=appointment_id,
        entry=vitals(start - 10 * MINUTE),
        actor=actor,
        now=start - 10 * MINUTE,
    )
    status.start_treatment(session, appointment_id=appointment_id, actor=actor, now=start)
    prefill_ready_record(session, appointment_id, start + 40 * MINUTE)
    status.start_monitoring(
        session, appointment_id=appointment_id, actor=actor, now=start + 41 * MINUTE
    )
    return start + 90 * MINUTE


def build_full_day(session: Session) -> FullDay:
    world = build_world(session, chairs=4, nurses=2, patients=7)
    nurse_user = make_user(session, "nora", "nurse")
    actor = Actor(user_id=nurse_user.id, username=nurse_user.username)
    p = world.patients
    chairs = world.chairs

    def at(hhmm: str) -> dt.datetime:
        return world.at(TODAY, hhmm)

    series = Series(patient=p[0], treatment_type=world.iv)
    session.add(series)
    booked = add_session(
        session, world, patient=p[0], starts_at=at("15:00"), chair=chairs[0], series=series
    )
    for week in range(1, 6):
        add_session(
            session,
            world,
            patient=p[0],
            starts_at=at("15:00") + dt.timedelta(days=2 * week),
            chair=chairs[0],
            series=series,
        )
    discharged = add_session(session, world, patient=p[1], starts_at=at("07:30"), chair=chairs[1])
    no_escort = add_session(session, world, patient=p[2], starts_at=at("08:00"), chair=chairs[2])
    monitoring = add_session(
        session,
        world,
        patient=p[3],
        starts_at=at("11:30"),
        chair=chairs[3],
        monitor=world.nurses[1],
    )
    checked_in = add_session(session, world, patient=p[4], starts_at=at("13:15"), chair=chairs[1])
    cancelled = add_session(session, world, patient=p[5], starts_at=at("16:00"), chair=chairs[2])
    no_show = add_session(session, world, patient=p[6], starts_at=at("10:00"), chair=chairs[0])

    ready = _walk_to_monitoring(session, discharged.id, actor, escort_confirmed=True)
    status.discharge(
        session, appointment_id=discharged.id, actor=actor, now=ready, escort_confirmed=True
    )
    ready = _walk_to_monitoring(session, no_escort.id, actor, escort_confirmed=False)
    status.discharge(
        session,
        appointment_id=no_escort.id,
        actor=actor,
        now=ready,
        escort_confirmed=False,
        override_reason="Clinic taxi arranged; escort delayed",
    )
    _walk_to_monitoring(session, monitoring.id, actor, escort_confirmed=True)
    status.check_in(
        session, appointment_id=checked_in.id, actor=actor, now=FULL_DAY_NOW - 5 * MINUTE
    )
    booking.cancel(
        session,
        appointment_id=cancelled.id,
        scope="one",
        reason="Patient has a cold",
        actor=actor,
        now=FULL_DAY_NOW - 60 * MINUTE,
    )
    status.mark_no_show(session, appointment_id=no_show.id, actor=actor, now=at("10:30"))
    return FullDay(
        world=world,
        series_id=series.id,
        booked=booked.id,
        checked_in=checked_in.id,
        monitoring=monitoring.id,
        discharged=discharged.id,
        no_escort=no_escort.id,
        cancelled=cancelled.id,
        no_show=no_show.id,
        nurse_username=nurse_user.username,
    )
