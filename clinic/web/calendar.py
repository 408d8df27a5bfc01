"""The patient's private calendar feed, and the staff buttons that revoke or renew its URL.

``GET /calendar/<token>.ics`` needs no login: the token is the key. A wrong or revoked token
gets the same plain 404 as any unknown address, so a guess learns nothing.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from werkzeug.wrappers import Response

from ..clock import now
from ..extensions import db
from ..notify.feed import calendar_feed, regenerate_calendar_token, revoke_calendar_token
from ..permissions import Permission
from .access import current_actor, require
from .answers import refusals_return_to

bp = Blueprint("calendar", __name__)
# A patient removed meanwhile: say so on the patient list (the patient page is gone).
refusals_return_to(bp, "patients.index", not_found_too=True, next_arg=None)


@bp.route("/calendar/<token>.ics")
def feed(token: str) -> Response:
    body = calendar_feed(
        db.session(),
        token=token,
        now=now(),
        clinic_name=str(current_app.config.get("CLINIC_NAME") or "Clinic"),
        sender=str(current_app.config.get("MAIL_SENDER") or ""),
    )
    if body is None:
        abort(404)
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = 'inline; filename="sessions.ics"'
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def feed_url(token: str) -> str:
    """The absolute URL to give the patient."""
    return url_for("calendar.feed", token=token, _external=True)


def _back_to_patient(patient_id: int) -> Response:
    target = request.form.get("next", "")
    if target.startswith("/") and not target.startswith("//"):
        return redirect(target)
    if "patients.detail" in current_app.view_functions:
        return redirect(url_for("patients.detail", patient_id=patient_id))
    return redirect(url_for("main.home"))


@bp.route("/patients/<int:patient_id>/calendar-feed/regenerate", methods=["POST"])
@require(Permission.EDIT_PATIENTS)
def regenerate(patient_id: int) -> Response:
    token = regenerate_calendar_token(db.session(), patient_id=patient_id, actor=current_actor())
    flash(f"New calendar link: {feed_url(token)} — any earlier link no longer works.", "success")
    return _back_to_patient(patient_id)


@bp.route("/patients/<int:patient_id>/calendar-feed/revoke", methods=["POST"])
@require(Permission.EDIT_PATIENTS)
def revoke(patient_id: int) -> Response:
    revoke_calendar_token(db.session(), patient_id=patient_id, actor=current_actor())
    flash("The calendar link is switched off; it now shows nothing.", "success")
    return _back_to_patient(patient_id)
