"""User accounts: create, change role or link, reset a password (``clinic.accounts``).

A refusal (``UserError``) is placed on the form by ``submit``; a user who is gone
(``UserNotFound``) is a 404 page, from the app-wide handler."""

from __future__ import annotations

from flask import current_app, render_template, url_for
from flask.typing import ResponseReturnValue
from wtforms import SelectChoice

from ... import accounts
from ...accounts import queries as account_queries
from ...accounts import two_factor
from ...clock import now
from ...extensions import db
from ...models import User
from ...permissions import Permission
from ...setup import queries
from ..access import current_actor, require
from ..answers import submit
from ..formtools import options, parse_int
from . import bp
from .forms import DeleteForm, EditUserForm, NewUserForm, PasswordForm


def _staff_options() -> list[SelectChoice]:
    return options(queries.staff_choices(db.session()), blank="— none —")


def _edit_form(account: User) -> EditUserForm:
    form = EditUserForm(formdata=None)
    form.staff_id.choices = _staff_options()
    form.role.data = account.role.value
    form.active.data = account.active
    form.staff_id.data = str(account.staff_id or "")
    return form


@bp.route("/users", methods=["GET", "POST"])
@require(Permission.MANAGE_USERS)
def users() -> ResponseReturnValue:
    form = NewUserForm()
    form.staff_id.choices = _staff_options()

    def render() -> str:
        return render_template(
            "admin/users.html", users=account_queries.all_users(db.session()), form=form
        )

    if not form.is_submitted():
        return render()
    return submit(
        form,
        lambda: accounts.create_user(
            db.session(),
            username=form.username.data or "",
            role=form.role.data or "",
            password=form.password.data or "",
            staff_id=parse_int(form.staff_id.data),
            actor=current_actor(),
        ),
        done="User created. Give them their password in person.",
        redirect_to=lambda _: url_for("admin.users"),
        rerender=render,
    )


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@require(Permission.MANAGE_USERS)
def user(user_id: int) -> ResponseReturnValue:
    account = account_queries.get_user(db.session(), user_id=user_id)
    form = EditUserForm()
    form.staff_id.choices = _staff_options()
    if not form.is_submitted():
        form = _edit_form(account)

    def render() -> str:
        return _user_page(account, form=form)

    if not form.is_submitted():
        return render()
    return submit(
        form,
        lambda: accounts.update_user(
            db.session(),
            user_id=user_id,
            role=form.role.data or "",
            active=bool(form.active.data),
            staff_id=parse_int(form.staff_id.data),
            actor=current_actor(),
            now=now(),
        ),
        done="User saved.",
        redirect_to=lambda _: url_for("admin.users"),
        rerender=render,
    )


@bp.route("/users/<int:user_id>/password", methods=["POST"])
@require(Permission.MANAGE_USERS)
def user_password(user_id: int) -> ResponseReturnValue:
    account = account_queries.get_user(db.session(), user_id=user_id)
    form = PasswordForm()
    return submit(
        form,
        lambda: accounts.change_password(
            db.session(),
            user_id=user_id,
            password=form.password.data or "",
            actor=current_actor(),
            now=now(),
        ),
        done="Password changed; the user's open sessions have ended.",
        redirect_to=lambda _: url_for("admin.users"),
        rerender=lambda: _user_page(account, form=_edit_form(account), password_form=form),
    )


def _user_page(
    account: User, *, form: EditUserForm, password_form: PasswordForm | None = None
) -> str:
    return render_template(
        "admin/user.html",
        form=form,
        password_form=password_form or PasswordForm(formdata=None),
        reset_form=DeleteForm(formdata=None),
        two_factor=two_factor.two_factor_status(db.session(), user_id=account.id),
        two_factor_required=account.role
        in two_factor.TwoFactorPolicy.from_config(current_app.config).required_roles,
        account=account,
    )


@bp.route("/users/<int:user_id>/two-factor/reset", methods=["POST"])
@require(Permission.MANAGE_USERS)
def user_two_factor_reset(user_id: int) -> ResponseReturnValue:
    """Remove another user's authenticator (lost phone); they enrol again at next login."""
    account = account_queries.get_user(db.session(), user_id=user_id)
    form = DeleteForm()
    return submit(
        form,
        lambda: two_factor.reset_two_factor(
            db.session(), user_id=user_id, actor=current_actor(), now=now()
        ),
        done="Two-factor login reset; the user's open sessions have ended and they set it "
        "up again at their next login.",
        redirect_to=lambda _: url_for("admin.user", user_id=user_id),
        rerender=lambda: _user_page(account, form=_edit_form(account)),
    )
