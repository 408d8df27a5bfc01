"""The session record's forms: each parses into the typed input its service takes.

Times are typed as the location's wall-clock HH:MM on the session's day. ``to_input``
raises ``Invalid`` (with ``fields``) for what does not parse or is missing; the service
judges the values themselves, once, for the page and the API alike.
"""

from __future__ import annotations

import datetime as dt
import math
from zoneinfo import ZoneInfo

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.validators import Length

from ..errors import Invalid
from ..monitoring.inputs import (
    DISSOCIATION_LEVELS,
    NASAL_DEVICE_MG,
    SEDATION_LEVELS,
    SIDE_EFFECTS,
    AssessmentInput,
    IvDoseInput,
    NasalDoseInput,
    NoteInput,
    ObservationInput,
    VitalsInput,
)
from ..scheduling.shifts import local_instant
from .fields import IntegerField, TimeField
from .formtools import options, parse_time


class _Clock:
    """Turns the form's HH:MM into instants on the session's local day."""

    def __init__(self, day: dt.date, tz: ZoneInfo) -> None:
        self.day, self.tz = day, tz

    def at(self, errors: dict[str, str], name: str, field: TimeField) -> dt.datetime:
        moment = field.value
        if moment is None:
            errors[name] = "Enter the time as HH:MM."
            return dt.datetime.min.replace(tzinfo=dt.UTC)
        return local_instant(self.day, moment, self.tz)


def _number(errors: dict[str, str], name: str, field: StringField, label: str) -> float:
    text = (field.data or "").strip().replace(",", ".")
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        errors[name] = f"Enter the {label} as a number."
        return 0.0
    return value


def _whole(errors: dict[str, str], name: str, field: IntegerField, label: str) -> int:
    if field.value is None:
        errors[name] = f"Enter the {label} as a whole number."
        return 0
    return field.value


def _raise(errors: dict[str, str]) -> None:
    if errors:
        raise Invalid(fields=errors)


class VitalsForm(FlaskForm):
    taken_at = TimeField("Time")
    systolic = IntegerField("Systolic (mmHg)")
    diastolic = IntegerField("Diastolic (mmHg)")
    heart_rate = IntegerField("Heart rate (/min)")
    spo2 = IntegerField("SpO2 (%)")
    respiratory_rate = IntegerField("Resp. rate (/min, optional)")
    amends = HiddenField()
    reason = StringField("Reason for the correction", validators=[Length(max=300)])

    def to_input(self, clock: _Clock) -> VitalsInput:
        errors: dict[str, str] = {}
        taken_at = clock.at(errors, "taken_at", self.taken_at)
        values = {
            name: _whole(errors, name, getattr(self, name), label)
            for name, label in (
                ("systolic", "systolic pressure"),
                ("diastolic", "diastolic pressure"),
                ("heart_rate", "heart rate"),
                ("spo2", "SpO2"),
            )
        }
        _raise(errors)
        return VitalsInput(
            taken_at=taken_at, respiratory_rate=self.respiratory_rate.value, **values
        )

    @property
    def amends_id(self) -> int | None:
        text = (self.amends.data or "").strip()
        return int(text) if text.isdigit() else None


class IvDoseForm(FlaskForm):
    infusion_starts_at = TimeField("Infusion start")
    infusion_ends_at = TimeField("Infusion end (when it has ended)")
    weight_kg = StringField("Weight (kg)", validators=[Length(max=10)])
    mg_per_kg = StringField("Dose (mg/kg)", validators=[Length(max=10)])
    total_mg = StringField("Total (mg)", validators=[Length(max=10)])

    def to_input(self, clock: _Clock) -> IvDoseInput:
        errors: dict[str, str] = {}
        starts = clock.at(errors, "infusion_starts_at", self.infusion_starts_at)
        ends = (
            clock.at(errors, "infusion_ends_at", self.infusion_ends_at)
            if self.infusion_ends_at.typed
            else None
        )
        weight = _number(errors, "weight_kg", self.weight_kg, "weight")
        per_kg = _number(errors, "mg_per_kg", self.mg_per_kg, "dose per kilogram")
        total = _number(errors, "total_mg", self.total_mg, "total dose")
        _raise(errors)
        return IvDoseInput(
            infusion_starts_at=starts,
            infusion_ends_at=ends,
            weight_kg=weight,
            mg_per_kg=per_kg,
            total_mg=total,
        )


