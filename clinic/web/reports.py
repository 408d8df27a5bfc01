"""The Reports area for admins and managers: pick a date range and a location (or all),
read each report as a chart and a table, download the same figures as CSV.

The figures come from ``clinic.reports``; this module only reads the filter, draws the
charts and writes the CSV. Charts are pygal SVG drawn on the server and embedded in the page
as ``data:`` images (the CSP allows ``img-src data:``; an image runs no script), each
followed by the table with the same numbers for screen readers and print.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

import pygal
from flask import Blueprint, Response, current_app, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import DateField
from wtforms.validators import Optional

from ..audit import record_event
from ..clock import now
from ..errors import Invalid, NotFound
from ..extensions import db
from ..permissions import Permission
from ..reports import (
    REPORTS,
    Chart,
    Report,
    ReportScope,
    Table,
    build_report,
    format_cell,
    report_settings_from_config,
)
from ..scheduling.board import list_locations
from ..setup.queries import display_timezone
from .access import current_actor, require
from .formtools import LooseSelectField, apply_errors, options, within_calendar
from .vitals_chart import _SCRIPT, STYLE

bp = Blueprint("reports", __name__, url_prefix="/reports")

DEFAULT_DAYS = 28


class ReportFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET that changes nothing

    first_day = DateField("From", validators=[Optional(), within_calendar])
    last_day = DateField("To", validators=[Optional(), within_calendar])
    location = LooseSelectField("Location", choices=[])


@dataclass(frozen=True, slots=True)
class DrawnChart:
    title: str
    data_uri: str
    table_id: str


def _locations() -> list[tuple[int, str]]:
    return [(location_id, name) for location_id, name, _tz in list_locations(db.session())]


def _parse() -> tuple[ReportFilterForm, ReportScope | None]:
    form = ReportFilterForm(formdata=request.args)
    form.location.choices = options(_locations(), blank="All locations")
    if not form.validate():
        return form, None
    today = now().astimezone(display_timezone(db.session())).date()
    last_day = form.last_day.data or today - dt.timedelta(days=1)
    first_day = form.first_day.data or last_day - dt.timedelta(days=DEFAULT_DAYS - 1)
    location = form.location.data or ""
    try:
        scope = ReportScope(first_day, last_day, int(location) if location else None)
    except Invalid as error:
        for message in apply_errors(form, error.fields):
            form.last_day.errors = [*form.last_day.errors, message]
        return form, None
    form.first_day.data = first_day
    form.last_day.data = last_day
    return form, scope


def _filter_args(scope: ReportScope) -> dict[str, Any]:
    args = {"first_day": scope.first_text, "last_day": scope.last_text}
    if scope.location_id is not None:
        args["location"] = str(scope.location_id)
    return args


def _report(key: str, scope: ReportScope) -> Report:
    if key not in REPORTS:
        raise NotFound("There is no such report.")
    return build_report(
        db.session(),
        key,
        scope=scope,
        settings=report_settings_from_config(current_app.config),
        now=now(),
    )


def _value(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def chart_svg(chart: Chart, table: Table) -> bytes:
    """The chart as SVG: pygal only, no script, the table's own numbers."""
    common = dict(
        js=[],
        style=STYLE,
        width=900,
        height=340,
        legend_at_bottom=True,
        title=chart.title,
        no_data_text="Nothing in this range",
        print_values=False,
        include_x_axis=True,  # the scale starts at 0: no exaggerated differences
        value_formatter=lambda value: format_cell(value, chart.unit),
    )
    labels = [str(label) for label in table.column(chart.x_column)]
    if chart.kind == "dot":
        drawing = pygal.Dot(x_label_rotation=0, show_legend=False, **common)
        drawing.x_labels = list(chart.series_columns)
        for row, label in zip(table.detail_rows, labels, strict=True):
            drawing.add(label, [_value(cell) or 0.0 for cell in row[1:]])
    else:
        kind = pygal.Line if chart.kind == "line" else pygal.Bar
        drawing = kind(
            x_label_rotation=30,
            show_minor_x_labels=len(labels) <= 31,
            x_labels_major_count=12,
            show_dots=len(labels) <= 31,
            **common,
        )
        drawing.x_labels = labels
        for column in chart.series_columns:
            drawing.add(column, [_value(cell) for cell in table.column(column)])
    return _SCRIPT.sub(b"", bytes(drawing.render()))


def _draw(report: Report) -> list[DrawnChart]:
    drawn = []
    for chart in report.charts:
        svg = chart_svg(chart, report.table(chart.table))
        drawn.append(
            DrawnChart(
                title=chart.title,
                data_uri="data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii"),
                table_id=f"table-{chart.table}",
            )
        )
    return drawn


@bp.route("/")
@require(Permission.VIEW_REPORTS)
def index() -> str | tuple[str, int]:
    form, scope = _parse()
    links = (
        {key: url_for("reports.show", key=key, **_filter_args(scope)) for key in REPORTS}
        if scope
        else {key: url_for("reports.show", key=key) for key in REPORTS}
    )
    return render_template("reports/index.html", form=form, reports=REPORTS, links=links), (
        200 if scope else 400
    )


@bp.route("/<key>")
@require(Permission.VIEW_REPORTS)
def show(key: str) -> str | tuple[str, int]:
    if key not in REPORTS:
        raise NotFound("There is no such report.")
    form, scope = _parse()
    if scope is None:
        return render_template(
            "reports/show.html", form=form, key=key, title=REPORTS[key], report=None
        ), 400
    report = _report(key, scope)
    return render_template(
        "reports/show.html",
        form=form,
        key=key,
        title=report.title,
        report=report,
        charts=_draw(report),
        format_cell=format_cell,
        csv_url=url_for("reports.download", key=key, **_filter_args(scope)),
        reports=REPORTS,
        filter_args=_filter_args(scope),
    )


def report_csv(report: Report) -> str:
    """Every table of the report, one after another: a caption line, the header, the rows
    (the page's text of each value), a blank line. Formula triggers are defused."""
    from ..audit.trail import defuse_formula

    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)
    for table in report.tables:
        writer.writerow([defuse_formula(table.caption)])
        writer.writerow([defuse_formula(column.label) for column in table.columns])
        for row in table.rows:
            writer.writerow(
                [
                    defuse_formula(format_cell(value, column.unit))
                    for value, column in zip(row, table.columns, strict=True)
                ]
            )
        writer.writerow([])
    return buffer.getvalue()


@bp.route("/<key>.csv")
@require(Permission.VIEW_REPORTS)
def download(key: str) -> Response | tuple[str, int]:
    if key not in REPORTS:
        raise NotFound("There is no such report.")
    form, scope = _parse()
    if scope is None:
        return render_template(
            "reports/show.html", form=form, key=key, title=REPORTS[key], report=None
        ), 400
    report = _report(key, scope)
    session = db.session()
    event = record_event(
        session,
        current_actor(),
        action="report.export",
        entity_type="report",
        entity_id=key,
        summary=f"{key} {scope.first_text}..{scope.last_text} "
        f"location={scope.location_id or 'all'}",
    )
    event.at = now()
    session.commit()
    filename = f"{key}-{scope.first_text}-{scope.last_text}.csv"
    return Response(
        report_csv(report),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
