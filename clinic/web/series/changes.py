"""Reschedule or cancel a session (or the rest of its series)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import abort, render_template, request, url_for
from flask.typing import ResponseReturnValue

from ...clock import now
from ...extensions import db
from ...permissions import Permission
from ...scheduling import Slot, cancel, find_slots, reschedule
from ...scheduling.board import load_session_detail
from ...setup.common import local_to_utc
from ..access import current_actor, require
from ..answers import submit
from ..forms import CancelForm, RescheduleForm
from . import bp
from .slots import quiet_slots, reminder_settings, scheduling_settings

SUGGESTED_SLOTS = 8


def _session_or_404(appointment_id: int) -> Any:
    found = load_session_detail(db.session(), appointment_id=appointment_id)
    if found is None:
        abort(404)
    return found


def _sessions_text(count: int) -> str:
    return f"{count} session{'s' if count != 1 else ''}"


@bp.route(
    "/sessions/<int:appointment_id>/reschedule", methods=["GET", "POST"], endpoint="reschedule"
)
@require(Permission.BOOK)
def reschedule_session(appointment_id: int) -> ResponseReturnValue:
    detail = _session_or_404(appointment_id)
    appointment = detail.appointment
    tz = appointment.location.tz
    current = appointment.starts_at.astimezone(tz)
    form = RescheduleForm()
    if request.method == "GET":
        form = RescheduleForm(formdata=None)
        form.new_date.data = request.args.get("date") or current.date().isoformat()
        form.new_time.data = current.strftime("%H:%M")
    suggest_day = form.new_date.value
    slots: list[Slot] = []
    if suggest_day is not None:
        slots = quiet_slots(
            lambda: find_slots(
                db.session(),
                treatment_type_id=appointment.treatment_type_id,
                location_id=appointment.location_id,
                start_date=suggest_day,
                end_date=suggest_day,
                now=now(),
                limit=SUGGESTED_SLOTS,
                per_day=SUGGESTED_SLOTS,
                settings=scheduling_settings(),
            )
        )

    def render() -> str:
        return render_template(
            "series/reschedule.html",
            detail=detail,
            appointment=appointment,
            form=form,
            tz=tz,
            current=current,
            slots=slots,
        )

    if request.method == "GET":
        return render()

    def move() -> list[Any]:
        day, wall_time = form.new_start()
        return reschedule(
            db.session(),
            appointment_id=appointment_id,
            # The new time is wall-clock time at the session's own location.
            new_starts_at=local_to_utc(dt.datetime.combine(day, wall_time), tz),
            scope=form.scope.data or "one",
            actor=current_actor(),
            now=now(),
            reminders=reminder_settings(),
            settings=scheduling_settings(),
        )

    return submit(
        form,
        move,
        done=lambda moved: (
            f"Moved {_sessions_text(len(moved))}; the patient gets an updated invitation."
        ),
        redirect_to=lambda _: url_for("series.session_detail", appointment_id=appointment_id),
        rerender=render,
    )


@bp.route("/sessions/<int:appointment_id>/cancel", methods=["GET", "POST"], endpoint="cancel")
@require(Permission.BOOK)
def cancel_session(appointment_id: int) -> ResponseReturnValue:
    detail = _session_or_404(appointment_id)
    appointment = detail.appointment
    form = CancelForm() if request.method == "POST" else CancelForm(formdata=None)

    def render() -> str:
        return render_template(
            "series/cancel.html",
            detail=detail,
            appointment=appointment,
            form=form,
            tz=appointment.location.tz,
        )

    if request.method == "GET":
        return render()
    return submit(
        form,
        lambda: cancel(
            db.session(),
            appointment_id=appointment_id,
            scope=form.scope.data or "one",
            reason=form.reason.data or "",
            actor=current_actor(),
            now=now(),
        ),
        done=lambda cancelled: f"Cancelled {_sessions_text(len(cancelled))}; the patient is told.",
        redirect_to=lambda _: url_for("series.session_detail", appointment_id=appointment_id),
        rerender=render,
    )
