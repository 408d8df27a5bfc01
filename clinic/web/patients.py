"""Patients: search, register, edit, and the patient page (sessions, series, messages)."""

from __future__ import annotations

from dataclasses import replace

from flask import Blueprint, current_app, render_template, request, url_for
from flask.typing import ResponseReturnValue

from ..clock import now
from ..extensions import db
from ..models import Patient
from ..patients import (
    PossibleDuplicate,
    create_patient,
    get_patient,
    load_patient_record,
    patient_input_from,
    search_patients,
    update_patient,
)
from ..permissions import Permission
from .access import current_actor, require
from .answers import submit
from .forms import PatientForm
from .formtools import register_filters

bp = Blueprint("patients", __name__, url_prefix="/patients")


@bp.record_once
def _setup(state: object) -> None:
    register_filters(state.app)  # type: ignore[attr-defined]


def _phone_region() -> str:
    return str(current_app.config.get("PHONE_DEFAULT_REGION", "US"))


@bp.route("/")
@require(Permission.VIEW_PATIENTS)
def index() -> str:
    query = (request.args.get("q") or "").strip()[:200]
    results = search_patients(db.session(), query=query) if query else []
    return render_template("patients/index.html", query=query, results=results)


@bp.route("/new", methods=["GET", "POST"])
@require(Permission.EDIT_PATIENTS)
def new() -> ResponseReturnValue:
    form = PatientForm()
    # Filled when registering found the same name and date of birth: links to those records.
    duplicates: list[tuple[int, str, str]] = []

    def render() -> str:
        return render_template("patients/form.html", form=form, patient=None, duplicates=duplicates)

    def register() -> Patient:
        try:
            return create_patient(
                db.session(),
                # The form offers "active" only when editing: a new patient is active.
                data=replace(form.to_input(), active=True),
                actor=current_actor(),
                now=now(),
                region=_phone_region(),
                duplicate_check=not form.confirm_new_person.data,
            )
        except PossibleDuplicate as error:
            duplicates.extend(error.matches)
            raise

    if not form.is_submitted():
        if request.args.get("q"):
            _prefill_from_search(form, request.args["q"])
        return render()
    return submit(
        form,
        register,
        done=lambda patient: f"{patient.full_name} is registered.",
        redirect_to=lambda patient: (
            url_for("series.new", patient_id=patient.id)
            if request.form.get("then") == "book"
            else url_for("patients.detail", patient_id=patient.id)
        ),
        rerender=render,
    )


def _prefill_from_search(form: PatientForm, query: str) -> None:
    """A search that found nobody offers "register"; carry the typed name over."""
    words = [w for w in query.split() if not any(ch.isdigit() for ch in w)]
    if len(words) >= 2:
        form.given_name.data, form.family_name.data = words[0], " ".join(words[1:])
    elif words:
        form.family_name.data = words[0]


@bp.route("/<int:patient_id>")
@require(Permission.VIEW_PATIENTS)
def detail(patient_id: int) -> str:
    current = now()
    # A patient that does not exist is a NotFound: the app-wide handler answers 404.
    record = load_patient_record(
        db.session(), patient_id=patient_id, actor=current_actor(), now=current
    )
    token = record.patient.calendar_token
    feed_available = "calendar.feed" in current_app.view_functions
    feed_url = (
        url_for("calendar.feed", token=token, _external=True) if token and feed_available else None
    )
    return render_template(
        "patients/detail.html",
        record=record,
        patient=record.patient,
        feed_url=feed_url,
        feed_available=feed_available,
        now=current,
    )


@bp.route("/<int:patient_id>/edit", methods=["GET", "POST"])
@require(Permission.EDIT_PATIENTS)
def edit(patient_id: int) -> ResponseReturnValue:
    patient = get_patient(db.session(), patient_id=patient_id)
    form = PatientForm()

    def render() -> str:
        return render_template("patients/form.html", form=form, patient=patient)

    if not form.is_submitted():
        form.fill(patient_input_from(patient))
        return render()
    return submit(
        form,
        lambda: update_patient(
            db.session(),
            patient_id=patient_id,
            data=form.to_input(),
            actor=current_actor(),
            now=now(),
            region=_phone_region(),
        ),
        done="The patient record is saved.",
        redirect_to=lambda _: url_for("patients.detail", patient_id=patient_id),
        rerender=render,
    )
