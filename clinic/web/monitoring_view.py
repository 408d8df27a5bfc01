"""What the session page shows of the record: entries, checkpoints, the forms to record
with (empty, or as submitted after a refusal), and for esketamine the REMS form's answers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_wtf import FlaskForm

from ..extensions import db
from ..models import Appointment, AppointmentStatus
from ..monitoring import gates, queries, rems
from ..monitoring.inputs import DISSOCIATION_LEVELS, SEDATION_LEVELS, SIDE_EFFECTS
from .monitoring_forms import RECORD_FORMS, make_form


def record_context(
    appointment: Appointment, *, now: dt.datetime, forms: dict[str, FlaskForm]
) -> dict[str, Any]:
    view = queries.load_record(db.session(), appointment, now=now)
    local_now = now.astimezone(appointment.location.tz).strftime("%H:%M")
    record_forms: dict[str, FlaskForm] = {}
    for name in RECORD_FORMS:
        form = forms.get(name)
        if form is None:
            form = make_form(name, formdata=None)
            if hasattr(form, "taken_at"):
                form.taken_at.data = local_now
            if hasattr(form, "infusion_starts_at"):
                form.infusion_starts_at.data = local_now
        record_forms[name] = form
    return {
        "record": view,
        "record_forms": record_forms,
        "side_effect_labels": SIDE_EFFECTS,
        "sedation_labels": SEDATION_LEVELS,
        "dissociation_labels": DISSOCIATION_LEVELS,
        "rems_form": (
            rems.form_content(appointment, view)
            if rems.needs_rems_form(appointment.treatment_type)
            else None
        ),
        "rems_deadline": rems.deadline_for(appointment),
        "discharge_unmet": (
            gates.discharge_conditions(
                db.session(),
                appointment,
                now=now,
                escort_named=bool(
                    appointment.escort_confirmed_at
                    and (appointment.escort_name or appointment.patient.escort_name)
                ),
            )
            if appointment.status == AppointmentStatus.MONITORING
            else []
        ),
    }
