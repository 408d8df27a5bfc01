"""Booking and the front-desk session actions.

The series wizard (patient → treatment and protocol or custom pattern → dates and
preferences → preview → confirm), single-session booking, the session page and its actions
(check in, start treatment, start monitoring, discharge, no-show, reschedule, cancel), and
the series page. Views parse the form, call one scheduling service, and turn a
``SchedulingError`` into a flash message and a 4xx answer that re-renders the page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.wrappers import Response

from ..extensions import db
from ..patients import get_patient, search_patients
from ..permissions import Permission
from ..scheduling import (
    NotFound,
    SchedulingError,
    SlotChoice,
    SlotTaken,
    book_series,
    book_session,
    cancel,
    find_slots,
    plan_custom,
    plan_from_protocol,
    plan_with_dates,
    preview_series,
    reschedule,
)
from ..scheduling import status as session_status
from ..scheduling.board import list_locations, load_series_detail, load_session_detail
from ..setup import queries
from ..setup.common import local_to_utc
from .access import current_actor, require
from .forms import (
    ActionForm,
    CancelForm,
    CheckInForm,
    DischargeForm,
    RescheduleForm,
    SeriesPlanForm,
    SingleSessionForm,
)
from .formtools import (
    apply_errors,
    options,
    parse_date_arg,
    parse_int,
    parse_local_datetime,
    parse_time,
    register_filters,
    safe_return_url,
)

bp = Blueprint("series", __name__)


@bp.record_once
def _setup(state: object) -> None:
    register_filters(state.app)  # type: ignore[attr-defined]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def error_status(error: SchedulingError) -> int:
    """409 when the world changed under the user (slot taken), 404 for a vanished record,
    422 for a request the rules refuse."""
    if isinstance(error, SlotTaken):
        return 409
    if isinstance(error, NotFound):
        return 404
    return 422


# --- the session page and its status actions ----------------------------------------------


@bp.route("/sessions/<int:appointment_id>")
@require(Permission.VIEW_SCHEDULE)
def session_detail(appointment_id: int) -> str:
    return _render_session(appointment_id)


def _render_session(
    appointment_id: int,
    *,
    status: int = 200,
    check_in_form: CheckInForm | None = None,
    discharge_form: DischargeForm | None = None,
) -> Any:
    detail = load_session_detail(db.session, appointment_id=appointment_id)
    if detail is None:
        abort(404)
    appointment = detail.appointment
    now = _now()
    tz = appointment.location.tz
    if check_in_form is None:
        check_in_form = CheckInForm(formdata=None)
        check_in_form.escort_name.data = appointment.escort_name or appointment.patient.escort_name
        check_in_form.escort_phone.data = (
            appointment.escort_phone or appointment.patient.escort_phone
        )
    if discharge_form is None:
        discharge_form = DischargeForm(formdata=None)
        discharge_form.escort_confirmed.data = appointment.escort_confirmed_at is not None
    return render_template(
        "series/session.html",
        detail=detail,
        appointment=appointment,
        tz=tz,
        now=now,
        is_today=now.astimezone(tz).date() == appointment.starts_at.astimezone(tz).date(),
        start_passed=now >= appointment.starts_at,
        check_in_form=check_in_form,
        discharge_form=discharge_form,
        board_url=url_for(
            "board.day",
            location=appointment.location_id,
            date=appointment.starts_at.astimezone(tz).date().isoformat(),
        ),
    ), status


def _after_action(appointment_id: int) -> Response:
    return redirect(
        safe_return_url(url_for("series.session_detail", appointment_id=appointment_id))
    )


def _run_action(
    appointment_id: int,
    action: Callable[..., Any],
    done: str,
    **arguments: Any,
) -> Any:
    """A status action whose form carries nothing but the CSRF token."""
    form = ActionForm()
    if not form.validate_on_submit():
        flash("That request could not be read; please try again.", "error")
        return _render_session(appointment_id, status=422)
    return _call_action(appointment_id, action, done, arguments)


def _call_action(
    appointment_id: int,
    action: Callable[..., Any],
    done: str,
    arguments: dict[str, Any],
    **render_forms: Any,
) -> Any:
    """Call one status service; a refusal re-renders the session page (with the submitted
    ``render_forms``) and changes nothing."""
    try:
        action(
            db.session,
            appointment_id=appointment_id,
            actor=current_actor(),
            now=_now(),
            **arguments,
        )
    except NotFound:
        db.session.rollback()
        abort(404)
    except SchedulingError as error:
        db.session.rollback()
        flash(error.message, "error")
        return _render_session(appointment_id, status=error_status(error), **render_forms)
    flash(done, "success")
    return _after_action(appointment_id)


@bp.route("/sessions/<int:appointment_id>/check-in", methods=["POST"])
@require(Permission.CHECK_IN)
def check_in(appointment_id: int) -> Any:
    form = CheckInForm()
    if not form.validate_on_submit():
        return _render_session(appointment_id, status=422, check_in_form=form)
    return _call_action(
        appointment_id,
        session_status.check_in,
        "Checked in.",
        {
            "escort_name": form.escort_name.data,
            "escort_phone": form.escort_phone.data,
            "escort_confirmed": bool(form.escort_confirmed.data),
        },
        check_in_form=form,
    )


@bp.route("/sessions/<int:appointment_id>/escort", methods=["POST"])
@require(Permission.CHECK_IN)
def confirm_escort(appointment_id: int) -> Any:
    form = CheckInForm()
    if not form.validate_on_submit():
        return _render_session(appointment_id, status=422, check_in_form=form)
    return _call_action(
        appointment_id,
        session_status.confirm_escort,
        "The escort is confirmed.",
        {"escort_name": form.escort_name.data, "escort_phone": form.escort_phone.data},
    )


@bp.route("/sessions/<int:appointment_id>/start-treatment", methods=["POST"])
@require(Permission.CLINICAL_STATUS)
def start_treatment(appointment_id: int) -> Any:
    return _run_action(appointment_id, session_status.start_treatment, "Treatment started.")


@bp.route("/sessions/<int:appointment_id>/start-monitoring", methods=["POST"])
@require(Permission.CLINICAL_STATUS)
def start_monitoring(appointment_id: int) -> Any:
    return _run_action(appointment_id, session_status.start_monitoring, "Monitoring started.")


@bp.route("/sessions/<int:appointment_id>/discharge", methods=["POST"])
@require(Permission.CLINICAL_STATUS)
def discharge(appointment_id: int) -> Any:
    form = DischargeForm()
    if not form.validate_on_submit():
        flash("The override reason may be at most 300 characters.", "error")
        return _render_session(appointment_id, status=422, discharge_form=form)
    return _call_action(
        appointment_id,
        session_status.discharge,
        "Discharged. Remind the patient not to drive today.",
        {
            "escort_confirmed": bool(form.escort_confirmed.data),
            "override_reason": form.override_reason.data,
        },
        discharge_form=form,
    )


@bp.route("/sessions/<int:appointment_id>/no-show", methods=["POST"])
@require(Permission.CHECK_IN)
def no_show(appointment_id: int) -> Any:
    return _run_action(appointment_id, session_status.mark_no_show, "Marked as a no-show.")


def _reminder_settings() -> Any:
    from ..notify import reminder_settings_from_config

    return reminder_settings_from_config(current_app.config)


def _scheduling_settings() -> Any:
    from ..scheduling import scheduling_settings_from_config

    return scheduling_settings_from_config(current_app.config)


# --- slots posted back from a preview -----------------------------------------------------


def encode_slot(slot: Any) -> str:
    """A preview's slot as a form value: start, chair, monitor and prescriber."""
    return "|".join(
        [
            slot.starts_at.astimezone(dt.UTC).isoformat(),
            str(slot.chair_id),
            str(slot.monitor_id),
            str(slot.prescriber_id or ""),
        ]
    )


