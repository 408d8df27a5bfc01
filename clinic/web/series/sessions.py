"""The session page and its status buttons (check in, escort, start treatment, start
monitoring, discharge, no-show): each button calls one status service; a refusal shows the
session page again with the refusal's message and status."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from ...clock import now
from ...errors import Invalid
from ...extensions import db
from ...permissions import Permission
from ...scheduling import rebooking
from ...scheduling import status as session_status
from ...scheduling.board import load_session_detail
from ..access import current_actor, require
from ..answers import Refusal, attempt
from ..forms import ActionForm, CheckInForm
from ..formtools import safe_return_url
from ..monitoring_forms import RecordDischargeForm
from ..monitoring_view import record_context
from . import bp


@bp.route("/sessions/<int:appointment_id>")
@require(Permission.VIEW_SCHEDULE)
def session_detail(appointment_id: int) -> ResponseReturnValue:
    return render_session(appointment_id)


def render_session(
    appointment_id: int,
    *,
    status: int = 200,
    check_in_form: CheckInForm | None = None,
    discharge_form: RecordDischargeForm | None = None,
    record_forms: dict[str, Any] | None = None,
) -> ResponseReturnValue:
    detail = load_session_detail(db.session(), appointment_id=appointment_id)
    if detail is None:
        abort(404)
    appointment = detail.appointment
    current = now()
    tz = appointment.location.tz
    if check_in_form is None:
        check_in_form = CheckInForm(formdata=None)
        check_in_form.escort_name.data = appointment.escort_name or appointment.patient.escort_name
        check_in_form.escort_phone.data = (
            appointment.escort_phone or appointment.patient.escort_phone
        )
    if discharge_form is None:
        discharge_form = RecordDischargeForm(formdata=None)
        discharge_form.escort_confirmed.data = appointment.escort_confirmed_at is not None
        discharge_form.escort_name.data = appointment.escort_name or appointment.patient.escort_name
    local_day = appointment.starts_at.astimezone(tz).date()
    return render_template(
        "series/session.html",
        detail=detail,
        appointment=appointment,
        tz=tz,
        now=current,
        is_today=current.astimezone(tz).date() == local_day,
        start_passed=current >= appointment.starts_at,
        check_in_form=check_in_form,
        discharge_form=discharge_form,
        board_url=url_for(
            "board.day", location=appointment.location_id, date=local_day.isoformat()
        ),
        rebooking_entry=rebooking.flagged(db.session(), [appointment.id]).get(appointment.id),
        **record_context(appointment, now=current, forms=record_forms or {}),
    ), status


def _status_action(
    appointment_id: int,
    action: Callable[..., Any],
    done: str,
    arguments: dict[str, Any],
    **render_forms: Any,
) -> ResponseReturnValue:
    """Call one status service; a refusal re-renders the session page (with the submitted
    ``render_forms``) and changes nothing."""
    result = attempt(
        None,
        lambda: action(
            db.session(),
            appointment_id=appointment_id,
            actor=current_actor(),
            now=now(),
            **arguments,
        ),
    )
    if isinstance(result, Refusal):
        return render_session(appointment_id, status=result.status, **render_forms)
    flash(done, "success")
    return redirect(
        safe_return_url(url_for("series.session_detail", appointment_id=appointment_id))
    )


def _button(appointment_id: int, action: Callable[..., Any], done: str) -> ResponseReturnValue:
    """A status button whose form carries nothing but the CSRF token."""
    if not ActionForm().validate_on_submit():
        flash("That request could not be read; please try again.", "error")
        return render_session(appointment_id, status=Invalid.status)
    return _status_action(appointment_id, action, done, {})


@bp.route("/sessions/<int:appointment_id>/check-in", methods=["POST"])
@require(Permission.CHECK_IN)
def check_in(appointment_id: int) -> ResponseReturnValue:
    form = CheckInForm()
    if not form.validate_on_submit():
        return render_session(appointment_id, status=Invalid.status, check_in_form=form)
    return _status_action(
        appointment_id,
        session_status.check_in,
        "Checked in.",
        {
            "escort_name": form.escort_name.data,
            "escort_phone": form.escort_phone.data,
            "escort_confirmed": bool(form.escort_confirmed.data),
        },
        check_in_form=form,
    )


@bp.route("/sessions/<int:appointment_id>/escort", methods=["POST"])
@require(Permission.CHECK_IN)
def confirm_escort(appointment_id: int) -> ResponseReturnValue:
    form = CheckInForm()
    if not form.validate_on_submit():
        return render_session(appointment_id, status=Invalid.status, check_in_form=form)
    return _status_action(
        appointment_id,
        session_status.confirm_escort,
        "The escort is confirmed.",
        {"escort_name": form.escort_name.data, "escort_phone": form.escort_phone.data},
    )


@bp.route("/sessions/<int:appointment_id>/start-treatment", methods=["POST"])
@require(Permission.CLINICAL_STATUS)
def start_treatment(appointment_id: int) -> ResponseReturnValue:
    return _button(appointment_id, session_status.start_treatment, "Treatment started.")


@bp.route("/sessions/<int:appointment_id>/start-monitoring", methods=["POST"])
@require(Permission.CLINICAL_STATUS)
def start_monitoring(appointment_id: int) -> ResponseReturnValue:
    return _button(appointment_id, session_status.start_monitoring, "Monitoring started.")


@bp.route("/sessions/<int:appointment_id>/discharge", methods=["POST"])
@require(Permission.CLINICAL_STATUS)
def discharge(appointment_id: int) -> ResponseReturnValue:
    form = RecordDischargeForm()
    if not form.validate_on_submit():
        flash("The override reason may be at most 300 characters.", "error")
        return render_session(appointment_id, status=Invalid.status, discharge_form=form)
    return _status_action(
        appointment_id,
        session_status.discharge,
        "Discharged. Remind the patient not to drive today.",
        {
            "escort_confirmed": bool(form.escort_confirmed.data),
            "override_reason": form.override_reason.data,
            "escort_name": form.escort_name.data,
        },
        discharge_form=form,
    )


@bp.route("/sessions/<int:appointment_id>/no-show", methods=["POST"])
@require(Permission.CHECK_IN)
def no_show(appointment_id: int) -> ResponseReturnValue:
    return _button(appointment_id, session_status.mark_no_show, "Marked as a no-show.")
