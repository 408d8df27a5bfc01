"""The series wizard (patient → treatment and protocol or custom pattern → dates and
preferences → preview → confirm) and the series page. The plan itself (dates, defaults,
the location's time zone) is decided in ``clinic.scheduling.plans``."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from ...clock import now
from ...errors import Invalid
from ...extensions import db
from ...patients import search_patients
from ...permissions import Permission
from ...scheduling import SeriesPlan, SlotChoice, book_series, preview_series
from ...scheduling.board import load_series_detail
from ...scheduling.plans import (
    DEFAULT_SESSION_COUNT,
    DEFAULT_SPACING_HOURS,
    default_first_date,
    default_protocol_id,
    next_weekday,
    plan_for_starts,
    plan_series,
)
from ...setup import queries
from ..access import current_actor, require
from ..answers import INVALID_FORM, Refusal, attempt
from ..forms import SeriesPlanForm
from ..formtools import options, parse_int
from . import bp
from .slots import (
    decode_slot,
    encode_slot,
    invitations_text,
    patient_or_404,
    reminder_settings,
    scheduling_settings,
)

WIZARD_STEPS = ("Patient", "Treatment and dates", "Preview", "Booked")


def _plan_form(form: SeriesPlanForm, patient: Any) -> tuple[SeriesPlanForm, list[Any]]:
    session = db.session()
    protocols = list(queries.protocol_choices(session))
    enrolled = patient.rems_enrolled_on is not None
    form.location_id.choices = options(queries.location_choices(session))
    form.protocol_id.choices = options(
        (
            p.id,
            f"{p.name} — {p.session_count} sessions ({p.treatment_name})"
            + (" — needs REMS enrollment" if p.needs_rems and not enrolled else ""),
        )
        for p in protocols
    )
    form.treatment_type_id.choices = options(queries.treatment_type_choices(session))
    return form, protocols


def _render_wizard(
    *,
    step: int,
    status: int = 200,
    patient: Any = None,
    form: SeriesPlanForm | None = None,
    protocols: list[Any] | None = None,
    preview: Any = None,
    query: str = "",
    results: list[Any] | None = None,
    chosen: dict[int, str] | None = None,
) -> ResponseReturnValue:
    return render_template(
        "series/wizard.html",
        step=step,
        steps=WIZARD_STEPS,
        patient=patient,
        form=form,
        protocols=protocols or [],
        preview=preview,
        query=query,
        results=results or [],
        encode_slot=encode_slot,
        chosen=chosen or {},
    ), status


@bp.route("/series/new", methods=["GET", "POST"])
@require(Permission.BOOK)
def new() -> ResponseReturnValue:
    if parse_int(request.values.get("patient_id")) is None:
        query = (request.args.get("q") or "").strip()[:200]
        results = search_patients(db.session(), query=query) if query else []
        return _render_wizard(step=1, query=query, results=results)
    patient = patient_or_404(request.values.get("patient_id"))
    form, protocols = _plan_form(SeriesPlanForm(), patient)
    step2 = {"step": 2, "patient": patient, "form": form, "protocols": protocols}
    if request.method == "GET":
        form.patient_id.data = str(patient.id)
        if form.location_id.choices and not form.location_id.data:
            form.location_id.data = form.location_id.choices[0].value
        if not form.protocol_id.data:
            chosen = default_protocol_id(
                ((p.id, p.needs_rems) for p in protocols),
                rems_enrolled=patient.rems_enrolled_on is not None,
            )
            form.protocol_id.data = str(chosen) if chosen is not None else None
        location_id = parse_int(form.location_id.data)
        first = (
            default_first_date(db.session(), location_id=location_id, now=now())
            if location_id is not None
            else next_weekday(now().date())
        )
        form.first_date.data = form.first_date.data or first.isoformat()
        form.min_hours_between.data = str(DEFAULT_SPACING_HOURS)
        form.count.data = str(DEFAULT_SESSION_COUNT)
        return _render_wizard(**step2)
    if not form.validate_on_submit():
        flash(INVALID_FORM, "error")
        return _render_wizard(status=Invalid.status, **step2)
    plan = attempt(form, lambda: plan_series(db.session(), form.to_request(), now=now()))
    if isinstance(plan, Refusal):
        return _render_wizard(status=plan.status, **step2)
    if request.form.get("action") == "confirm":
        return _confirm_series(patient, form, protocols, plan)
    return _preview(patient, form, protocols, plan)


def _preview(
    patient: Any,
    form: SeriesPlanForm,
    protocols: list[Any],
    plan: SeriesPlan,
    *,
    status: int = 200,
) -> ResponseReturnValue:
    preview = attempt(
        form,
        lambda: preview_series(
            db.session(),
            patient_id=patient.id,
            plan=plan,
            now=now(),
            settings=scheduling_settings(),
        ),
    )
    if isinstance(preview, Refusal):
        return _render_wizard(
            step=2, status=preview.status, patient=patient, form=form, protocols=protocols
        )
    chosen = {}
    for proposed in preview.sessions:
        if proposed.slot is not None:
            chosen[proposed.index] = encode_slot(proposed.slot)
        elif proposed.alternatives:
            chosen[proposed.index] = encode_slot(proposed.alternatives[0])
        else:
            chosen[proposed.index] = "skip"
    return _render_wizard(
        step=3,
        status=status,
        patient=patient,
        form=form,
        protocols=protocols,
        preview=preview,
        chosen=chosen,
    )


def _chosen_slots(count: int) -> list[SlotChoice]:
    """The times the preview's radio buttons chose; "skip" leaves a session out."""
    proposals = []
    for index in range(1, count + 1):
        raw = request.form.get(f"choice_{index}", "")
        if raw == "skip":
            continue
        choice = decode_slot(raw)
        if choice is None:
            raise Invalid(f"Choose a time for session {index}, or leave it out of the series.")
        proposals.append(choice)
    if not proposals:
        raise Invalid("Every session was left out; there is nothing to book.")
    return proposals


def _confirm_series(
    patient: Any, form: SeriesPlanForm, protocols: list[Any], plan: SeriesPlan
) -> ResponseReturnValue:
    proposals = attempt(None, lambda: _chosen_slots(plan.count))
    if isinstance(proposals, Refusal):
        return _preview(patient, form, protocols, plan, status=proposals.status)
    series = attempt(
        None,
        lambda: book_series(
            db.session(),
            patient_id=patient.id,
            plan=plan_for_starts(db.session(), plan, [p.starts_at for p in proposals]),
            actor=current_actor(),
            now=now(),
            proposals=proposals,
            reminders=reminder_settings(),
            settings=scheduling_settings(),
        ),
    )
    if isinstance(series, Refusal):
        # A fresh preview: the world changed since the last one.
        return _preview(patient, form, protocols, plan, status=series.status)
    sessions = f"{len(proposals)} session{'s' if len(proposals) != 1 else ''}"
    flash(f"Booked {sessions} for {patient.full_name}. {invitations_text(patient)}", "success")
    return redirect(url_for("series.detail", series_id=series.id))


@bp.route("/series/<int:series_id>")
@require(Permission.VIEW_SCHEDULE)
def detail(series_id: int) -> ResponseReturnValue:
    found = load_series_detail(db.session(), series_id=series_id)
    if found is None:
        abort(404)
    return render_template("series/detail.html", detail=found, now=now())
