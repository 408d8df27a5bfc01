"""Invitations and reminders: the outbox, calendar files, email and SMS backends, dispatch."""
