"""Book one session: choose the patient, treatment, place and day, then one of the free
times found."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from ...clock import now
from ...errors import Invalid
from ...extensions import db
from ...models import Series
from ...patients import search_patients
from ...permissions import Permission
from ...scheduling import Slot, book_session, find_slots
from ...scheduling.plans import location_calendar, next_weekday
from ...setup import queries
from ..access import current_actor, require
from ..answers import INVALID_FORM, Refusal, attempt, show_refusal
from ..forms import SingleSessionForm
from ..formtools import options, parse_int
from . import bp
from .slots import (
    decode_slot,
    encode_slot,
    invitations_text,
    patient_or_404,
    quiet_slots,
    reminder_settings,
    scheduling_settings,
)

# How far the free-times search looks from the chosen day, and how many it shows.
SEARCH_DAYS = 2
SHOWN_SLOTS, SLOTS_PER_DAY = 12, 4


@bp.route("/sessions/new", methods=["GET", "POST"])
@require(Permission.BOOK)
def book_single() -> ResponseReturnValue:
    if parse_int(request.values.get("patient_id")) is None:
        query = (request.args.get("q") or "").strip()[:200]
        results = search_patients(db.session(), query=query) if query else []
        return render_template(
            "series/single.html", patient=None, query=query, results=results, form=None
        )
    patient = patient_or_404(request.values.get("patient_id"))
    form = SingleSessionForm(request.args) if request.method == "GET" else SingleSessionForm()
    form.treatment_type_id.choices = options(queries.treatment_type_choices(db.session()))
    form.location_id.choices = options(queries.location_choices(db.session()))
    if request.method == "GET" and request.args.get("location_id"):
        form.location_id.data = request.args["location_id"]
    # A make-up session joins the patient's series, with the series' treatment.
    series = _makeup_series(patient.id, request.values.get("series_id"))
    if series is not None:
        form.treatment_type_id.data = str(series.treatment_type_id)
    if not form.date.data:
        form.date.data = next_weekday(now().date()).isoformat()

    day_note: str | None = None

    def render(status: int = 200, slots: list[Any] | None = None) -> ResponseReturnValue:
        return render_template(
            "series/single.html",
            patient=patient,
            form=form,
            slots=slots,
            encode_slot=encode_slot,
            searched=slots is not None,
            day_note=day_note,
            series=series,
        ), status

    if request.method == "GET" and not request.args.get("find"):
        return render()
    # A search (GET) changes nothing and carries no CSRF token; only a booking is validated.
    if request.method == "POST" and not form.validate_on_submit():
        flash(INVALID_FORM, "error")
        return render(Invalid.status)
    problems = _missing_choices(form)
    if problems:
        show_refusal(form, Invalid(fields=problems))
        return render(Invalid.status)
    treatment_type_id = parse_int(form.treatment_type_id.data)
    location_id = parse_int(form.location_id.data)
    day = form.date.value
    assert treatment_type_id is not None and location_id is not None and day is not None
    # Say why the chosen day itself offers nothing, rather than silently showing later days.
    calendar = location_calendar(db.session(), location_id=location_id, now=now())
    day_note = calendar.closed_reason(day)
    if day_note is not None:
        if day < calendar.today:
            day = calendar.today
            day_note += " Free times from today on:"
        else:
            day_note += " Free times on the following days:"

    def free_slots() -> list[Slot]:
        return find_slots(
            db.session(),
            treatment_type_id=treatment_type_id,
            location_id=location_id,
            start_date=day,
            end_date=day + dt.timedelta(days=SEARCH_DAYS),
            now=now(),
            patient_id=patient.id,
            limit=SHOWN_SLOTS,
            per_day=SLOTS_PER_DAY,
            settings=scheduling_settings(),
        )

    if request.method == "GET":
        found = attempt(form, free_slots)
        if isinstance(found, Refusal):
            return render(found.status)
        return render(slots=found)
    choice = decode_slot(form.slot.data or request.form.get("slot_choice"))
    if choice is None:
        flash("Choose one of the free times.", "error")
        return render(Invalid.status, slots=quiet_slots(free_slots))
    booked = attempt(
        form,
        lambda: book_session(
            db.session(),
            patient_id=patient.id,
            treatment_type_id=treatment_type_id,
            location_id=location_id,
            starts_at=choice.starts_at,
            chair_id=choice.chair_id,
            monitor_id=choice.monitor_id,
            prescriber_id=choice.prescriber_id,
            actor=current_actor(),
            now=now(),
            reminders=reminder_settings(),
            settings=scheduling_settings(),
            series_id=series.id if series is not None else None,
        ),
    )
    if isinstance(booked, Refusal):
        return render(booked.status, slots=quiet_slots(free_slots))
    if series is not None:
        flash(
            f"Make-up session booked in {patient.full_name}'s series. {invitations_text(patient)}",
            "success",
        )
        return redirect(url_for("series.detail", series_id=series.id))
    flash(f"Session booked for {patient.full_name}. {invitations_text(patient)}", "success")
    return redirect(url_for("series.session_detail", appointment_id=booked.id))


def _makeup_series(patient_id: int, raw_id: str | None) -> Series | None:
    """The series a make-up session is for (404 unless it is this patient's), or None."""
    if not raw_id:
        return None
    series = db.session.get(Series, parse_int(raw_id) or 0)
    if series is None or series.patient_id != patient_id:
        abort(404)
    return series


def _missing_choices(form: SingleSessionForm) -> dict[str, str]:
    problems = {}
    if parse_int(form.treatment_type_id.data) is None:
        problems["treatment_type_id"] = "Choose the treatment."
    if parse_int(form.location_id.data) is None:
        problems["location_id"] = "Choose a location."
    if form.date.value is None:
        problems["date"] = "Choose a date (YYYY-MM-DD)."
    return problems
