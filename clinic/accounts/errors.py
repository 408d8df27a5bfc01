"""The accounts' refusals: a user or token that cannot be made or changed as asked."""

from __future__ import annotations

from ..errors import Invalid, NotFound


class UserError(Invalid):
    """A user cannot be created or changed as asked; ``fields`` says why, per field."""


class UserNotFound(NotFound):
    """No user has this id."""


class TokenError(Invalid):
    """A token cannot be created or revoked as asked; the message says why.

    422 like every ``Invalid``, on the admin page as anywhere: the request is well formed
    (RFC 9110 §15.5.1 keeps 400 for requests that are not), it names a user who cannot have
    a token.
    """
