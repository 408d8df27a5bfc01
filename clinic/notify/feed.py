"""The patient's private calendar feed: the secret token and the feed it unlocks.

The token is the only key: whoever holds the URL sees the patient's upcoming sessions, so it
is long and random, can be revoked (the URL then answers 404, like any wrong token) and
regenerated (the old URL stops working at once).
"""

from __future__ import annotations

import datetime as dt
import secrets

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from ..audit import Actor, record_event
from ..models import LIVE_STATUSES, Appointment, Patient
from .context import session_facts
from .errors import NotFound
from .ics import feed_ics

TOKEN_BYTES = 32  # 43 URL-safe characters
FEED_LIMIT = 200


def new_calendar_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def _patient(session: Session, patient_id: int) -> Patient:
    patient = session.get(Patient, patient_id)
    if patient is None:
        raise NotFound("That patient could not be found. Reload the page and try again.")
    return patient


def regenerate_calendar_token(session: Session, *, patient_id: int, actor: Actor) -> str:
    """Give the patient a new feed URL; any earlier one stops working. Returns the token."""
    patient = _patient(session, patient_id)
    had_token = patient.calendar_token is not None
    patient.calendar_token = new_calendar_token()
    record_event(
        session,
        actor,
        action="calendar_feed.regenerate" if had_token else "calendar_feed.create",
        entity_type="patient",
        entity_id=patient.id,
        patient_id=patient.id,
        summary=f"calendar feed token {'regenerated' if had_token else 'created'}",
    )
    session.commit()
    return patient.calendar_token


def revoke_calendar_token(session: Session, *, patient_id: int, actor: Actor) -> None:
    """Switch the feed off: the URL answers 404 from now on."""
    patient = _patient(session, patient_id)
    if patient.calendar_token is None:
        return
    patient.calendar_token = None
    record_event(
        session,
        actor,
        action="calendar_feed.revoke",
        entity_type="patient",
        entity_id=patient.id,
        patient_id=patient.id,
        summary="calendar feed token revoked",
    )
    session.commit()


def calendar_feed(
    session: Session, *, token: str, now: dt.datetime, clinic_name: str, sender: str
) -> bytes | None:
    """The ``METHOD:PUBLISH`` feed for ``token``, or None when no active patient holds it.

    Lists live sessions that have not ended yet, soonest first.
    """
    if not token or len(token) > 64:
        return None
    patient = session.scalar(
        sa.select(Patient).where(Patient.calendar_token == token, Patient.active)
    )
    # Compare again in constant time: the lookup above is an index probe.
    if patient is None or not secrets.compare_digest(patient.calendar_token or "", token):
        return None
    appointments = session.scalars(
        sa.select(Appointment)
        .where(
            Appointment.patient_id == patient.id,
            Appointment.status.in_(LIVE_STATUSES),
            Appointment.ends_at > now,
        )
        .order_by(Appointment.starts_at)
        .limit(FEED_LIMIT)
        .options(selectinload(Appointment.location), selectinload(Appointment.treatment_type))
    ).all()
    # Each appointment's patient comes from the identity map: no query per session.
    sessions = [session_facts(appointment) for appointment in appointments]
    return feed_ics(sessions, clinic_name=clinic_name, now=now, sender=sender)
