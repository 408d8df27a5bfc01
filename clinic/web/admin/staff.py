"""Staff: details, certifications, weekly shifts and time off."""

from __future__ import annotations

import datetime as dt

from flask import abort, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from ... import setup
from ...clock import now
from ...errors import Invalid
from ...extensions import db
from ...models import CERTIFICATION_WARNING_DAYS, ShiftTemplate, Staff
from ...permissions import Permission
from ...setup import queries
from ..access import current_actor, require
from ..answers import impact_confirmed, submit
from ..formtools import options, parse_int
from . import bp
from .buttons import remove
from .forms import CertificationForm, DeleteForm, ShiftTemplateForm, StaffForm, WindowForm


def _staff_url(staff_id: int, section: str = "") -> str:
    return url_for("admin.staff_member", staff_id=staff_id) + section


def _warn_until(today: dt.date) -> dt.date:
    return today + dt.timedelta(days=CERTIFICATION_WARNING_DAYS)


def _save_staff(form: StaffForm, staff_id: int | None) -> Staff:
    return setup.save_staff(
        db.session(),
        staff_id=staff_id,
        name=form.name.data or "",
        email=form.email.data or None,
        role=form.role.data or "",
        active=bool(form.active.data),
        actor=current_actor(),
        now=now(),
    )


@bp.route("/staff", methods=["GET", "POST"])
@require(Permission.CONFIGURE)
def staff() -> ResponseReturnValue:
    form = StaffForm()
    today = now().date()

    def render() -> str:
        return render_template(
            "admin/staff_list.html",
            staff=queries.all_staff(db.session()),
            form=form,
            today=today,
            warn_until=_warn_until(today),
        )

    if not form.is_submitted():
        return render()
    return submit(
        form,
        lambda: _save_staff(form, None),
        done="Staff member added. Now add their certifications and weekly shifts.",
        redirect_to=lambda member: _staff_url(member.id),
        rerender=render,
    )


def _staff_page(staff_id: int, **forms: FlaskForm) -> str:
    current = now()
    page = queries.staff_page(db.session(), staff_id=staff_id, now=current)
    if page is None:
        abort(404)
    shift_form = forms.get("shift_form") or ShiftTemplateForm(formdata=None)
    shift_form.location_id.choices = options(queries.location_choices(db.session()))
    if "shift_form" not in forms:
        shift_form.effective_from.data = current.date().isoformat()
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
        today=current.date(),
        warn_until=_warn_until(current.date()),
        tz=setup.staff_timezone(db.session(), staff_id),
        weekdays=setup.WEEKDAYS,
    )


@bp.route("/staff/<int:staff_id>", methods=["GET", "POST"])
@require(Permission.CONFIGURE)
def staff_member(staff_id: int) -> ResponseReturnValue:
    form = StaffForm()
    if not form.is_submitted():
        return _staff_page(staff_id)
    return submit(
        form,
        lambda: _save_staff(form, staff_id),
        done="Staff member saved.",
        redirect_to=lambda _: _staff_url(staff_id),
        rerender=lambda: _staff_page(staff_id, edit_form=form),
    )


def _save_certification(
    form: CertificationForm, *, staff_id: int, certification_id: int | None
) -> object:
    return setup.save_certification(
        db.session(),
        certification_id=certification_id,
        staff_id=staff_id,
        kind=form.kind.data or "",
        number=form.number.data or "",
        valid_from=form.valid_from.value,
        expires_on=form.expires_on.value,
        actor=current_actor(),
        now=now(),
    )


@bp.route("/staff/<int:staff_id>/certifications", methods=["POST"])
@require(Permission.CONFIGURE)
def add_certification(staff_id: int) -> ResponseReturnValue:
    form = CertificationForm()
    return submit(
        form,
        lambda: _save_certification(form, staff_id=staff_id, certification_id=None),
        done="Certification added.",
        redirect_to=lambda _: _staff_url(staff_id, "#certifications"),
        rerender=lambda: _staff_page(staff_id, certification_form=form),
    )


