"""API tokens for administrators: create one for a user (shown once), list and revoke."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from ..accounts.queries import active_usernames, list_tokens
from ..accounts.tokens import MAX_NAME_LENGTH, create_token, revoke_token
from ..clock import now
from ..extensions import db
from ..permissions import Permission
from .access import current_actor, require
from .answers import Refusal, attempt, refusals_return_to

bp = Blueprint("tokens", __name__, url_prefix="/admin/api-tokens")
refusals_return_to(bp, "tokens.index", next_arg=None)


class CreateTokenForm(FlaskForm):
    username = SelectField("User", validators=[DataRequired(message="Choose a user.")])
    name = StringField(
        "Name",
        validators=[Length(max=MAX_NAME_LENGTH)],
        description="What the token is for, e.g. 'EHR sync'.",
    )


class RevokeTokenForm(FlaskForm):
    """Only the CSRF token: the token to revoke is in the address."""


def token_page(
    form: CreateTokenForm, *, new_token: str | None = None, status: int = 200
) -> tuple[str, int]:
    return render_template(
        "tokens/index.html",
        form=form,
        revoke_form=RevokeTokenForm(),
        tokens=list_tokens(db.session()),
        new_token=new_token,
    ), status


def create_form(*, blank: bool = False) -> CreateTokenForm:
    # ``blank``: after a token was made, offer an empty form rather than the one just sent.
    form = CreateTokenForm(formdata=None) if blank else CreateTokenForm()
    form.username.choices = [("", "Choose a user…")] + [
        (username, f"{username} ({role})") for username, role in active_usernames(db.session())
    ]
    return form


@bp.get("")
@require(Permission.MANAGE_USERS)
def index() -> tuple[str, int]:
    return token_page(create_form())


@bp.post("")
@require(Permission.MANAGE_USERS)
def create() -> tuple[str, int]:
    form = create_form()
    if not form.validate_on_submit():
        # The browser cannot send this form invalid (the user is a required choice among
        # active users, the name has a maxlength): a failure is a forged, stale or CSRF-less
        # post, which this page answers 400 like a CSRF failure anywhere.
        return token_page(form, status=400)
    # Not a redirect on success (``submit``): the token is shown in this answer only. A
    # refusal (the user was deactivated meanwhile) is flashed and answered with its own
    # status, 422, by the one path.
    new = attempt(
        form,
        lambda: create_token(
            db.session(),
            username=form.username.data or "",
            name=form.name.data or "",
            actor=current_actor(),
            now=now(),
        ),
    )
    if isinstance(new, Refusal):
        return token_page(form, status=new.status)
    # Shown in this response only (never flashed, so it is not kept in the session cookie).
    flash(f"Token {new.token.prefix}… created for {form.username.data}.", "success")
    return token_page(create_form(blank=True), new_token=new.plain)


@bp.post("/<int(min=1, max=2147483647):token_id>/revoke")
@require(Permission.MANAGE_USERS)
def revoke(token_id: int) -> Response:
    form = RevokeTokenForm()
    if not form.validate_on_submit():
        flash("The form expired; try again.", "error")
        return redirect(url_for("tokens.index"))
    # A refusal (no such token) is flashed on the token page by the app-wide handler.
    token = revoke_token(db.session(), token_id=token_id, actor=current_actor(), now=now())
    flash(f"Token {token.prefix}… revoked; it no longer works.", "success")
    return redirect(url_for("tokens.index"))
