"""Treatment types (durations, chair, monitor and prescriber needs) and protocols."""

from __future__ import annotations

from flask import render_template, url_for
from flask.typing import ResponseReturnValue

from ... import setup
from ...clock import now
from ...extensions import db
from ...permissions import Permission
from ...setup import queries
from ..access import current_actor, require
from ..answers import impact_confirmed, submit
from ..formtools import options
from . import bp
from .forms import ProtocolForm, TreatmentTypeForm

# What the add forms start with: the usual prep and turnover, one patient per monitor, a day.
NEW_TREATMENT_DEFAULTS = {
    "prep_minutes": "15",
    "turnover_minutes": "15",
    "min_hours_between_doses": "24",
}
NEW_TREATMENT_RATIO = "1"
NEW_PROTOCOL_SPACING = "24"
DURATION_FIELDS = (
    "prep_minutes",
    "treatment_minutes",
    "monitoring_minutes",
    "turnover_minutes",
    "max_patients_per_monitor",
    "min_hours_between_doses",
)


@bp.route("/treatment-types", methods=["GET", "POST"])
@require(Permission.CONFIGURE)
def treatment_types() -> ResponseReturnValue:
    form = TreatmentTypeForm()

    def render() -> str:
        return render_template(
            "admin/treatment_types.html",
            treatment_types=queries.all_treatment_types(db.session()),
            form=form,
            editing=None,
        )

    if not form.is_submitted():
        for name, value in NEW_TREATMENT_DEFAULTS.items():
            form[name].data = value
        form.max_patients_per_monitor.data = NEW_TREATMENT_RATIO
        return render()
    return submit(
        form,
        lambda: setup.save_treatment_type(
            db.session(),
            treatment_type_id=None,
            data=form.to_input(),
            actor=current_actor(),
            now=now(),
        ),
        done="Treatment type added.",
        redirect_to=lambda _: url_for("admin.treatment_types"),
        rerender=render,
    )


@bp.route("/treatment-types/<int:treatment_type_id>", methods=["GET", "POST"])
@require(Permission.CONFIGURE)
def treatment_type(treatment_type_id: int) -> ResponseReturnValue:
    existing = queries.get_treatment_type(db.session(), treatment_type_id=treatment_type_id)
    form = TreatmentTypeForm()

    def render() -> str:
        return render_template("admin/treatment_type.html", form=form, editing=existing)

    if not form.is_submitted():
        form = TreatmentTypeForm(formdata=None, obj=existing)
        form.route.data = existing.route.value
        form.required_certifications.data = ", ".join(existing.required_certifications)
        for name in DURATION_FIELDS:
            form[name].data = str(getattr(existing, name))
        return render()
    return submit(
        form,
        lambda: setup.save_treatment_type(
            db.session(),
            treatment_type_id=treatment_type_id,
            data=form.to_input(),
            actor=current_actor(),
            now=now(),
            proceed=impact_confirmed(),
        ),
        done="Treatment type saved.",
        redirect_to=lambda _: url_for("admin.treatment_types"),
        rerender=render,
    )


def _protocol_form(form: ProtocolForm) -> ProtocolForm:
    form.treatment_type_id.choices = options(
        queries.treatment_type_choices(db.session()), blank="Choose…"
    )
    return form


@bp.route("/protocols", methods=["GET", "POST"])
@require(Permission.CONFIGURE)
def protocols() -> ResponseReturnValue:
    form = _protocol_form(ProtocolForm())

    def render() -> str:
        return render_template(
            "admin/protocols.html", protocols=queries.all_protocols(db.session()), form=form
        )

    if not form.is_submitted():
        form.min_hours_between.data = NEW_PROTOCOL_SPACING
        return render()
    return submit(
        form,
        lambda: setup.save_protocol(
            db.session(), protocol_id=None, data=form.to_input(), actor=current_actor()
        ),
        done="Protocol added.",
        redirect_to=lambda _: url_for("admin.protocols"),
        rerender=render,
    )


@bp.route("/protocols/<int:protocol_id>", methods=["GET", "POST"])
@require(Permission.CONFIGURE)
def protocol(protocol_id: int) -> ResponseReturnValue:
    existing = queries.get_protocol(db.session(), protocol_id=protocol_id)
    form = _protocol_form(ProtocolForm())

    def render() -> str:
        return render_template("admin/protocol.html", form=form, editing=existing)

    if not form.is_submitted():
        form = _protocol_form(ProtocolForm(formdata=None, obj=existing))
        form.fill(existing)
        return render()
    return submit(
        form,
        lambda: setup.save_protocol(
            db.session(), protocol_id=protocol_id, data=form.to_input(), actor=current_actor()
        ),
        done="Protocol saved.",
        redirect_to=lambda _: url_for("admin.protocols"),
        rerender=render,
    )
