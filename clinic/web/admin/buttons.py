"""The remove buttons of the admin pages: CSRF-checked, one service, back to the parent."""

from __future__ import annotations

from collections.abc import Callable

from flask import abort, flash, redirect
from werkzeug.wrappers import Response

from .forms import DeleteForm


def remove(change: Callable[[], int], *, done: str, redirect_to: Callable[[int], str]) -> Response:
    """Run a remove service (it returns the parent's id) and go back to the parent's page.

    A refusal is answered by the app-wide handler (flashed on the admin overview), a record
    that is gone by the 404 page."""
    if not DeleteForm().validate_on_submit():
        abort(400)
    parent_id = change()
    flash(done, "success")
    return redirect(redirect_to(parent_id))
