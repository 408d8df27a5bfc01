"""The "Needs rebooking" worklist: sessions a change left breaking a hard rule, each with
its reasons and one-click fixes through the scheduler (another chair, monitor or prescriber
at the same time, or a new time through the reschedule page), and the prescriber's
override on the session page."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from ..clock import now
from ..extensions import db
from ..permissions import Permission
from ..scheduling import rebooking
from ..scheduling.errors import InvalidRequest
from .access import current_actor, require
from .answers import refusals_return_to
from .forms import ActionForm

bp = Blueprint("rebooking", __name__, url_prefix="/rebooking")
refusals_return_to(bp, "rebooking.index", not_found_too=True)


@bp.route("/")
@require(Permission.BOOK)
def index() -> str:
    entries = rebooking.worklist(db.session(), now=now())
    return render_template("rebooking/index.html", entries=entries, form=ActionForm())


@bp.route("/<int:appointment_id>/reassign", methods=["POST"])
@require(Permission.BOOK)
def reassign(appointment_id: int) -> ResponseReturnValue:
    if not ActionForm().validate_on_submit():
        abort(400)
    rebooking.fix_by_reassigning(
        db.session(), appointment_id=appointment_id, actor=current_actor(), now=now()
    )
    flash("The session keeps its time with another chair, monitor or prescriber.", "success")
    return redirect(url_for("rebooking.index"))


@bp.route("/<int:appointment_id>/override", methods=["POST"])
@require(Permission.CLINICAL_STATUS)
def override(appointment_id: int) -> ResponseReturnValue:
    if not ActionForm().validate_on_submit():
        abort(400)
    reason = request.form.get("reason", "")
    if len(reason) > 2000:
        raise InvalidRequest("The reason is far too long.")
    rebooking.override(
        db.session(),
        appointment_id=appointment_id,
        reason=reason,
        actor=current_actor(),
        now=now(),
    )
    flash("Override recorded; the session may go ahead.", "success")
    return redirect(url_for("series.session_detail", appointment_id=appointment_id))
