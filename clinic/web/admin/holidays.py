"""A location's public holidays: choose the region, review the list, close on those ticked.

The list comes from the ``holidays`` library (``clinic.setup.public_holidays``); nothing is
closed until the admin confirms, and loading again adds only what is missing.
"""

from __future__ import annotations

import datetime as dt

from flask import abort, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Length

from ... import setup
from ...clock import now
from ...errors import DomainError
from ...extensions import db
from ...models import Location
from ...permissions import Permission
from ..access import current_actor, require
from ..answers import submit
from . import bp


class HolidayRegionForm(FlaskForm):
    country = StringField("Country (ISO code)", validators=[Length(max=10)])
    subdivision = StringField("State or region (optional)", validators=[Length(max=10)])


class HolidayClosuresForm(FlaskForm):
    """The ticked days arrive as ``day`` values (YYYY-MM-DD); the service checks each."""


def _page(location_id: int, *, region_form: HolidayRegionForm | None = None) -> str:
    location = db.session.get(Location, location_id)
    if location is None:
        abort(404)
    if region_form is None:
        region_form = HolidayRegionForm(formdata=None)
        region_form.country.data = location.holiday_country or ""
        region_form.subdivision.data = location.holiday_subdivision or ""
    listed: list[setup.PublicHoliday] = []
    if location.holiday_country:
        try:
            listed = setup.public_holidays(db.session(), location_id=location_id, now=now())
        except DomainError:
            listed = []
    return render_template(
        "admin/holidays.html",
        location=location,
        region_form=region_form,
        closures_form=HolidayClosuresForm(formdata=None),
        holidays=listed,
    )


@bp.route("/locations/<int:location_id>/holidays", methods=["GET"])
@require(Permission.CONFIGURE)
def holidays(location_id: int) -> ResponseReturnValue:
    return _page(location_id)


@bp.route("/locations/<int:location_id>/holidays/region", methods=["POST"])
@require(Permission.CONFIGURE)
def holiday_region(location_id: int) -> ResponseReturnValue:
    form = HolidayRegionForm()
    return submit(
        form,
        lambda: setup.set_holiday_region(
            db.session(),
            location_id=location_id,
            country=form.country.data or "",
            subdivision=form.subdivision.data or "",
            actor=current_actor(),
        ),
        done="Region saved. Review its public holidays below and tick the days to close.",
        redirect_to=lambda _: url_for("admin.holidays", location_id=location_id),
        rerender=lambda: _page(location_id, region_form=form),
    )


@bp.route("/locations/<int:location_id>/holidays/closures", methods=["POST"])
@require(Permission.CONFIGURE)
def holiday_closures(location_id: int) -> ResponseReturnValue:
    form = HolidayClosuresForm()

    def close_days() -> list[object]:
        days = []
        for raw in request.form.getlist("day")[:100]:
            try:
                days.append(dt.date.fromisoformat(raw))
            except ValueError:
                raise setup.SetupError({"dates": "Tick the holidays from the list."}) from None
        return list(
            setup.add_holiday_closures(
                db.session(),
                location_id=location_id,
                dates=days,
                actor=current_actor(),
                now=now(),
            )
        )

    return submit(
        form,
        close_days,
        done=lambda added: (
            f"Closed on {len(added)} public holiday{'s' if len(added) != 1 else ''}."
            if added
            else "Those days were already closed; nothing changed."
        ),
        redirect_to=lambda _: url_for("admin.location", location_id=location_id) + "#closures",
        rerender=lambda: _page(location_id),
    )