def decode_slot(raw: str | None) -> SlotChoice | None:
    """The slot a form posted back, or None when the value is not one we produced."""
    parts = (raw or "").split("|")
    if len(parts) != 4:
        return None
    try:
        starts_at = dt.datetime.fromisoformat(parts[0])
        chair_id, monitor_id = int(parts[1]), int(parts[2])
        prescriber_id = int(parts[3]) if parts[3] else None
    except ValueError:
        return None
    if starts_at.tzinfo is None:
        return None
    return SlotChoice(
        starts_at=starts_at, chair_id=chair_id, monitor_id=monitor_id, prescriber_id=prescriber_id
    )


# --- the series wizard --------------------------------------------------------------------

WIZARD_STEPS = ("Patient", "Treatment and dates", "Preview", "Booked")


def _plan_form(form: SeriesPlanForm) -> tuple[SeriesPlanForm, list[Any]]:
    locations = queries.location_choices(db.session)
    protocols = queries.protocol_choices(db.session)
    form.location_id.choices = options(locations)
    form.protocol_id.choices = options(
        (p.id, f"{p.name} — {p.session_count} sessions ({p.treatment_name})") for p in protocols
    )
    form.treatment_type_id.choices = options(queries.treatment_type_choices(db.session))
    return form, protocols


