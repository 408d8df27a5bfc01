"""Login and logout."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from ..extensions import db, login_manager
from ..models import User

bp = Blueprint("auth", __name__)

login_manager.login_view = "auth.login"
login_manager.login_message = "Please log in to continue."
login_manager.login_message_category = "info"
# Flask-Login's session protection drops the session if the client's fingerprint changes.
login_manager.session_protection = "strong"


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    if not user_id.isdigit():
        return None
    return db.session.get(User, int(user_id))


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=80)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


def safe_next_url(target: str | None) -> str:
    """Only same-site paths: an absolute or protocol-relative URL would be an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return url_for("main.home")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return url_for("main.home")
    return target


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str:
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = db.session.scalar(db.select(User).filter_by(username=form.username.data))
        if user is None or not user.active or not user.check_password(form.password.data or ""):
            flash("Unknown username or wrong password.", "error")
            return render_template("auth/login.html", form=form), 401
        login_user(user)
        return redirect(safe_next_url(request.args.get("next")))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Response:
    logout_user()
    flash("You have been logged out.", "info")
    return redirect(url_for("auth.login"))