@bp.route("/certifications/<int:certification_id>", methods=["GET", "POST"])
@require(Permission.CONFIGURE)
def certification(certification_id: int) -> ResponseReturnValue:
    existing = queries.get_certification(db.session(), certification_id=certification_id)
    staff_id = existing.staff_id
    form = CertificationForm()

    def render() -> str:
        return render_template("admin/certification.html", certification=existing, form=form)

    if not form.is_submitted():
        form = CertificationForm(formdata=None, obj=existing)
        form.valid_from.data = existing.valid_from.isoformat()
        form.expires_on.data = existing.expires_on.isoformat()
        return render()
    return submit(
        form,
        lambda: _save_certification(form, staff_id=staff_id, certification_id=certification_id),
        done="Certification saved.",
        redirect_to=lambda _: _staff_url(staff_id, "#certifications"),
        rerender=render,
    )


@bp.route("/certifications/<int:certification_id>/delete", methods=["POST"])
@require(Permission.CONFIGURE)
def delete_certification(certification_id: int) -> Response:
    return remove(
        lambda: setup.remove_certification(
            db.session(), certification_id=certification_id, actor=current_actor(), now=now()
        ),
        done="Certification removed.",
        redirect_to=lambda staff_id: _staff_url(staff_id, "#certifications"),
    )


@bp.route("/staff/<int:staff_id>/shifts", methods=["POST"])
@require(Permission.CONFIGURE)
def add_shift(staff_id: int) -> ResponseReturnValue:
    form = ShiftTemplateForm()
    form.location_id.choices = options(queries.location_choices(db.session()))

    def add() -> ShiftTemplate:
        location_id = parse_int(form.location_id.data)
        if location_id is None:
            raise Invalid(fields={"location_id": "Choose a location."})
        return setup.add_shift_template(
            db.session(),
            staff_id=staff_id,
            location_id=location_id,
            weekday=parse_int(form.weekday.data),
            starts=form.starts.value,
            ends=form.ends.value,
            effective_from=form.effective_from.value,
            effective_until=form.effective_until.value,
            actor=current_actor(),
            now=now(),
        )

    return submit(
        form,
        add,
        done="Weekly shift added; its shifts for the coming months are in the schedule.",
        redirect_to=lambda _: _staff_url(staff_id, "#shifts"),
        rerender=lambda: _staff_page(staff_id, shift_form=form),
    )


@bp.route("/shift-templates/<int:template_id>/delete", methods=["POST"])
@require(Permission.CONFIGURE)
def delete_shift(template_id: int) -> Response:
    return remove(
        lambda: setup.remove_shift_template(
            db.session(),
            template_id=template_id,
            actor=current_actor(),
            now=now(),
            proceed=impact_confirmed(),
        ),
        done="Weekly shift removed, with its future shifts.",
        redirect_to=lambda staff_id: _staff_url(staff_id, "#shifts"),
    )


@bp.route("/staff/<int:staff_id>/time-off", methods=["POST"])
@require(Permission.CONFIGURE)
def add_time_off(staff_id: int) -> ResponseReturnValue:
    form = WindowForm()

    def add() -> object:
        starts_at, ends_at = form.window()
        return setup.add_time_off(
            db.session(),
            staff_id=staff_id,
            starts_at=starts_at,
            ends_at=ends_at,
            reason=form.reason.data or "",
            actor=current_actor(),
            now=now(),
            proceed=impact_confirmed(),
        )

    return submit(
        form,
        add,
        done="Time off recorded.",
        redirect_to=lambda _: _staff_url(staff_id, "#time-off"),
        rerender=lambda: _staff_page(staff_id, time_off_form=form),
    )


@bp.route("/time-off/<int:time_off_id>/delete", methods=["POST"])
@require(Permission.CONFIGURE)
def delete_time_off(time_off_id: int) -> Response:
    return remove(
        lambda: setup.remove_time_off(
            db.session(), time_off_id=time_off_id, actor=current_actor(), now=now()
        ),
        done="Time off removed.",
        redirect_to=lambda staff_id: _staff_url(staff_id, "#time-off"),
    )
