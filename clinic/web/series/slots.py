"""The settings and look-ups the booking views share, and a preview's slot as a form value
(start, chair, monitor, prescriber) that the confirm step posts back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from flask import abort, current_app

from ...errors import DomainError
from ...extensions import db
from ...notify import ReminderSettings
from ...patients import get_patient
from ...scheduling import SchedulingSettings, Slot, SlotChoice
from ..formtools import parse_int


def reminder_settings() -> ReminderSettings:
    from ...notify import reminder_settings_from_config

    return reminder_settings_from_config(current_app.config)


def scheduling_settings() -> SchedulingSettings:
    from ...scheduling import scheduling_settings_from_config

    return scheduling_settings_from_config(current_app.config)


def patient_or_404(raw_id: object) -> Any:
    patient_id = parse_int(raw_id)
    if not patient_id:
        abort(404)
    return get_patient(db.session(), patient_id=patient_id)


def invitations_text(patient: Any) -> str:
    """What the patient is sent about a booking: the outbox's own channel rule, in words."""
    if patient.can_receive_email and patient.can_receive_sms:
        return "Invitations go out by email and text."
    if patient.can_receive_email:
        return "Invitations go out by email."
    reason = "no email address on file" if not patient.email else "email turned off"
    if patient.can_receive_sms:
        return f"Invitations and reminders go out by text only ({reason})."
    return (
        f"Nothing is sent to the patient ({reason}, no text consent): give them the dates "
        "now, or add contact details on the patient page."
    )


def quiet_slots(search: Callable[[], list[Slot]]) -> list[Slot]:
    """Free times to offer next to a refusal, or none when the search is refused too (the
    page already says why)."""
    try:
        return search()
    except DomainError:
        return []


def encode_slot(slot: Any) -> str:
    """A preview's slot as a form value: start, chair, monitor and prescriber."""
    return "|".join(
        [
            slot.starts_at.astimezone(dt.UTC).isoformat(),
            str(slot.chair_id),
            str(slot.monitor_id),
            str(slot.prescriber_id or ""),
        ]
    )


def decode_slot(raw: str | None) -> SlotChoice | None:
    """The slot a form posted back, or None when the value is not one we produced."""
    parts = (raw or "").split("|")
    if len(parts) != 4:
        return None
    try:
        starts_at = dt.datetime.fromisoformat(parts[0])
        chair_id, monitor_id = int(parts[1]), int(parts[2])
        prescriber_id = int(parts[3]) if parts[3] else None
    except ValueError:
        return None
    if starts_at.tzinfo is None:
        return None
    return SlotChoice(
        starts_at=starts_at, chair_id=chair_id, monitor_id=monitor_id, prescriber_id=prescriber_id
    )
