"""The admin overview and locations: details, opening hours and closures."""

from __future__ import annotations

from typing import Any

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
from ..formtools import options
from . import bp
from .buttons import remove
from .forms import ChairForm, ClosureForm, DeleteForm, LocationForm, OpeningHoursForm

# What a new location's time zone select starts on.
DEFAULT_TIMEZONE = "America/New_York"


@bp.route("/")
@require(Permission.CONFIGURE)
def index() -> str:
    today = now().date()
    return render_template(
        "admin/index.html", overview=queries.overview(db.session(), today=today), today=today
    )


def _location_form(form: LocationForm) -> LocationForm:
    form.timezone.choices = options((name, name) for name in queries.timezone_names())
    return form


def _location_url(location_id: int, section: str = "") -> str:
    return url_for("admin.location", location_id=location_id) + section


@bp.route("/locations", methods=["GET", "POST"])
@require(Permission.CONFIGURE)
def locations() -> ResponseReturnValue:
    form = _location_form(LocationForm())

    def render() -> str:
        return render_template(
            "admin/locations.html", locations=queries.all_locations(db.session()), form=form
        )

    if not form.is_submitted():
        form.timezone.data = DEFAULT_TIMEZONE
        return render()
    return submit(
        form,
        lambda: setup.save_location(
            db.session(), location_id=None, data=form.to_input(), actor=current_actor(), now=now()
        ),
        done="Location added. Now set its opening hours and chairs.",
        redirect_to=lambda location: _location_url(location.id),
        rerender=render,
    )


def location_page(location_id: int, **forms: FlaskForm) -> str:
    page = queries.location_page(db.session(), location_id=location_id, today=now().date())
    if page is None:
        abort(404)
    location = page.location
    edit_form = forms.get("edit_form") or _location_form(LocationForm(formdata=None, obj=location))
    hours_form: Any = forms.get("hours_form")
    if hours_form is None:
        hours_form = OpeningHoursForm(formdata=None)
        seen: dict[int, int] = {}
        for hours in location.opening_hours:
            part = seen[hours.weekday] = seen.get(hours.weekday, 0) + 1
            if part <= 2:
                hours_form[f"d{hours.weekday}_opens{part}"].data = hours.opens.strftime("%H:%M")
                hours_form[f"d{hours.weekday}_closes{part}"].data = hours.closes.strftime("%H:%M")
    return render_template(
        "admin/location.html",
        page=page,
        location=location,
        edit_form=edit_form,
        hours_form=hours_form,
        closure_form=forms.get("closure_form") or ClosureForm(formdata=None),
        chair_form=forms.get("chair_form") or ChairForm(formdata=None, capabilities=["iv"]),
        delete_form=DeleteForm(formdata=None),
    )


@bp.route("/locations/<int:location_id>", methods=["GET", "POST"])
@require(Permission.CONFIGURE)
def location(location_id: int) -> ResponseReturnValue:
    form = _location_form(LocationForm())
    if not form.is_submitted():
        return location_page(location_id)
    return submit(
        form,
        lambda: setup.save_location(
            db.session(),
            location_id=location_id,
            data=form.to_input(),
            actor=current_actor(),
            now=now(),
            proceed=impact_confirmed(),
        ),
        done="Location saved.",
        redirect_to=lambda _: _location_url(location_id),
        rerender=lambda: location_page(location_id, edit_form=form),
    )


@bp.route("/locations/<int:location_id>/hours", methods=["POST"])
@require(Permission.CONFIGURE)
def opening_hours(location_id: int) -> ResponseReturnValue:
    form = OpeningHoursForm()
    return submit(
        form,
        lambda: setup.set_opening_hours(
            db.session(),
            location_id=location_id,
            intervals=form.to_intervals(),
            actor=current_actor(),
            now=now(),
            proceed=impact_confirmed(),
        ),
        done="Opening hours saved.",
        redirect_to=lambda _: _location_url(location_id, "#hours"),
        rerender=lambda: location_page(location_id, hours_form=form),
    )


@bp.route("/locations/<int:location_id>/closures", methods=["POST"])
@require(Permission.CONFIGURE)
def add_closure(location_id: int) -> ResponseReturnValue:
    form = ClosureForm()
    return submit(
        form,
        lambda: setup.add_closure(
            db.session(),
            location_id=location_id,
            date=form.date.value,
            reason=form.reason.data or "",
            actor=current_actor(),
            now=now(),
            proceed=impact_confirmed(),
        ),
        done="Closure added.",
        redirect_to=lambda _: _location_url(location_id, "#closures"),
        rerender=lambda: location_page(location_id, closure_form=form),
    )


@bp.route("/closures/<int:closure_id>/delete", methods=["POST"])
@require(Permission.CONFIGURE)
def delete_closure(closure_id: int) -> Response:
    return remove(
        lambda: setup.remove_closure(
            db.session(), closure_id=closure_id, actor=current_actor(), now=now()
        ),
        done="Closure removed; the location is open that day.",
        redirect_to=lambda location_id: _location_url(location_id, "#closures"),
    )
