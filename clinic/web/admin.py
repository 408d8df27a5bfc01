"""Admin pages: locations (hours, closures, chairs, out-of-service blocks), staff
(certifications, weekly shifts, time off), treatment types, protocols, users and roles."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from .. import setup
from ..extensions import db
from ..models import CERTIFICATION_WARNING_DAYS, Certification, Chair
from ..permissions import Permission
from ..setup import queries
from .access import current_actor, require
from .admin_forms import (
    CertificationForm,
    ChairForm,
    ClosureForm,
    DeleteForm,
    EditUserForm,
    LocationForm,
    NewUserForm,
    OpeningHoursForm,
    PasswordForm,
    ProtocolForm,
    ShiftTemplateForm,
    StaffForm,
    TreatmentTypeForm,
    WindowForm,
)
from .formtools import (
    apply_errors,
    options,
    parse_date_arg,
    parse_int,
    parse_local_datetime,
    parse_time,
    register_filters,
)

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.record_once
def _setup(state: object) -> None:
    register_filters(state.app)  # type: ignore[attr-defined]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _attempt(
    form: FlaskForm,
    change: Callable[[], Any],
    *,
    done: str,
    redirect_to: Callable[[Any], str],
    rerender: Callable[[], Any],
) -> Any:
    """Validate the form, run one set-up service, and answer: redirect, or the page again
    with the messages next to their fields and a 422."""
    if not form.validate_on_submit():
        flash("Please correct the highlighted fields.", "error")
        return rerender(), 422
    try:
        result = change()
    except setup.SetupNotFound:
        db.session.rollback()
        abort(404)
    except setup.SetupError as error:
        db.session.rollback()
        for message in [error.message, *apply_errors(form, error.fields)]:
            flash(message, "error")
        return rerender(), 422
    flash(done, "success")
    return redirect(redirect_to(result))


def _delete(
    change: Callable[[], int], *, done: str, redirect_to: Callable[[int], str], fallback: str
) -> Response:
    """Run a remove service (it returns the parent's id) and go back to the parent's page."""
    form = DeleteForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        parent_id = change()
    except setup.SetupNotFound:
        db.session.rollback()
        abort(404)
    except setup.SetupError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(fallback)
    flash(done, "success")
    return redirect(redirect_to(parent_id))


def _choices(pairs: list[tuple[int, str]], *, blank: str | None = None) -> list[Any]:
    return options(pairs, blank=blank)


# --- overview -----------------------------------------------------------------------------


@bp.route("/")
@require(Permission.CONFIGURE)
def index() -> str:
    today = _now().date()
    return render_template(
        "admin/index.html", overview=queries.overview(db.session, today=today), today=today
    )


# --- locations, hours, closures, chairs ---------------------------------------------------


def _location_form(form: LocationForm) -> LocationForm:
    form.timezone.choices = options((name, name) for name in queries.timezone_names())
    return form


def _location_input(form: LocationForm) -> setup.LocationInput:
    return setup.LocationInput(
        name=form.name.data or "",
        timezone=form.timezone.data or "",
        address=form.address.data or "",
        phone=form.phone.data or None,
        email=form.email.data or None,
        active=bool(form.active.data),
    )


@bp.route("/locations", methods=["GET", "POST"])
@require(Permission.CONFIGURE)
def locations() -> Any:
    form = _location_form(LocationForm())
    if not form.is_submitted():
        form.timezone.data = "America/New_York"

    def render() -> str:
        return render_template(
            "admin/locations.html", locations=queries.all_locations(db.session), form=form
        )

    if not form.is_submitted():
        return render()
    return _attempt(
        form,
        lambda: setup.save_location(
            db.session, location_id=None, data=_location_input(form), actor=current_actor()
        ),
        done="Location added. Now set its opening hours and chairs.",
        redirect_to=lambda location: url_for("admin.location", location_id=location.id),
        rerender=render,
    )


def _location_page(location_id: int, **forms: FlaskForm) -> str:
    now = _now()
    page = queries.location_page(db.session, location_id=location_id, today=now.date())
    if page is None:
        abort(404)
    location = page.location
    edit_form = forms.get("edit_form") or _location_form(LocationForm(formdata=None, obj=location))
    hours_form = forms.get("hours_form") or OpeningHoursForm(formdata=None)
    if "hours_form" not in forms:
        seen: dict[int, int] = {}
        for hours in location.opening_hours:
            part = seen[hours.weekday] = seen.get(hours.weekday, 0) + 1
            if part <= 2:
                hours_form[f"d{hours.weekday}_opens{part}"].data = hours.opens.strftime("%H:%M")
                hours_form[f"d{hours.weekday}_closes{part}"].data = hours.closes.strftime("%H:%M")
    return render_template(
        "admin/location.html",
        page=page,
        location=location,
        edit_form=edit_form,
        hours_form=hours_form,
        closure_form=forms.get("closure_form") or ClosureForm(formdata=None),
        chair_form=forms.get("chair_form") or ChairForm(formdata=None, capabilities=["iv"]),
        delete_form=DeleteForm(formdata=None),
    )


@bp.route("/locations/<int:location_id>", methods=["GET", "POST"])
@require(Permission.CONFIGURE)
def location(location_id: int) -> Any:
    form = _location_form(LocationForm())
    if not form.is_submitted():
        return _location_page(location_id)
    return _attempt(
        form,
        lambda: setup.save_location(
            db.session, location_id=location_id, data=_location_input(form), actor=current_actor()
        ),
        done="Location saved.",
        redirect_to=lambda _: url_for("admin.location", location_id=location_id),
        rerender=lambda: _location_page(location_id, edit_form=form),
    )


@bp.route("/locations/<int:location_id>/hours", methods=["POST"])
@require(Permission.CONFIGURE)
def opening_hours(location_id: int) -> Any:
    form = OpeningHoursForm()
    intervals: list[setup.OpeningInterval] = []
    problems: dict[str, str] = {}
    for weekday in range(7):
        for part in (1, 2):
            opens_field = form[f"d{weekday}_opens{part}"]
            closes_field = form[f"d{weekday}_closes{part}"]
            raw_opens, raw_closes = opens_field.data or "", closes_field.data or ""
            if not raw_opens.strip() and not raw_closes.strip():
                continue
            opens, closes = parse_time(raw_opens), parse_time(raw_closes)
            if opens is None or closes is None:
                bad = opens_field if opens is None else closes_field
                problems[bad.name] = "Enter a time as HH:MM, or leave both times empty."
                continue
            intervals.append(setup.OpeningInterval(weekday=weekday, opens=opens, closes=closes))

    def change() -> Any:
        if problems:
            raise setup.SetupError(problems)
        return setup.set_opening_hours(
            db.session, location_id=location_id, intervals=intervals, actor=current_actor()
        )

    return _attempt(
        form,
        change,
        done="Opening hours saved.",
        redirect_to=lambda _: url_for("admin.location", location_id=location_id) + "#hours",
        rerender=lambda: _location_page(location_id, hours_form=form),
    )


@bp.route("/locations/<int:location_id>/closures", methods=["POST"])
@require(Permission.CONFIGURE)
def add_closure(location_id: int) -> Any:
    form = ClosureForm()

    def change() -> Any:
        day = parse_date_arg(form.date.data)
        if form.date.data and day is None:
            raise setup.SetupError({"date": "Enter the date as YYYY-MM-DD."})
        return setup.add_closure(
            db.session,
            location_id=location_id,
            date=day,
            reason=form.reason.data or "",
            actor=current_actor(),
            now=_now(),
        )

    return _attempt(
        form,
        change,
        done="Closure added.",
        redirect_to=lambda _: url_for("admin.location", location_id=location_id) + "#closures",
        rerender=lambda: _location_page(location_id, closure_form=form),
    )


@bp.route("/closures/<int:closure_id>/delete", methods=["POST"])
@require(Permission.CONFIGURE)
def delete_closure(closure_id: int) -> Response:
    return _delete(
        lambda: setup.remove_closure(db.session, closure_id=closure_id, actor=current_actor()),
        done="Closure removed; the location is open that day.",
        redirect_to=lambda location_id: (
            url_for("admin.location", location_id=location_id) + "#closures"
        ),
        fallback=url_for("admin.index"),
    )


@bp.route("/locations/<int:location_id>/chairs", methods=["POST"])
@require(Permission.CONFIGURE)
def add_chair(location_id: int) -> Any:
    form = ChairForm()
    return _attempt(
        form,
        lambda: setup.save_chair(
            db.session,
            chair_id=None,
            location_id=location_id,
            label=form.label.data or "",
            capabilities=form.capabilities.data or [],
            active=bool(form.active.data),
            actor=current_actor(),
        ),
        done="Chair added.",
        redirect_to=lambda _: url_for("admin.location", location_id=location_id) + "#chairs",
        rerender=lambda: _location_page(location_id, chair_form=form),
    )


def _chair_page(chair_id: int, **forms: FlaskForm) -> str:
    page = queries.chair_page(db.session, chair_id=chair_id, now=_now())
    if page is None:
        abort(404)
    return render_template(
        "admin/chair.html",
        page=page,
        chair=page.chair,
        tz=ZoneInfo(page.chair.location.timezone),
        form=forms.get("form") or ChairForm(formdata=None, obj=page.chair),
        block_form=forms.get("block_form") or WindowForm(formdata=None),
        delete_form=DeleteForm(formdata=None),
    )


@bp.route("/chairs/<int:chair_id>", methods=["GET", "POST"])
@require(Permission.CONFIGURE)
def chair(chair_id: int) -> Any:
    form = ChairForm()
    if not form.is_submitted():
        return _chair_page(chair_id)
    existing = db.session.get(Chair, chair_id)
    if existing is None:
        abort(404)
    location_id = existing.location_id
    return _attempt(
        form,
        lambda: setup.save_chair(
            db.session,
            chair_id=chair_id,
            location_id=location_id,
            label=form.label.data or "",
            capabilities=form.capabilities.data or [],
            active=bool(form.active.data),
            actor=current_actor(),
        ),
        done="Chair saved.",
        redirect_to=lambda _: url_for("admin.chair", chair_id=chair_id),
        rerender=lambda: _chair_page(chair_id, form=form),
    )


WINDOW_FIELDS = {"starts_at": "start_date", "ends_at": "end_date"}


def _window_errors(error: setup.SetupError) -> setup.SetupError:
    """The services name ``starts_at``/``ends_at``; the form has date and time inputs."""
    fields = {WINDOW_FIELDS.get(k, k): v for k, v in error.fields.items()}
    return setup.SetupError({**fields, "": error.message})


def _window(form: WindowForm) -> tuple[dt.datetime | None, dt.datetime | None, dict[str, str]]:
    problems = {}
    start = parse_local_datetime(form.start_date.data, form.start_time.data or "00:00")
    end = parse_local_datetime(form.end_date.data, form.end_time.data or "23:59")
    if form.start_date.data and start is None:
        problems["start_date"] = "Enter the date as YYYY-MM-DD and the time as HH:MM."
    if form.end_date.data and end is None:
        problems["end_date"] = "Enter the date as YYYY-MM-DD and the time as HH:MM."
    if not form.start_date.data:
        problems["start_date"] = "Enter the first day."
    if not form.end_date.data:
        problems["end_date"] = "Enter the last day."
    return start, end, problems


@bp.route("/chairs/<int:chair_id>/blocks", methods=["POST"])
@require(Permission.CONFIGURE)
def add_chair_block(chair_id: int) -> Any:
    form = WindowForm()

    def change() -> Any:
        start, end, problems = _window(form)
        if problems:
            raise setup.SetupError(problems)
        try:
            return setup.add_chair_block(
                db.session,
                chair_id=chair_id,
                starts_at=start,
                ends_at=end,
                reason=form.reason.data or "",
                actor=current_actor(),
                now=_now(),
            )
        except setup.SetupError as error:
            raise _window_errors(error) from error

    return _attempt(
        form,
        change,
        done="The chair is out of service for that time.",
        redirect_to=lambda _: url_for("admin.chair", chair_id=chair_id),
        rerender=lambda: _chair_page(chair_id, block_form=form),
    )


@bp.route("/chair-blocks/<int:block_id>/delete", methods=["POST"])
@require(Permission.CONFIGURE)
def delete_chair_block(block_id: int) -> Response:
    return _delete(
        lambda: setup.remove_chair_block(db.session, block_id=block_id, actor=current_actor()),
        done="The chair is back in service for that time.",
        redirect_to=lambda chair_id: url_for("admin.chair", chair_id=chair_id),
        fallback=url_for("admin.index"),
    )


# --- staff --------------------------------------------------------------------------------


@bp.route("/staff", methods=["GET", "POST"])
@require(Permission.CONFIGURE)
def staff() -> Any:
    form = StaffForm()
    today = _now().date()

    def render() -> str:
        return render_template(
            "admin/staff_list.html",
            staff=queries.all_staff(db.session),
            form=form,
            today=today,
            warn_until=today + dt.timedelta(days=CERTIFICATION_WARNING_DAYS),
        )

    if not form.is_submitted():
        return render()
    return _attempt(
        form,
        lambda: setup.save_staff(
            db.session,
            staff_id=None,
            name=form.name.data or "",
            email=form.email.data or None,
            role=form.role.data or "",
            active=bool(form.active.data),
            actor=current_actor(),
        ),
        done="Staff member added. Now add their certifications and weekly shifts.",
        redirect_to=lambda member: url_for("admin.staff_member", staff_id=member.id),
        rerender=render,
    )


def _staff_page(staff_id: int, **forms: FlaskForm) -> str:
    now = _now()
    page = queries.staff_page(db.session, staff_id=staff_id, now=now)
    if page is None:
        abort(404)
    shift_form = forms.get("shift_form") or ShiftTemplateForm(formdata=None)
    shift_form.location_id.choices = _choices(queries.location_choices(db.session))
    if "shift_form" not in forms:
        shift_form.effective_from.data = now.date().isoformat()
    edit_form = forms.get("edit_form") or StaffForm(formdata=None, obj=page.member)
    if "edit_form" not in forms:
        edit_form.role.data = page.member.role.value
    return render_template(
        "admin/staff.html",
        page=page,
        member=page.member,
        edit_form=edit_form,
        certification_form=forms.get("certification_form") or CertificationForm(formdata=None),
        shift_form=shift_form,
        time_off_form=forms.get("time_off_form") or WindowForm(formdata=None),
        delete_form=DeleteForm(formdata=None),
        today=now.date(),
        warn_until=now.date() + dt.timedelta(days=CERTIFICATION_WARNING_DAYS),
        tz=setup.staff_timezone(db.session, staff_id),
        weekdays=setup.WEEKDAYS,
    )


@bp.route("/staff/<int:staff_id>", methods=["GET", "POST"])
@require(Permission.CONFIGURE)
def staff_member(staff_id: int) -> Any:
    form = StaffForm()
    if not form.is_submitted():
        return _staff_page(staff_id)
    return _attempt(
        form,
        lambda: setup.save_staff(
            db.session,
            staff_id=staff_id,
            name=form.name.data or "",
            email=form.email.data or None,
            role=form.role.data or "",
            active=bool(form.active.data),
            actor=current_actor(),
        ),
        done="Staff member saved.",
        redirect_to=lambda _: url_for("admin.staff_member", staff_id=staff_id),
        rerender=lambda: _staff_page(staff_id, edit_form=form),
    )


def _certification_change(
    form: CertificationForm, *, staff_id: int, certification_id: int | None
) -> Callable[[], Any]:
    def change() -> Any:
        problems = {}
        valid_from = parse_date_arg(form.valid_from.data)
        expires_on = parse_date_arg(form.expires_on.data)
        for name, raw, parsed in (
            ("valid_from", form.valid_from.data, valid_from),
            ("expires_on", form.expires_on.data, expires_on),
        ):
            if raw and parsed is None:
                problems[name] = "Enter the date as YYYY-MM-DD."
        if problems:
            raise setup.SetupError(problems)
        return setup.save_certification(
            db.session,
            certification_id=certification_id,
            staff_id=staff_id,
            kind=form.kind.data or "",
            number=form.number.data or "",
            valid_from=valid_from,
            expires_on=expires_on,
            actor=current_actor(),
        )

    return change


@bp.route("/staff/<int:staff_id>/certifications", methods=["POST"])
@require(Permission.CONFIGURE)
def add_certification(staff_id: int) -> Any:
    form = CertificationForm()
    return _attempt(
        form,
        _certification_change(form, staff_id=staff_id, certification_id=None),
        done="Certification added.",
        redirect_to=lambda _: url_for("admin.staff_member", staff_id=staff_id) + "#certifications",
        rerender=lambda: _staff_page(staff_id, certification_form=form),
    )


@bp.route("/certifications/<int:certification_id>", methods=["GET", "POST"])
@require(Permission.CONFIGURE)
def certification(certification_id: int) -> Any:
    existing = db.session.get(Certification, certification_id)
    if existing is None:
        abort(404)
    staff_id = existing.staff_id
    form = CertificationForm()

    def render() -> str:
        return render_template("admin/certification.html", certification=existing, form=form)

    if not form.is_submitted():
        form = CertificationForm(formdata=None, obj=existing)
        form.valid_from.data = existing.valid_from.isoformat()
        form.expires_on.data = existing.expires_on.isoformat()
        return render()
    return _attempt(
        form,
        _certification_change(form, staff_id=staff_id, certification_id=certification_id),
        done="Certification saved.",
        redirect_to=lambda _: url_for("admin.staff_member", staff_id=staff_id) + "#certifications",
        rerender=render,
    )


@bp.route("/certifications/<int:certification_id>/delete", methods=["POST"])
@require(Permission.CONFIGURE)
def delete_certification(certification_id: int) -> Response:
    return _delete(
        lambda: setup.remove_certification(
            db.session, certification_id=certification_id, actor=current_actor()
        ),
        done="Certification removed.",
        redirect_to=lambda staff_id: (
            url_for("admin.staff_member", staff_id=staff_id) + "#certifications"
        ),
        fallback=url_for("admin.index"),
    )


@bp.route("/staff/<int:staff_id>/shifts", methods=["POST"])
@require(Permission.CONFIGURE)
def add_shift(staff_id: int) -> Any:
    form = ShiftTemplateForm()
    form.location_id.choices = _choices(queries.location_choices(db.session))

    def change() -> Any:
        problems = {}
        starts, ends = parse_time(form.starts.data), parse_time(form.ends.data)
        effective_from = parse_date_arg(form.effective_from.data)
        effective_until = parse_date_arg(form.effective_until.data)
        for name, raw, parsed, text in (
            ("starts", form.starts.data, starts, "Enter the time as HH:MM."),
            ("ends", form.ends.data, ends, "Enter the time as HH:MM."),
            ("effective_from", form.effective_from.data, effective_from, "Use YYYY-MM-DD."),
            ("effective_until", form.effective_until.data, effective_until, "Use YYYY-MM-DD."),
        ):
            if raw and parsed is None:
                problems[name] = text
        location_id = parse_int(form.location_id.data)
        if location_id is None:
            problems["location_id"] = "Choose a location."
        if problems:
            raise setup.SetupError(problems)
        assert location_id is not None
        return setup.add_shift_template(
            db.session,
            staff_id=staff_id,
            location_id=location_id,
            weekday=parse_int(form.weekday.data),
            starts=starts,
            ends=ends,
            effective_from=effective_from,
            effective_until=effective_until,
            actor=current_actor(),
            now=_now(),
        )

    return _attempt(
        form,
        change,
        done="Weekly shift added; its shifts for the coming months are in the schedule.",
        redirect_to=lambda _: url_for("admin.staff_member", staff_id=staff_id) + "#shifts",
        rerender=lambda: _staff_page(staff_id, shift_form=form),
    )


@bp.route("/shift-templates/<int:template_id>/delete", methods=["POST"])
@require(Permission.CONFIGURE)
def delete_shift(template_id: int) -> Response:
    return _delete(
        lambda: setup.remove_shift_template(
            db.session, template_id=template_id, actor=current_actor(), now=_now()
        ),
        done="Weekly shift removed, with its future shifts.",
        redirect_to=lambda staff_id: url_for("admin.staff_member", staff_id=staff_id) + "#shifts",
        fallback=url_for("admin.index"),
    )


@bp.route("/staff/<int:staff_id>/time-off", methods=["POST"])
@require(Permission.CONFIGURE)
def add_time_off(staff_id: int) -> Any:
    form = WindowForm()

    def change() -> Any:
        start, end, problems = _window(form)
        if problems:
            raise setup.SetupError(problems)
        try:
            return setup.add_time_off(
                db.session,
                staff_id=staff_id,
                starts_at=start,
                ends_at=end,
                reason=form.reason.data or "",
                actor=current_actor(),
            )
        except setup.SetupError as error:
            raise _window_errors(error) from error

    return _attempt(
        form,
        change,
        done="Time off recorded.",
        redirect_to=lambda _: url_for("admin.staff_member", staff_id=staff_id) + "#time-off",
        rerender=lambda: _staff_page(staff_id, time_off_form=form),
    )


@bp.route("/time-off/<int:time_off_id>/delete", methods=["POST"])
@require(Permission.CONFIGURE)
def delete_time_off(time_off_id: int) -> Response:
    return _delete(
        lambda: setup.remove_time_off(db.session, time_off_id=time_off_id, actor=current_actor()),
        done="Time off removed.",
        redirect_to=lambda staff_id: url_for("admin.staff_member", staff_id=staff_id) + "#time-off",
        fallback=url_for("admin.index"),
    )


# --- treatment types and protocols --------------------------------------------------------


def _treatment_input(form: TreatmentTypeForm) -> setup.TreatmentTypeInput:
    return setup.TreatmentTypeInput(
        name=form.name.data or "",
        route=form.route.data or "",
        prep_minutes=parse_int(form.prep_minutes.data),
        treatment_minutes=parse_int(form.treatment_minutes.data),
        monitoring_minutes=parse_int(form.monitoring_minutes.data),
        turnover_minutes=parse_int(form.turnover_minutes.data),
        chair_capability=form.chair_capability.data or "",
        required_certifications=form.required_certifications.data or "",
        max_patients_per_monitor=parse_int(form.max_patients_per_monitor.data),
        needs_prescriber_on_site=bool(form.needs_prescriber_on_site.data),
        needs_rems_enrollment=bool(form.needs_rems_enrollment.data),
        needs_escort=bool(form.needs_escort.data),
        patient_notice=form.patient_notice.data or "",
        active=bool(form.active.data),
    )


@bp.route("/treatment-types", methods=["GET", "POST"])
@require(Permission.CONFIGURE)
def treatment_types() -> Any:
    form = TreatmentTypeForm()
    if not form.is_submitted():
        form.prep_minutes.data, form.turnover_minutes.data = "15", "15"
        form.max_patients_per_monitor.data = "1"

    def render() -> str:
        return render_template(
            "admin/treatment_types.html",
            treatment_types=queries.all_treatment_types(db.session),
            form=form,
            editing=None,
        )

    if not form.is_submitted():
        return render()
    return _attempt(
        form,
        lambda: setup.save_treatment_type(
            db.session, treatment_type_id=None, data=_treatment_input(form), actor=current_actor()
        ),
        done="Treatment type added.",
        redirect_to=lambda _: url_for("admin.treatment_types"),
        rerender=render,
    )


@bp.route("/treatment-types/<int:treatment_type_id>", methods=["GET", "POST"])
@require(Permission.CONFIGURE)
def treatment_type(treatment_type_id: int) -> Any:
    from ..models import TreatmentType

    existing = db.session.get(TreatmentType, treatment_type_id)
    if existing is None:
        abort(404)
    form = TreatmentTypeForm()
    if not form.is_submitted():
        form = TreatmentTypeForm(formdata=None, obj=existing)
        form.route.data = existing.route.value
        form.required_certifications.data = ", ".join(existing.required_certifications)
        for name in (
            "prep_minutes",
            "treatment_minutes",
            "monitoring_minutes",
            "turnover_minutes",
            "max_patients_per_monitor",
        ):
            form[name].data = str(getattr(existing, name))

    def render() -> str:
        return render_template("admin/treatment_type.html", form=form, editing=existing)

    if not form.is_submitted():
        return render()
    return _attempt(
        form,
        lambda: setup.save_treatment_type(
            db.session,
            treatment_type_id=treatment_type_id,
            data=_treatment_input(form),
            actor=current_actor(),
        ),
        done="Treatment type saved.",
        redirect_to=lambda _: url_for("admin.treatment_types"),
        rerender=render,
    )


def _protocol_form(form: ProtocolForm) -> ProtocolForm:
    form.treatment_type_id.choices = _choices(
        queries.treatment_type_choices(db.session), blank="Choose…"
    )
    return form


def _protocol_input(form: ProtocolForm) -> tuple[setup.ProtocolInput, dict[str, str]]:
    problems: dict[str, str] = {}
    phases = []
    for number in (1, 2, 3):
        raw_sessions = form[f"phase{number}_sessions"].data or ""
        raw_per_week = form[f"phase{number}_per_week"].data or ""
        if not raw_sessions.strip() and not raw_per_week.strip():
            continue
        sessions, per_week = parse_int(raw_sessions), parse_int(raw_per_week)
        if sessions is None or per_week is None:
            problems[f"phase{number}_sessions"] = (
                "Give both the number of sessions and the sessions per week, as whole numbers."
            )
            continue
        phases.append(setup.ProtocolPhase(sessions=sessions, sessions_per_week=per_week))
    max_span = parse_int(form.max_span_days.data)
    if (form.max_span_days.data or "").strip() and max_span is None:
        problems["max_span_days"] = "Enter a whole number of days, or leave it empty."
    data = setup.ProtocolInput(
        name=form.name.data or "",
        treatment_type_id=parse_int(form.treatment_type_id.data),
        phases=phases,
        min_hours_between=parse_int(form.min_hours_between.data),
        max_span_days=max_span,
        description=form.description.data or "",
        active=bool(form.active.data),
    )
    return data, problems


def _save_protocol(form: ProtocolForm, protocol_id: int | None) -> Callable[[], Any]:
    def change() -> Any:
        data, problems = _protocol_input(form)
        if problems:
            raise setup.SetupError(problems)
        try:
            return setup.save_protocol(
                db.session, protocol_id=protocol_id, data=data, actor=current_actor()
            )
        except setup.SetupError as error:
            # The service reports phase problems as "phases"; show them by the first phase.
            if "phases" in error.fields:
                error.fields["phase1_sessions"] = error.fields.pop("phases")
            raise

    return change


@bp.route("/protocols", methods=["GET", "POST"])
@require(Permission.CONFIGURE)
def protocols() -> Any:
    form = _protocol_form(ProtocolForm())
    if not form.is_submitted():
        form.min_hours_between.data = "24"

    def render() -> str:
        return render_template(
            "admin/protocols.html", protocols=queries.all_protocols(db.session), form=form
        )

    if not form.is_submitted():
        return render()
    return _attempt(
        form,
        _save_protocol(form, None),
        done="Protocol added.",
        redirect_to=lambda _: url_for("admin.protocols"),
        rerender=render,
    )


@bp.route("/protocols/<int:protocol_id>", methods=["GET", "POST"])
@require(Permission.CONFIGURE)
def protocol(protocol_id: int) -> Any:
    from ..models import Protocol

    existing = db.session.get(Protocol, protocol_id)
    if existing is None:
        abort(404)
    form = _protocol_form(ProtocolForm())
    if not form.is_submitted():
        form = _protocol_form(ProtocolForm(formdata=None, obj=existing))
        form.treatment_type_id.data = str(existing.treatment_type_id)
        form.min_hours_between.data = str(existing.min_hours_between)
        form.max_span_days.data = str(existing.max_span_days or "")
        for number, phase in enumerate(existing.phases[:3], start=1):
            form[f"phase{number}_sessions"].data = str(phase.get("sessions", ""))
            form[f"phase{number}_per_week"].data = str(phase.get("sessions_per_week", ""))

    def render() -> str:
        return render_template("admin/protocol.html", form=form, editing=existing)

    if not form.is_submitted():
        return render()
    return _attempt(
        form,
        _save_protocol(form, protocol_id),
        done="Protocol saved.",
        redirect_to=lambda _: url_for("admin.protocols"),
        rerender=render,
    )


# --- users --------------------------------------------------------------------------------


@bp.route("/users", methods=["GET", "POST"])
@require(Permission.MANAGE_USERS)
def users() -> Any:
    form = NewUserForm()
    form.staff_id.choices = _choices(queries.staff_choices(db.session), blank="— none —")

    def render() -> str:
        return render_template("admin/users.html", users=queries.all_users(db.session), form=form)

    if not form.is_submitted():
        return render()
    return _attempt(
        form,
        lambda: setup.create_user_account(
            db.session,
            username=form.username.data or "",
            role=form.role.data or "",
            password=form.password.data or "",
            staff_id=parse_int(form.staff_id.data),
            actor=current_actor(),
        ),
        done="User created. Give them their password in person.",
        redirect_to=lambda _: url_for("admin.users"),
        rerender=render,
    )


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@require(Permission.MANAGE_USERS)
def user(user_id: int) -> Any:
    from ..models import User

    existing = db.session.get(User, user_id)
    if existing is None:
        abort(404)
    form = EditUserForm()
    staff_options = _choices(queries.staff_choices(db.session), blank="— none —")
    form.staff_id.choices = staff_options
    if not form.is_submitted():
        form = EditUserForm(formdata=None)
        form.staff_id.choices = staff_options
        form.role.data = existing.role.value
        form.active.data = existing.active
        form.staff_id.data = str(existing.staff_id or "")
    password_form = PasswordForm(formdata=None)

    def render() -> str:
        return render_template(
            "admin/user.html", form=form, password_form=password_form, account=existing
        )

    if not form.is_submitted():
        return render()
    return _attempt(
        form,
        lambda: setup.update_user_account(
            db.session,
            user_id=user_id,
            role=form.role.data or "",
            active=bool(form.active.data),
            staff_id=parse_int(form.staff_id.data),
            actor=current_actor(),
            now=_now(),
        ),
        done="User saved.",
        redirect_to=lambda _: url_for("admin.users"),
        rerender=render,
    )


@bp.route("/users/<int:user_id>/password", methods=["POST"])
@require(Permission.MANAGE_USERS)
def user_password(user_id: int) -> Any:
    from ..models import User

    existing = db.session.get(User, user_id)
    if existing is None:
        abort(404)
    form = PasswordForm()
    edit_form = EditUserForm(formdata=None)
    edit_form.staff_id.choices = _choices(queries.staff_choices(db.session), blank="— none —")
    edit_form.role.data = existing.role.value
    edit_form.active.data = existing.active
    edit_form.staff_id.data = str(existing.staff_id or "")
    return _attempt(
        form,
        lambda: setup.reset_password(
            db.session,
            user_id=user_id,
            password=form.password.data or "",
            actor=current_actor(),
            now=_now(),
        ),
        done="Password changed; the user's open sessions have ended.",
        redirect_to=lambda _: url_for("admin.users"),
        rerender=lambda: render_template(
            "admin/user.html", form=edit_form, password_form=form, account=existing
        ),
    )
