"""The session record on the web: record an entry, correct a reading, the vitals chart,
and the REMS forms due (list, mark submitted, CSV).

Each POST parses its form into the typed input, calls one service in ``clinic.monitoring``
and redirects back to the session page; a refusal shows the session page again with the
message next to the field and the refusal's status. Recording is for the clinical roles
(``CLINICAL_STATUS``): the front desk reads the page but does not write the record.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm

from ..audit import record_event
from ..audit.trail import FORMULA_STARTS
from ..clock import now
from ..errors import Invalid
from ..extensions import db
from ..models import Appointment
from ..monitoring import queries, record, rems
from ..permissions import Permission
from .access import current_actor, require
from .answers import Refusal, attempt
from .formtools import safe_return_url
from .monitoring_forms import RECORD_FORMS, RemsSubmittedForm, clock_for, make_form
from .vitals_chart import SVG_POLICY, vitals_svg

bp = Blueprint("record", __name__)


def _appointment(appointment_id: int) -> Appointment:
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None:
        abort(404)
    return appointment


def _rerender(appointment_id: int, name: str, form: FlaskForm, status: int) -> ResponseReturnValue:
    from .series.sessions import render_session

    return render_session(appointment_id, status=status, record_forms={name: form})


def add_entry(appointment_id: int, name: str) -> ResponseReturnValue:
    """Record one entry of kind ``name`` (or, with ``amends``, correct one)."""
    appointment = _appointment(appointment_id)
    form = make_form(name)
    if not form.validate_on_submit():
        flash("Please correct the highlighted fields.", "error")
        return _rerender(appointment_id, name, form, Invalid.status)
    tz = appointment.location.tz
    clock = clock_for(appointment.starts_at.astimezone(tz).date(), tz)
    amends = getattr(form, "amends_id", None)

    def call() -> Any:
        entry = form.to_input(clock)
        if amends is not None:
            return record.amend_entry(
                db.session(),
                entry_id=amends,
                entry=entry,
                reason=form.reason.data or "",
                actor=current_actor(),
                now=now(),
            )
        return record.add_entry(
            db.session(),
            appointment_id=appointment_id,
            entry=entry,
            actor=current_actor(),
            now=now(),
        )

    result = attempt(form, call)
    if isinstance(result, Refusal):
        return _rerender(appointment_id, name, form, result.status)
    flash("Correction recorded." if amends else "Recorded.", "success")
    return redirect(url_for("series.session_detail", appointment_id=appointment_id) + "#record")


def _entry_view(name: str) -> Callable[[int], ResponseReturnValue]:
    def view(appointment_id: int) -> ResponseReturnValue:
        return add_entry(appointment_id, name)

    view.__name__ = f"add_{name}"
    return require(Permission.CLINICAL_STATUS)(view)


# One route per kind (POST /sessions/<id>/record/vitals, .../iv-dose, ...): endpoint add_<kind>.
for _name in RECORD_FORMS:
    bp.add_url_rule(
        f"/sessions/<int:appointment_id>/record/{_name.replace('_', '-')}",
        f"add_{_name}",
        _entry_view(_name),
        methods=["POST"],
    )


@bp.route("/sessions/<int:appointment_id>/vitals.svg")
@require(Permission.VIEW_SCHEDULE)
def vitals_chart(appointment_id: int) -> ResponseReturnValue:
    appointment = _appointment(appointment_id)
    view = queries.load_record(db.session(), appointment, now=now())
    response = Response(vitals_svg(view.vitals, appointment.location.tz), mimetype="image/svg+xml")
    response.headers["Content-Security-Policy"] = SVG_POLICY
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/rems/forms-due")
@require(Permission.VIEW_SCHEDULE)
def forms_due() -> ResponseReturnValue:
    return render_template(
        "monitoring/forms_due.html",
        rows=rems.forms_due(db.session(), now=now()),
        form=RemsSubmittedForm(formdata=None),
    )


@bp.route("/rems/forms-due.csv")
@require(Permission.VIEW_SCHEDULE)
def forms_due_csv() -> ResponseReturnValue:
    rows = rems.forms_due(db.session(), now=now())
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        ["session", "session date", "location", "MRN", "patient", "deadline", "days left"]
    )
    for row in rows:
        cells = [
            row.appointment_id,
            row.session_day.isoformat(),
            row.location_name,
            row.mrn,
            row.patient_name,
            row.deadline.isoformat(),
            row.days_left,
        ]
        writer.writerow([_defused(cell) for cell in cells])
    record_event(
        db.session(),
        current_actor(),
        action="record.rems_export",
        entity_type="rems_forms",
        summary=f"REMS forms due exported ({len(rows)} rows)",
    )
    db.session.commit()
    return Response(
        buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=rems-forms-due.csv"},
    )


def _defused(cell: object) -> object:
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS):
        return "'" + cell
    return cell


@bp.route("/rems/<int:appointment_id>/submitted", methods=["POST"])
@require(Permission.CLINICAL_STATUS)
def mark_submitted(appointment_id: int) -> ResponseReturnValue:
    """A refusal (already submitted, no reference) is flashed on the list it came from."""
    form = RemsSubmittedForm()
    back = safe_return_url(url_for("record.forms_due"))
    if not form.validate_on_submit():
        flash("Give the form's reference (at most 60 characters).", "error")
        return redirect(back)
    result = attempt(
        form,
        lambda: rems.mark_submitted(
            db.session(),
            appointment_id=appointment_id,
            reference=form.reference.data or "",
            actor=current_actor(),
            now=now(),
        ),
    )
    if not isinstance(result, Refusal):
        flash("REMS form marked submitted.", "success")
    return redirect(back)