def _patient_or_404(patient_id: int | None) -> Any:
    patient = get_patient(db.session, patient_id=patient_id) if patient_id else None
    if patient is None:
        abort(404)
    return patient


def _build_plan(form: SeriesPlanForm) -> tuple[Any | None, dict[str, str]]:
    """The SeriesPlan the form describes, or the problems with it (field → message)."""
    problems: dict[str, str] = {}
    location_id = parse_int(form.location_id.data)
    if location_id is None:
        problems["location_id"] = "Choose a location."
    first_date = parse_date_arg(form.first_date.data)
    if first_date is None:
        problems["first_date"] = "Choose the date of the first session (YYYY-MM-DD)."
    weekdays = [parse_int(day) for day in form.weekdays.data or []]
    if any(day is None for day in weekdays):
        problems["weekdays"] = "Tick weekdays from the list."
    preferred_start = parse_time(form.preferred_start.data)
    preferred_end = parse_time(form.preferred_end.data)
    if form.preferred_start.data and preferred_start is None:
        problems["preferred_start"] = "Enter a time as HH:MM, or leave it empty."
    if form.preferred_end.data and preferred_end is None:
        problems["preferred_end"] = "Enter a time as HH:MM, or leave it empty."
    mode = form.mode.data or "protocol"
    protocol_id = parse_int(form.protocol_id.data)
    treatment_type_id = parse_int(form.treatment_type_id.data)
    count = parse_int(form.count.data)
    spacing = parse_int(form.min_hours_between.data) if form.min_hours_between.data else 24
    if mode == "protocol" and protocol_id is None:
        problems["protocol_id"] = "Choose a protocol, or switch to a custom pattern."
    if mode == "custom":
        if treatment_type_id is None:
            problems["treatment_type_id"] = "Choose the treatment."
        if count is None:
            problems["count"] = "Enter how many sessions to book (1 to 60)."
        if spacing is None:
            problems["min_hours_between"] = "Enter a whole number of hours."
        if not weekdays:
            problems["weekdays"] = "Tick the weekdays for the sessions."
    if problems:
        return None, problems
    assert location_id is not None and first_date is not None
    days = [day for day in weekdays if day is not None]
    try:
        if mode == "protocol":
            assert protocol_id is not None
            plan = plan_from_protocol(
                db.session,
                protocol_id=protocol_id,
                location_id=location_id,
                first_date=first_date,
                weekdays=days,
                preferred_start=preferred_start,
                preferred_end=preferred_end,
            )
        else:
            assert treatment_type_id is not None and count is not None and spacing is not None
            plan = plan_custom(
                treatment_type_id=treatment_type_id,
                location_id=location_id,
                first_date=first_date,
                count=count,
                weekdays=days,
                min_hours_between=spacing,
                preferred_start=preferred_start,
                preferred_end=preferred_end,
            )
    except SchedulingError as error:
        return None, {"": error.message}
    return plan, {}


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
) -> tuple[str, int]:
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
def new() -> Any:
    patient_id = parse_int(request.values.get("patient_id"))
    if patient_id is None:
        query = (request.args.get("q") or "").strip()[:200]
        results = search_patients(db.session, query=query) if query else []
        return _render_wizard(step=1, query=query, results=results)
    patient = _patient_or_404(patient_id)
    form, protocols = _plan_form(SeriesPlanForm())
    if request.method == "GET":
        form.patient_id.data = str(patient.id)
        if form.location_id.choices and not form.location_id.data:
            form.location_id.data = form.location_id.choices[0].value
        form.first_date.data = form.first_date.data or _next_weekday(patient).isoformat()
        form.min_hours_between.data = "24"
        form.count.data = "6"
        return _render_wizard(step=2, patient=patient, form=form, protocols=protocols)
    if not form.validate_on_submit():
        flash("Please correct the highlighted fields.", "error")
        return _render_wizard(step=2, status=422, patient=patient, form=form, protocols=protocols)
    plan, problems = _build_plan(form)
    if plan is None:
        for message in apply_errors(form, problems):
            flash(message, "error")
        return _render_wizard(step=2, status=422, patient=patient, form=form, protocols=protocols)
    if request.form.get("action") == "confirm":
        return _confirm_series(patient, form, protocols, plan)
    return _preview(patient, form, protocols, plan)


