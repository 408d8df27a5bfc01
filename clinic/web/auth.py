"""Login (password, then a second factor where one is due), enrolment and logout.

A login opens a server-side LoginSession (``clinic.accounts.sessions``) and starts a fresh Flask
session that carries its id; logout ends the row, so a copy of the cookie stops working.
Attempts are throttled per account and per address in the database and audited.

When a second factor is due (``clinic.accounts.two_factor``) the right password logs no one
in: the Flask session holds only a pending state (the user id, when the password passed,
where to go next) until the one-time code, or the enrolment's first code, passes; only then
does Flask-Login's ``login_user`` run. Every other page treats the pending user as
anonymous, so an administrator without a second factor can do nothing but enrol.
"""

from __future__ import annotations

import datetime as dt
import math

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from werkzeug.wrappers import Response
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from ..accounts import two_factor
from ..accounts.login import LoginOutcome, SecondFactor, Throttle, ThrottlePolicy, authenticate
from ..accounts.passwords import MAX_PASSWORD_LENGTH
from ..accounts.sessions import log_out
from ..accounts.two_factor import TwoFactorError, TwoFactorPolicy
from ..clock import now
from ..config import ConfigError, secret_key_problem
from ..extensions import db, login_manager
from ..models import User
from ..security.web import SESSION_KEY
from ..security.web import load_user as load_session_user
from .access import current_actor
from .formtools import is_same_site_path

bp = Blueprint("auth", __name__)
# The pending state of a login whose password passed and whose second factor has not.
PENDING_KEY = "two_factor_pending"


@bp.record_once
def check_two_factor_config(state: BlueprintSetupState) -> None:
    """An unknown role in TWO_FACTOR_ROLES, or a weak TWO_FACTOR_KEY in production, stops
    the app at start, not at someone's login."""
    config = state.app.config
    try:
        two_factor.required_roles(config.get("TWO_FACTOR_ROLES"))
    except ValueError as error:
        raise ConfigError(str(error)) from None
    key = str(config.get("TWO_FACTOR_KEY") or "")
    if key and config.get("PRODUCTION") and (problem := secret_key_problem(key)):
        raise ConfigError(f"TWO_FACTOR_KEY is unfit: {problem}")


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


class CodeForm(FlaskForm):
    code = StringField(
        "Code from your authenticator app, or a recovery code",
        validators=[DataRequired(), Length(max=40)],
    )


class EnrolForm(FlaskForm):
    code = StringField("Code shown by the app", validators=[DataRequired(), Length(max=12)])


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
            required_roles=TwoFactorPolicy.from_config(current_app.config).required_roles,
        )
        if outcome.locked_until is not None:
            flash(throttle_message(outcome.throttle, outcome.locked_until - current), "error")
            return render_template("auth/login.html", form=form), 429
        if outcome.second_factor is not None and outcome.user is not None:
            # A fresh session here too; it holds the pending state and nothing else.
            session.clear()
            session[PENDING_KEY] = {
                "user_id": outcome.user.id,
                "at": current.timestamp(),
                "step": outcome.second_factor.value,
                "next": safe_next_url(request.args.get("next")),
            }
            if outcome.second_factor is SecondFactor.ENROL:
                return redirect(url_for("auth.enrol"))
            return redirect(url_for("auth.code"))
        if not outcome.succeeded or outcome.user is None or outcome.login_session is None:
            flash("Unknown username or wrong password.", "error")
            return render_template("auth/login.html", form=form), 401
        return _log_in(outcome, safe_next_url(request.args.get("next")))
    return render_template("auth/login.html", form=form)


def _log_in(outcome: LoginOutcome, next_url: str) -> Response:
    """Every factor passed: a fresh Flask session (nothing planted before survives)."""
    assert outcome.user is not None and outcome.login_session is not None
    session.clear()
    g.login_session = outcome.login_session
    login_user(outcome.user, remember=False)
    session[SESSION_KEY] = outcome.login_session.id
    return redirect(next_url)


def _pending(step: SecondFactor) -> dict[str, object] | None:
    """The pending login of this browser for ``step``, if it is still fresh."""
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict) or pending.get("step") != step.value:
        return None
    started = pending.get("at")
    if not isinstance(started, int | float) or not isinstance(pending.get("user_id"), int):
        return None
    age = now().timestamp() - started
    if not 0 <= age <= two_factor.PENDING_LIFETIME.total_seconds():
        session.pop(PENDING_KEY, None)
        return None
    return pending


