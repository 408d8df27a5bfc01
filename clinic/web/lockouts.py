"""Login lockouts for administrators: which accounts and addresses cannot log in right now,
and a button to lift one (``clinic.accounts.lockouts``; audited)."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from ..accounts.lockouts import current_lockouts, lift_lockout
from ..accounts.login import ThrottlePolicy
from ..clock import now
from ..extensions import db
from ..permissions import Permission
from .access import current_actor, require
from .answers import refusals_return_to

bp = Blueprint("lockouts", __name__, url_prefix="/admin/lockouts")
# A refusal (the lockout ended meanwhile) is flashed on the list by the app-wide handler.
refusals_return_to(bp, "lockouts.index", next_arg=None)


class LiftForm(FlaskForm):
    """Only the CSRF token: what to lift comes as the button's fields."""


@bp.get("")
@require(Permission.MANAGE_USERS)
def index() -> str:
    policy = ThrottlePolicy.from_config(current_app.config)
    return render_template(
        "admin/lockouts.html",
        lockouts=current_lockouts(db.session(), now=now(), policy=policy),
        policy=policy,
        form=LiftForm(),
    )


@bp.post("/lift")
@require(Permission.MANAGE_USERS)
def lift() -> Response:
    form = LiftForm()
    if not form.validate_on_submit():
        flash("The form expired; try again.", "error")
        return redirect(url_for("lockouts.index"))
    key = (request.form.get("key") or "")[:80]
    cleared = lift_lockout(
        db.session(),
        throttle=request.form.get("throttle") or "",
        key=key,
        actor=current_actor(),
        now=now(),
        policy=ThrottlePolicy.from_config(current_app.config),
    )
    flash(f"Lockout of {key} lifted ({cleared} failed attempts cleared).", "success")
    return redirect(url_for("lockouts.index"))
