"""Chairs of a location and the times they are out of service."""

from __future__ import annotations

from flask import abort, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from ... import setup
from ...clock import now
from ...extensions import db
from ...permissions import Permission
from ...setup import queries
from ..access import current_actor, require
from ..answers import impact_confirmed, submit
from . import bp
from .buttons import remove
from .forms import ChairForm, DeleteForm, WindowForm
from .locations import location_page


@bp.route("/locations/<int:location_id>/chairs", methods=["POST"])
@require(Permission.CONFIGURE)
def add_chair(location_id: int) -> ResponseReturnValue:
    form = ChairForm()
    return submit(
        form,
        lambda: setup.save_chair(
            db.session(),
            chair_id=None,
            location_id=location_id,
            label=form.label.data or "",
            capabilities=form.capabilities.data or [],
            active=bool(form.active.data),
            actor=current_actor(),
            now=now(),
            proceed=impact_confirmed(),
        ),
        done="Chair added.",
        redirect_to=lambda _: url_for("admin.location", location_id=location_id) + "#chairs",
        rerender=lambda: location_page(location_id, chair_form=form),
    )


def _chair_page(chair_id: int, **forms: FlaskForm) -> str:
    page = queries.chair_page(db.session(), chair_id=chair_id, now=now())
    if page is None:
        abort(404)
    return render_template(
        "admin/chair.html",
        page=page,
        chair=page.chair,
        tz=page.chair.location.tz,
        form=forms.get("form") or ChairForm(formdata=None, obj=page.chair),
        block_form=forms.get("block_form") or WindowForm(formdata=None),
        delete_form=DeleteForm(formdata=None),
    )


@bp.route("/chairs/<int:chair_id>", methods=["GET", "POST"])
@require(Permission.CONFIGURE)
def chair(chair_id: int) -> ResponseReturnValue:
    form = ChairForm()
    if not form.is_submitted():
        return _chair_page(chair_id)
    location_id = queries.get_chair(db.session(), chair_id=chair_id).location_id
    return submit(
        form,
        lambda: setup.save_chair(
            db.session(),
            chair_id=chair_id,
            location_id=location_id,
            label=form.label.data or "",
            capabilities=form.capabilities.data or [],
            active=bool(form.active.data),
            actor=current_actor(),
            now=now(),
            proceed=impact_confirmed(),
        ),
        done="Chair saved.",
        redirect_to=lambda _: url_for("admin.chair", chair_id=chair_id),
        rerender=lambda: _chair_page(chair_id, form=form),
    )


@bp.route("/chairs/<int:chair_id>/blocks", methods=["POST"])
@require(Permission.CONFIGURE)
def add_chair_block(chair_id: int) -> ResponseReturnValue:
    form = WindowForm()

    def block() -> object:
        starts_at, ends_at = form.window()
        return setup.add_chair_block(
            db.session(),
            chair_id=chair_id,
            starts_at=starts_at,
            ends_at=ends_at,
            reason=form.reason.data or "",
            actor=current_actor(),
            now=now(),
            proceed=impact_confirmed(),
        )

    return submit(
        form,
        block,
        done="The chair is out of service for that time.",
        redirect_to=lambda _: url_for("admin.chair", chair_id=chair_id),
        rerender=lambda: _chair_page(chair_id, block_form=form),
    )


@bp.route("/chair-blocks/<int:block_id>/delete", methods=["POST"])
@require(Permission.CONFIGURE)
def delete_chair_block(block_id: int) -> Response:
    return remove(
        lambda: setup.remove_chair_block(
            db.session(), block_id=block_id, actor=current_actor(), now=now()
        ),
        done="The chair is back in service for that time.",
        redirect_to=lambda chair_id: url_for("admin.chair", chair_id=chair_id),
    )
