"""Booking and the front desk's session actions, one blueprint (``series``) in small modules:
``wizard`` (book a series), ``single`` (book one session), ``sessions`` (the session page
and its status buttons), ``changes`` (reschedule, cancel) and ``slots`` (a preview's times
as form values)."""

from __future__ import annotations

from flask import Blueprint

from ..formtools import register_filters

bp = Blueprint("series", __name__)


@bp.record_once
def _setup(state: object) -> None:
    register_filters(state.app)  # type: ignore[attr-defined]


from . import changes, sessions, single, wizard  # noqa: E402  (views register on bp)
from .slots import decode_slot, encode_slot  # noqa: E402

__all__ = ["bp", "changes", "decode_slot", "encode_slot", "sessions", "single", "wizard"]
