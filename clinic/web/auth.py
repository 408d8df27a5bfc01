"""Login and logout.

A login opens a server-side LoginSession (``clinic.accounts.sessions``) and starts a fresh Flask
session that carries its id; logout ends the row, so a copy of the cookie stops working.
Attempts are throttled per account in the database and audited.
"""

from __future__ import annotations

import datetime as dt
import math

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from ..accounts.login import Throttle, ThrottlePolicy, authenticate
from ..accounts.passwords import MAX_PASSWORD_LENGTH
from ..accounts.sessions import log_out
from ..clock import now
from ..extensions import db, login_manager
from ..models import User
from ..security.web import SESSION_KEY
from ..security.web import load_user as load_session_user
from .access import current_actor
from .formtools import is_same_site_path

bp = Blueprint("auth", __name__)

login_manager.login_view = "auth.login"
login_manager.login_message = "Please log in to continue."
login_manager.login_message_category = "info"
# Flask-Login's session protection drops the session if the client's fingerprint changes.
login_manager.session_protection = "strong"


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return load_session_user(user_id)


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=80)])
    password = PasswordField(
        "Password", validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)]
    )


def safe_next_url(target: str | None) -> str:
    """Only same-site paths that fit in a header; anything else goes home."""
    return target if target is not None and is_same_site_path(target) else url_for("main.home")


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}{'s' if count != 1 else ''}"


def throttle_message(throttle: Throttle | None, wait: dt.timedelta) -> str:
    """What a throttled login is told; it names no account and no address."""
    seconds = max(1, math.ceil(wait.total_seconds()))
    if throttle is Throttle.SLOWED:
        return (
            "Too many failed logins from this network. Wait "
            f"{_plural(seconds, 'second')} and try again."
        )
    minutes = _plural(max(1, math.ceil(seconds / 60)), "minute")
    if throttle is Throttle.ADDRESS:
        return (
            f"Too many failed logins from this network. Try again in {minutes}, "
            "or ask an administrator to lift the lockout."
        )
    return (
        f"Too many failed login attempts for this account. Try again in {minutes}, "
        "or ask an administrator."
    )


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | tuple[str, int] | str:
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    if form.validate_on_submit():
        current = now()
        outcome = authenticate(
            db.session(),
            username=form.username.data or "",
            password=form.password.data or "",
            source_address=request.remote_addr,
            now=current,
            policy=ThrottlePolicy.from_config(current_app.config),
        )
        if outcome.locked_until is not None:
            flash(throttle_message(outcome.throttle, outcome.locked_until - current), "error")
            return render_template("auth/login.html", form=form), 429
        if not outcome.succeeded or outcome.user is None or outcome.login_session is None:
            flash("Unknown username or wrong password.", "error")
            return render_template("auth/login.html", form=form), 401
        # A fresh session at login: nothing planted in the cookie before it survives.
        session.clear()
        g.login_session = outcome.login_session
        login_user(outcome.user, remember=False)
        session[SESSION_KEY] = outcome.login_session.id
        return redirect(safe_next_url(request.args.get("next")))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Response:
    log_out(db.session(), session_id=session.get(SESSION_KEY), actor=current_actor(), now=now())
    logout_user()
    session.clear()
    flash("You have been logged out.", "info")
    return redirect(url_for("auth.login"))
