"""The one domain error family: every refusal a service raises derives from ``DomainError``.

A service raises; the web layer flashes ``message`` (and puts ``fields`` next to their form
fields), the API answers a problem document with ``status``. Neither layer decides what kind
of refusal it was: the class does, so the same refusal gets the same status everywhere.

The statuses follow RFC 9110:
- ``NotFound`` → 404: the record the request names does not exist (any more).
- ``Invalid`` → 422 (§15.5.21): the request is well formed but its content cannot be
  accepted (a missing name, a date that is not a date). Change the input and send again.
- ``Refused`` → 422 as well: the content is understood, but a rule of the clinic says no
  (closed that day, a certification expired, the session is not in monitoring yet). Asking
  again unchanged gives the same answer, so it is not a 409: nothing about the request is in
  a race; the client must ask for something else.
- ``Conflict`` → 409 (§15.5.10): the request lost a race with another change to the same
  state (the slot was just taken, a unique name was saved meanwhile). Reload, and the same
  request may well succeed against the new state.

``message`` is always a complete sentence a receptionist can act on, never a constraint
name or an exception's text (which can carry patient data).

``str(error)`` is the message followed by every field's message, so the CLI, a test's
``match`` and a developer at a shell see each reason, not only "correct the highlighted
fields". It is meant for staff, like the pages: field messages may repeat what was typed
(a name, a phone number). Logs carry the error's type only, never ``str(error)``
(``clinic.web.errors`` and ``clinic.api.problems`` log type and route).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar


class DomainError(Exception):
    """Base of every refusal; ``fields`` maps form field names to their own message;
    ``extra`` holds data a client can act on (the API adds it to the problem document)."""

    status: ClassVar[int] = 422
    default_message: ClassVar[str] = "The request could not be completed."

    def __init__(
        self,
        message: str | None = None,
        *,
        fields: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ):
        self.fields: dict[str, str] = dict(fields or {})
        self.extra: dict[str, Any] = dict(extra or {})
        self.message: str = message or self._message_for_fields() or self.default_message
        super().__init__(self.message)

    def __str__(self) -> str:
        return " ".join([self.message, *self.fields.values()])

    def _message_for_fields(self) -> str | None:
        if not self.fields:
            return None
        if len(self.fields) == 1:
            return "Please correct the highlighted field."
        return f"Please correct the {len(self.fields)} highlighted fields."


class NotFound(DomainError):
    status = 404
    default_message = "That record no longer exists."


class Invalid(DomainError):
    """The input itself cannot be accepted; ``fields`` says where."""

    status = 422
    default_message = "Please correct the highlighted fields."


class Refused(DomainError):
    """A rule of the clinic or the record's state refuses the change."""

    status = 422


class Conflict(DomainError):
    """Another change got there first; the same request may succeed after a reload."""

    status = 409
    default_message = "Someone else changed this record meanwhile. Reload and try again."
