"""Invitations and reminders: the outbox, calendar files, email and SMS backends, dispatch."""

from .outbox import (
    ReminderSettings,
    enqueue_booking,
    enqueue_cancellation,
    enqueue_update,
    reminder_settings_from_config,
    withdraw_pending_reminders,
)

__all__ = [
    "ReminderSettings",
    "enqueue_booking",
    "enqueue_cancellation",
    "enqueue_update",
    "reminder_settings_from_config",
    "withdraw_pending_reminders",
]
