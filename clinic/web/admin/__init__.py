"""Admin pages, one blueprint (``admin``) in small modules: ``locations`` (overview, hours,
closures), ``holidays`` (public holidays loaded as closures), ``chairs`` (chairs,
out-of-service blocks), ``staff`` (certifications, weekly shifts, time off), ``treatments``
(treatment types, protocols), ``users``, ``webhooks``; ``forms`` holds their forms and
``buttons`` the remove buttons they share."""

from __future__ import annotations

from flask import Blueprint

from ..answers import refusals_return_to
from ..formtools import register_filters

bp = Blueprint("admin", __name__, url_prefix="/admin")
# A refused remove button says why on the admin overview.
refusals_return_to(bp, "admin.index")


@bp.record_once
def _setup(state: object) -> None:
    register_filters(state.app)  # type: ignore[attr-defined]


from . import (  # noqa: E402  (views register on bp)
    chairs,
    holidays,
    locations,
    staff,
    treatments,
    users,
    webhooks,
)

__all__ = ["bp", "chairs", "holidays", "locations", "staff", "treatments", "users", "webhooks"]
