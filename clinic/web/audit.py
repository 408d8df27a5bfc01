"""The audit trail for administrators: search by user, patient, action and dates; export CSV.

Read-only on purpose: the app offers no way to change or delete an audit row.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, render_template, request, stream_with_context, url_for
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, StringField
from wtforms.validators import Length, NumberRange, Optional, ValidationError

from ..audit import record_audit_export
from ..audit.trail import (
    CSV_HEADER,
    AuditQuery,
    csv_row,
    day_range,
    iter_audit,
    known_usernames,
    search_audit,
)
from ..clock import now
from ..extensions import db
from ..permissions import Permission
from ..setup.queries import display_timezone
from .access import current_actor, require
from .formtools import within_calendar

bp = Blueprint("audit", __name__, url_prefix="/audit")

PAGE_SIZE = 100
MAX_ID = 2**31 - 1  # an INTEGER column: larger numbers cannot match and would fail in SQL


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search changes nothing

    user = StringField("User", validators=[Optional(), Length(max=80)])
    patient_id = IntegerField("Patient id", validators=[Optional(), NumberRange(min=1, max=MAX_ID)])
    action = StringField(
        "Action", validators=[Optional(), Length(max=60)], description="e.g. auth. or patient"
    )
    date_from = DateField("From", validators=[Optional(), within_calendar])
    date_to = DateField("To", validators=[Optional(), within_calendar])

    def validate_date_to(self, field: DateField) -> None:
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError("The end date must be on or after the start date.")


def parse_filters() -> tuple[AuditFilterForm, AuditQuery | None]:
    form = AuditFilterForm(formdata=request.args)
    if not form.validate():
        return form, None
    start, end = day_range(form.date_from.data, form.date_to.data, display_timezone(db.session()))
    query = AuditQuery(
        username=(form.user.data or "").strip() or None,
        patient_id=form.patient_id.data,
        action=(form.action.data or "").strip() or None,
        start=start,
        end=end,
    )
    return form, query


def filter_args() -> dict[str, Any]:
    return {key: value for key, value in request.args.items() if key != "before" and value}


@bp.route("/")
@require(Permission.VIEW_AUDIT)
def index() -> tuple[str, int] | str:
    form, query = parse_filters()
    tz = display_timezone(db.session())
    usernames = known_usernames(db.session())
    if query is None:
        return render_template(
            "audit/index.html", form=form, page=None, tz=tz, usernames=usernames
        ), 400
    before = request.args.get("before", type=int)
    if before is not None and not 0 < before <= MAX_ID:
        before = None
    page = search_audit(db.session(), query=query, limit=PAGE_SIZE, before_id=before)
    older_url = (
        url_for("audit.index", **filter_args(), before=page.next_before_id)
        if page.next_before_id
        else None
    )
    return render_template(
        "audit/index.html",
        form=form,
        page=page,
        tz=tz,
        usernames=usernames,
        older_url=older_url,
        newest_url=url_for("audit.index", **filter_args()) if before else None,
        export_url=url_for("audit.export", **filter_args()),
    )


@bp.route("/export.csv")
@require(Permission.VIEW_AUDIT)
def export() -> Response | tuple[str, int]:
    form, query = parse_filters()
    tz = display_timezone(db.session())
    if query is None:
        usernames = known_usernames(db.session())
        return render_template(
            "audit/index.html", form=form, page=None, tz=tz, usernames=usernames
        ), 400
    record_audit_export(db.session(), actor=current_actor(), query=query, now=now())

    def rows() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)
        writer.writerow(CSV_HEADER)
        for event in iter_audit(db.session(), query=query):
            writer.writerow(csv_row(event, tz))
            if buffer.tell() > 64 * 1024:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return Response(
        stream_with_context(rows()),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="audit-trail.csv"'},
    )
