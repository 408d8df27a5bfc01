"""The notification domain's errors."""

from __future__ import annotations

from .. import errors


class NotifyError(errors.DomainError):
    """A notification problem with a message a receptionist can act on."""

    default_message = "The message could not be handled."


class NotFound(NotifyError, errors.NotFound):
    pass


class DeliveryError(NotifyError):
    """A message could not be handed over. ``permanent`` failures are not retried (a refused
    address, a malformed number); the others are retried with backoff. ``attempted`` is
    False when the message was not even tried (the server had just proved unreachable for
    the messages before it): it goes back to the queue without losing an attempt."""

    def __init__(self, message: str, *, permanent: bool = False, attempted: bool = True) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.attempted = attempted