def _abandon(error: TwoFactorError) -> Response:
    """The pending login cannot go on (user gone, secret unreadable): back to the start."""
    session.pop(PENDING_KEY, None)
    flash(error.message, "error")
    return redirect(url_for("auth.login"))


def _start_again() -> Response:
    flash("Log in with your username and password first (a login waits 5 minutes).", "info")
    return redirect(url_for("auth.login"))


def _refusal_status(outcome: LoginOutcome) -> int:
    """Flash what a throttled (429) or wrong (401) code's user should do; the status."""
    if outcome.locked_until is not None:
        flash(throttle_message(outcome.throttle, outcome.locked_until - now()), "error")
        return 429
    if outcome.problem == "code already used":
        flash("That code has already been used. Wait for the next one and enter it.", "error")
    else:
        flash("That code is not right. Check the time on your phone and try again.", "error")
    return 401


@bp.route("/login/code", methods=["GET", "POST"])
def code() -> Response | tuple[str, int] | str:
    """The second step of an enrolled user's login."""
    pending = _pending(SecondFactor.CODE)
    if pending is None:
        return _start_again()
    form = CodeForm()
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return render_template("auth/code.html", form=form), status
    try:
        outcome = two_factor.verify_code(
            db.session(),
            user_id=int(str(pending["user_id"])),
            code=form.code.data or "",
            source_address=request.remote_addr,
            now=now(),
            policy=TwoFactorPolicy.from_config(current_app.config),
            throttle=ThrottlePolicy.from_config(current_app.config),
        )
    except TwoFactorError as error:
        return _abandon(error)
    if not outcome.succeeded:
        status = _refusal_status(outcome)  # flashes first, so the page shows it
        return render_template("auth/code.html", form=form), status
    answer = _log_in(outcome, str(pending["next"]))
    if outcome.recovery_codes_left is not None:  # after _log_in, which starts a new session
        flash(
            f"You logged in with a recovery code; {outcome.recovery_codes_left} left. "
            "Ask an administrator to reset your two-factor login to get new ones.",
            "info",
        )
    return answer


@bp.route("/login/enrol", methods=["GET", "POST"])
def enrol() -> Response | tuple[str, int] | str:
    """Set up an authenticator app: required before a first login where the role needs it."""
    pending = _pending(SecondFactor.ENROL)
    if pending is None:
        return _start_again()
    policy = TwoFactorPolicy.from_config(current_app.config)
    user_id = int(str(pending["user_id"]))
    try:
        secret = two_factor.begin_enrolment(
            db.session(),
            user_id=user_id,
            source_address=request.remote_addr,
            policy=policy,
            now=now(),
        )
    except TwoFactorError as error:
        return _abandon(error)
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    uri = two_factor.provisioning_uri(secret, username=user.username, issuer=policy.issuer)
    form = EnrolForm()

    def page() -> str:
        return render_template(
            "auth/enrol.html",
            form=form,
            secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            qr_code=Markup(two_factor.qr_code_svg(uri)),  # segno's own SVG: no user text
        )

    if not form.validate_on_submit():
        return page(), 422 if form.is_submitted() else 200
    try:
        outcome = two_factor.confirm_enrolment(
            db.session(),
            user_id=user_id,
            code=form.code.data or "",
            source_address=request.remote_addr,
            now=now(),
            policy=policy,
            throttle=ThrottlePolicy.from_config(current_app.config),
        )
    except TwoFactorError as error:
        return _abandon(error)
    if not outcome.succeeded:
        status = _refusal_status(outcome)
        return page(), status
    next_url = str(pending["next"])
    _log_in(outcome, next_url)
    # Shown once, in this answer only: nothing keeps them but the user.
    return render_template(
        "auth/recovery_codes.html", codes=outcome.recovery_codes, next_url=next_url
    )


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Response:
    log_out(db.session(), session_id=session.get(SESSION_KEY), actor=current_actor(), now=now())
    logout_user()
    session.clear()
    flash("You have been logged out.", "info")
    return redirect(url_for("auth.login"))
