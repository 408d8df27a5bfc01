"""Reschedule or cancel a session (or the rest of its series)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import abort, flash, render_template, request, url_for
from flask.typing import ResponseReturnValue

from ...clock import now
from ...errors import Conflict, Invalid
from ...extensions import db
from ...permissions import Permission
from ...scheduling import Slot, SlotTaken, cancel, find_slots, reschedule
from ...scheduling.board import load_session_detail
from ...scheduling.plans import location_calendar
from ...scheduling.wording import day_text
from ...setup.common import local_to_utc
from ..access import current_actor, require
from ..answers import INVALID_FORM, submit
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
    # The free times shown are always those of the date in the form: the one typed when the
    # receptionist asked to see them ("show"), or tried and was refused.
    suggest_day = form.new_date.value
    slots: list[Slot] = []
    day_note: str | None = None
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
        if not slots:
            calendar = location_calendar(
                db.session(), location_id=appointment.location_id, now=now()
            )
            day_note = calendar.closed_reason(suggest_day) or (
                f"No free times on {day_text(suggest_day)}: every chair or monitor is taken. "
                "Try another date."
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
            suggest_day=suggest_day,
            day_note=day_note,
        )

    if request.method == "GET":
        return render()
    if request.form.get("action") == "show":
        # Only looking: nothing changes. The CSRF token and the date are checked; the time
        # may still be empty (the receptionist is about to pick one).
        form.validate()
        if form.new_date.errors or "csrf_token" in form.errors or suggest_day is None:
            flash(INVALID_FORM, "error")
            return render(), Invalid.status
        form.new_time.errors = []
        return render()

    def move() -> list[Any]:
        day, wall_time = form.new_start()
        try:
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
        except SlotTaken as error:
            # Here a receptionist chose a time, usually one already in the diary: what holds
            # it is the answer ("Chair IV 1 is booked from 09:00 to 11:00."), not a race.
            raise Conflict(
                f"That time is not free: {error.detail or 'another session holds it.'} "
                "Choose one of the free times below, or another date."
            ) from error

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