def _next_weekday(patient: Any) -> dt.date:
    day = _now().date() + dt.timedelta(days=1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def _preview(
    patient: Any,
    form: SeriesPlanForm,
    protocols: list[Any],
    plan: Any,
    *,
    status: int = 200,
) -> tuple[str, int]:
    try:
        preview = preview_series(
            db.session,
            patient_id=patient.id,
            plan=plan,
            now=_now(),
            settings=_scheduling_settings(),
        )
    except SchedulingError as error:
        db.session.rollback()
        flash(error.message, "error")
        return _render_wizard(
            step=2, status=error_status(error), patient=patient, form=form, protocols=protocols
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


def _confirm_series(patient: Any, form: SeriesPlanForm, protocols: list[Any], plan: Any) -> Any:
    proposals = []
    for index in range(1, plan.count + 1):
        raw = request.form.get(f"choice_{index}", "")
        if raw == "skip":
            continue
        choice = decode_slot(raw)
        if choice is None:
            flash(f"Choose a time for session {index}, or leave it out of the series.", "error")
            return _preview(patient, form, protocols, plan, status=422)
        proposals.append(choice)
    if not proposals:
        flash("Every session was left out; there is nothing to book.", "error")
        return _preview(patient, form, protocols, plan, status=422)
    try:
        series = book_series(
            db.session,
            patient_id=patient.id,
            plan=plan_with_dates(
                plan, [p.starts_at.astimezone(_plan_tz(plan)).date() for p in proposals]
            ),
            actor=current_actor(),
            now=_now(),
            proposals=proposals,
            reminders=_reminder_settings(),
            settings=_scheduling_settings(),
        )
    except SchedulingError as error:
        db.session.rollback()
        flash(error.message, "error")
        detail = getattr(error, "detail", None)
        if detail:
            flash(detail, "info")
        # A fresh preview: the world changed since the last one.
        return _preview(patient, form, protocols, plan, status=error_status(error))
    flash(
        f"Booked {len(proposals)} session{'s' if len(proposals) != 1 else ''} for "
        f"{patient.full_name}. Invitations go out by email"
        + (" and text." if patient.can_receive_sms else "."),
        "success",
    )
    return redirect(url_for("series.detail", series_id=series.id))


def _plan_tz(plan: Any) -> Any:
    from zoneinfo import ZoneInfo

    for location_id, _name, timezone in list_locations(db.session):
        if location_id == plan.location_id:
            return ZoneInfo(timezone)
    return dt.UTC


@bp.route("/series/<int:series_id>")
@require(Permission.VIEW_SCHEDULE)
def detail(series_id: int) -> str:
    found = load_series_detail(db.session, series_id=series_id)
    if found is None:
        abort(404)
    return render_template("series/detail.html", detail=found, now=_now())


# --- a single session ---------------------------------------------------------------------


@bp.route("/sessions/new", methods=["GET", "POST"])
@require(Permission.BOOK)
def book_single() -> Any:
    patient_id = parse_int(request.values.get("patient_id"))
    if patient_id is None:
        query = (request.args.get("q") or "").strip()[:200]
        results = search_patients(db.session, query=query) if query else []
        return render_template(
            "series/single.html", patient=None, query=query, results=results, form=None
        )
    patient = _patient_or_404(patient_id)
    form = SingleSessionForm(request.args) if request.method == "GET" else SingleSessionForm()
    form.treatment_type_id.choices = options(queries.treatment_type_choices(db.session))
    form.location_id.choices = options(queries.location_choices(db.session))
    if request.method == "GET" and request.args.get("location_id"):
        form.location_id.data = request.args["location_id"]
    if not form.date.data:
        form.date.data = _next_weekday(patient).isoformat()

    def render(status: int = 200, slots: list[Any] | None = None) -> tuple[str, int]:
        return render_template(
            "series/single.html",
            patient=patient,
            form=form,
            slots=slots,
            encode_slot=encode_slot,
            searched=slots is not None,
        ), status

    if request.method == "GET" and not request.args.get("find"):
        return render()
    if request.method == "POST" and not form.validate_on_submit():
        flash("Please correct the highlighted fields.", "error")
        return render(422)
    treatment_type_id = parse_int(form.treatment_type_id.data)
    location_id = parse_int(form.location_id.data)
    day = parse_date_arg(form.date.data)
    problems = {}
    if treatment_type_id is None:
        problems["treatment_type_id"] = "Choose the treatment."
    if location_id is None:
        problems["location_id"] = "Choose a location."
    if day is None:
        problems["date"] = "Choose a date (YYYY-MM-DD)."
    if problems:
        for message in apply_errors(form, problems):
            flash(message, "error")
        return render(422)
    assert treatment_type_id is not None and location_id is not None and day is not None

    def free_slots() -> list[Any]:
        return find_slots(
            db.session,
            treatment_type_id=treatment_type_id,
            location_id=location_id,
            start_date=day,
            end_date=day + dt.timedelta(days=2),
            now=_now(),
            patient_id=patient.id,
            limit=12,
            per_day=4,
            settings=_scheduling_settings(),
        )

    if request.method == "GET":
        try:
            return render(slots=free_slots())
        except SchedulingError as error:
            db.session.rollback()
            flash(error.message, "error")
            return render(error_status(error))
    choice = decode_slot(form.slot.data or request.form.get("slot_choice"))
    if choice is None:
        flash("Choose one of the free times.", "error")
        return render(422, slots=_safe_slots(free_slots))
    try:
        appointment = book_session(
            db.session,
            patient_id=patient.id,
            treatment_type_id=treatment_type_id,
            location_id=location_id,
            starts_at=choice.starts_at,
            chair_id=choice.chair_id,
            monitor_id=choice.monitor_id,
            prescriber_id=choice.prescriber_id,
            actor=current_actor(),
            now=_now(),
            reminders=_reminder_settings(),
            settings=_scheduling_settings(),
        )
    except SchedulingError as error:
        db.session.rollback()
        flash(error.message, "error")
        return render(error_status(error), slots=_safe_slots(free_slots))
    flash(f"Session booked for {patient.full_name}.", "success")
    return redirect(url_for("series.session_detail", appointment_id=appointment.id))


def _safe_slots(search: Callable[[], list[Any]]) -> list[Any]:
    try:
        return search()
    except SchedulingError:
        db.session.rollback()
        return []


# --- reschedule and cancel ----------------------------------------------------------------


def _appointment_or_404(appointment_id: int) -> Any:
    found = load_session_detail(db.session, appointment_id=appointment_id)
    if found is None:
        abort(404)
    return found


@bp.route(
    "/sessions/<int:appointment_id>/reschedule", methods=["GET", "POST"], endpoint="reschedule"
)
@require(Permission.BOOK)
def reschedule_session(appointment_id: int) -> Any:
    detail_ = _appointment_or_404(appointment_id)
    appointment = detail_.appointment
    tz = appointment.location.tz
    current = appointment.starts_at.astimezone(tz)
    form = RescheduleForm()
    if request.method == "GET":
        form = RescheduleForm(formdata=None)
        form.new_date.data = request.args.get("date") or current.date().isoformat()
        form.new_time.data = current.strftime("%H:%M")
    slots: list[Any] = []
    suggest_day = parse_date_arg(form.new_date.data)
    if suggest_day is not None:
        slots = _safe_slots(
            lambda: find_slots(
                db.session,
                treatment_type_id=appointment.treatment_type_id,
                location_id=appointment.location_id,
                start_date=suggest_day,
                end_date=suggest_day,
                now=_now(),
                limit=8,
                per_day=8,
                settings=_scheduling_settings(),
            )
        )

    def render(status: int = 200) -> tuple[str, int]:
        return render_template(
            "series/reschedule.html",
            detail=detail_,
            appointment=appointment,
            form=form,
            tz=tz,
            current=current,
            slots=slots,
        ), status

    if request.method == "GET":
        return render()
    if not form.validate_on_submit():
        return render(422)
    new_start = parse_local_datetime(form.new_date.data, form.new_time.data)
    if new_start is None:
        form.new_date.errors = [*form.new_date.errors, "Enter a date (YYYY-MM-DD) and a time."]
        return render(422)
    try:
        moved = reschedule(
            db.session,
            appointment_id=appointment_id,
            new_starts_at=local_to_utc(new_start, tz),
            scope=form.scope.data or "one",
            actor=current_actor(),
            now=_now(),
            reminders=_reminder_settings(),
            settings=_scheduling_settings(),
        )
    except NotFound:
        db.session.rollback()
        abort(404)
    except SchedulingError as error:
        db.session.rollback()
        flash(error.message, "error")
        return render(error_status(error))
    count = len(moved)
    flash(
        f"Moved {count} session{'s' if count != 1 else ''}; the patient gets an updated "
        "invitation.",
        "success",
    )
    return redirect(url_for("series.session_detail", appointment_id=appointment_id))


@bp.route("/sessions/<int:appointment_id>/cancel", methods=["GET", "POST"], endpoint="cancel")
@require(Permission.BOOK)
def cancel_session(appointment_id: int) -> Any:
    detail_ = _appointment_or_404(appointment_id)
    appointment = detail_.appointment
    form = CancelForm()

    def render(status: int = 200) -> tuple[str, int]:
        return render_template(
            "series/cancel.html",
            detail=detail_,
            appointment=appointment,
            form=form,
            tz=appointment.location.tz,
        ), status

    if request.method == "GET":
        form = CancelForm(formdata=None)
        return render()
    if not form.validate_on_submit():
        return render(422)
    try:
        cancelled = cancel(
            db.session,
            appointment_id=appointment_id,
            scope=form.scope.data or "one",
            reason=form.reason.data or "",
            actor=current_actor(),
            now=_now(),
        )
    except NotFound:
        db.session.rollback()
        abort(404)
    except SchedulingError as error:
        db.session.rollback()
        flash(error.message, "error")
        return render(error_status(error))
    count = len(cancelled)
    flash(
        f"Cancelled {count} session{'s' if count != 1 else ''}; the patient is told.",
        "success",
    )
    return redirect(url_for("series.session_detail", appointment_id=appointment_id))
