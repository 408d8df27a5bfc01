"""The outbox page: every message with its state, filters, and a retry for failed ones."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import DateField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional, ValidationError

from ..clock import now
from ..extensions import db
from ..models import Channel, NotificationKind, NotificationStatus
from ..notify.manage import NotificationFilter, list_notifications, retry_notification
from ..permissions import Permission
from ..setup.queries import display_timezone
from .access import current_actor, require
from .answers import refusals_return_to
from .formtools import within_calendar

bp = Blueprint("notifications", __name__, url_prefix="/notifications")
# A refused retry (not failed, or gone meanwhile) is explained on the list it came from.
refusals_return_to(bp, "notifications.index", not_found_too=True, next_arg="return_to")


def _choices(values: list[str]) -> list[SelectChoice]:
    return [SelectChoice("", "Any")] + [SelectChoice(value, value.capitalize()) for value in values]


class NotificationFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search changes nothing

    status = SelectField(
        "Status", choices=_choices([s.value for s in NotificationStatus]), validators=[Optional()]
    )
    kind = SelectField(
        "Kind", choices=_choices([k.value for k in NotificationKind]), validators=[Optional()]
    )
    channel = SelectField(
        "Channel", choices=_choices([c.value for c in Channel]), validators=[Optional()]
    )
    date_from = DateField("Due from", validators=[Optional(), within_calendar])
    date_to = DateField("Due until", validators=[Optional(), within_calendar])

    def validate_date_to(self, field: DateField) -> None:
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError("The end date must be on or after the start date.")


def _local_midnight(day: dt.date, tz: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=tz).astimezone(dt.UTC)


def _filters(form: NotificationFilterForm, tz: ZoneInfo) -> NotificationFilter:
    return NotificationFilter(
        status=NotificationStatus(form.status.data) if form.status.data else None,
        kind=NotificationKind(form.kind.data) if form.kind.data else None,
        channel=Channel(form.channel.data) if form.channel.data else None,
        due_from=_local_midnight(form.date_from.data, tz) if form.date_from.data else None,
        due_until=(
            _local_midnight(form.date_to.data + dt.timedelta(days=1), tz)
            if form.date_to.data
            else None
        ),
    )


def _page_number() -> int:
    try:
        return max(1, int(request.args.get("page", "1")))
    except ValueError:
        return 1


@bp.route("/")
@require(Permission.MANAGE_NOTIFICATIONS)
def index() -> tuple[str, int] | str:
    form = NotificationFilterForm(formdata=request.args)
    session = db.session()
    tz = display_timezone(session)
    if not form.validate():
        return render_template(
            "notifications/index.html", form=form, page=None, tz=tz, args={}
        ), 400
    page = list_notifications(session, filters=_filters(form, tz), page=_page_number())
    args: dict[str, Any] = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "notifications/index.html",
        form=form,
        page=page,
        tz=tz,
        args=args,
        statuses=list(NotificationStatus),
        return_to=request.full_path.rstrip("?"),
    )


@bp.route("/<int:notification_id>/retry", methods=["POST"])
@require(Permission.MANAGE_NOTIFICATIONS)
def retry(notification_id: int) -> Response:
    retry_notification(
        db.session(), notification_id=notification_id, actor=current_actor(), now=now()
    )
    flash(f"Message {notification_id} is queued again and will go out shortly.", "success")
    target = request.form.get("return_to", "")
    if target.startswith("/notifications") and not target.startswith("//"):
        return redirect(target)
    return redirect(url_for("notifications.index"))