class NasalDoseForm(FlaskForm):
    device_times = StringField(
        f"Time of each {NASAL_DEVICE_MG} mg device (HH:MM, separated by spaces)",
        validators=[Length(max=40)],
    )

    def to_input(self, clock: _Clock) -> NasalDoseInput:
        parts = (self.device_times.data or "").replace(",", " ").split()
        times = [parse_time(part) for part in parts]
        if not parts or any(moment is None for moment in times):
            raise Invalid(fields={"device_times": "Give each device's time as HH:MM."})
        instants = tuple(local_instant(clock.day, t, clock.tz) for t in times if t is not None)
        return NasalDoseInput(device_times=instants, total_mg=len(instants) * NASAL_DEVICE_MG)


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class ObservationForm(FlaskForm):
    taken_at = TimeField("Time")
    sedation_level = SelectField("Sedation (MOAA/S)", choices=options(SEDATION_LEVELS.items()))
    dissociation_level = SelectField("Dissociation", choices=options(DISSOCIATION_LEVELS.items()))
    side_effects = MultiCheckboxField("Side effects", choices=options(SIDE_EFFECTS.items()))
    text = TextAreaField("Notes (optional)", validators=[Length(max=2000)])

    def to_input(self, clock: _Clock) -> ObservationInput:
        errors: dict[str, str] = {}
        taken_at = clock.at(errors, "taken_at", self.taken_at)
        _raise(errors)
        return ObservationInput(
            taken_at=taken_at,
            sedation_level=int(self.sedation_level.data or 5),
            dissociation_level=int(self.dissociation_level.data or 0),
            side_effects=tuple(self.side_effects.data or ()),
            text=self.text.data or "",
        )


class NoteForm(FlaskForm):
    taken_at = TimeField("Time")
    text = TextAreaField("Note", validators=[Length(max=2000)])

    def to_input(self, clock: _Clock) -> NoteInput:
        errors: dict[str, str] = {}
        taken_at = clock.at(errors, "taken_at", self.taken_at)
        _raise(errors)
        return NoteInput(taken_at=taken_at, text=self.text.data or "")


class AssessmentForm(FlaskForm):
    taken_at = TimeField("Time")
    score = IntegerField("Score")

    def to_input(self, clock: _Clock) -> AssessmentInput:
        errors: dict[str, str] = {}
        taken_at = clock.at(errors, "taken_at", self.taken_at)
        score = _whole(errors, "score", self.score, "score")
        _raise(errors)
        return AssessmentInput(taken_at=taken_at, score=score)


class RecordDischargeForm(FlaskForm):
    next = HiddenField()
    escort_confirmed = BooleanField("The escort is here to take the patient home")
    escort_name = StringField("Escort's name", validators=[Length(max=120)])
    override_reason = TextAreaField(
        "Or: reason to discharge although a condition is unmet (nurse or prescriber)",
        validators=[Length(max=600)],
    )


class RemsSubmittedForm(FlaskForm):
    reference = StringField("REMS form reference", validators=[Length(max=60)])


RECORD_FORMS: dict[str, type[FlaskForm]] = {
    "vitals": VitalsForm,
    "iv_dose": IvDoseForm,
    "nasal_dose": NasalDoseForm,
    "observation": ObservationForm,
    "note": NoteForm,
    "assessment": AssessmentForm,
}


def clock_for(day: dt.date, tz: ZoneInfo) -> _Clock:
    return _Clock(day, tz)


def make_form(name: str, **options: object) -> FlaskForm:
    """The record form ``name``. All but the vitals form carry their name as a prefix: the
    session page shows them together, and field ids must not repeat ("taken_at")."""
    prefix = "" if name == "vitals" else name
    return RECORD_FORMS[name](prefix=prefix, **options)
