"""The notification domain's errors."""

from __future__ import annotations


class NotifyError(Exception):
    """A notification problem with a message a receptionist can act on."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(NotifyError):
    pass


class DeliveryError(NotifyError):
    """A message could not be handed over. ``permanent`` failures are not retried (a refused
    address, a malformed number); the others are retried with backoff."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
