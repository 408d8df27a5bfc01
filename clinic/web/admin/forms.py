"""Forms of the admin pages, each parsing into the input its set-up service takes.

Loose on purpose: the services hold the rules and return one message per field; the forms
add CSRF, labels, input types, length limits, and the wording for text that is not a date,
a time or a number at all."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    PasswordField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length

from ... import setup
from ...models import Capability, Role, Route, StaffRole
from ..fields import DateField, IntegerField, TimeField
from ..formtools import CheckboxesField, LooseSelectField, options, parse_int

WEEKDAY_CHOICES = [
    ("0", "Monday"),
    ("1", "Tuesday"),
    ("2", "Wednesday"),
    ("3", "Thursday"),
    ("4", "Friday"),
    ("5", "Saturday"),
    ("6", "Sunday"),
]
CAPABILITY_LABELS = {Capability.IV: "IV infusion", Capability.NASAL: "Nasal spray"}


class LocationForm(FlaskForm):
    name = StringField("Name", validators=[Length(max=200)])
    address = TextAreaField("Address", validators=[Length(max=400)])
    phone = StringField("Phone", validators=[Length(max=40)])
    email = StringField("Email (sender of patient messages)", validators=[Length(max=320)])
    timezone = LooseSelectField("Time zone", choices=[])
    active = BooleanField("Active (takes bookings)", default=True)

    def to_input(self) -> setup.LocationInput:
        return setup.LocationInput(
            name=self.name.data or "",
            timezone=self.timezone.data or "",
            address=self.address.data or "",
            phone=self.phone.data or None,
            email=self.email.data or None,
            active=bool(self.active.data),
        )


HOURS_WORDING = "Enter a time as HH:MM, or leave both times empty."


class OpeningHoursBase(FlaskForm):
    """Seven weekdays × two intervals (a lunch break), as time inputs; a day's interval
    with both times empty is no interval."""

    def _pairs(self) -> list[tuple[int, Any, Any]]:
        return [
            (weekday, self[f"d{weekday}_opens{part}"], self[f"d{weekday}_closes{part}"])
            for weekday in range(7)
            for part in (1, 2)
        ]

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        for _weekday, opens, closes in self._pairs():
            if opens.typed != closes.typed:
                empty = closes if opens.typed else opens
                empty.errors = [*empty.errors, HOURS_WORDING]
                valid = False
        return valid

    def to_intervals(self) -> list[setup.OpeningInterval]:
        return [
            setup.OpeningInterval(weekday=weekday, opens=opens.value, closes=closes.value)
            for weekday, opens, closes in self._pairs()
            if opens.value is not None and closes.value is not None
        ]


def opening_hours_form_class() -> type[OpeningHoursBase]:
    class OpeningHoursForm(OpeningHoursBase):
        pass

    for value, name in WEEKDAY_CHOICES:
        for part in (1, 2):
            after_break = " (after break)" if part == 2 else ""
            setattr(
                OpeningHoursForm,
                f"d{value}_opens{part}",
                TimeField(f"{name} opens{after_break}", invalid=HOURS_WORDING),
            )
            setattr(
                OpeningHoursForm,
                f"d{value}_closes{part}",
                TimeField(f"{name} closes{after_break}", invalid=HOURS_WORDING),
            )
    return OpeningHoursForm


OpeningHoursForm = opening_hours_form_class()


class ClosureForm(FlaskForm):
    date = DateField("Closed on")
    reason = StringField("Reason", validators=[Length(max=250)])


class ChairForm(FlaskForm):
    label = StringField("Label", validators=[Length(max=60)])
    capabilities = CheckboxesField(
        "Treatments it can take",
        choices=options((c.value, CAPABILITY_LABELS.get(c, c.value)) for c in Capability),
    )
    active = BooleanField("In use", default=True)


WINDOW_WORDING = "Enter the date as YYYY-MM-DD and the time as HH:MM."


class WindowForm(FlaskForm):
    """A stretch of time in local wall-clock time (out of service, time off); an empty
    start time is the start of the day, an empty end time its end."""

    # The services name the window's ends starts_at / ends_at.
    service_fields = {"starts_at": "start_date", "ends_at": "end_date"}

    start_date = DateField(
        "From (date)", validators=[InputRequired("Enter the first day.")], invalid=WINDOW_WORDING
    )
    start_time = TimeField("From (time)", invalid=WINDOW_WORDING)
    end_date = DateField(
        "Until (date)", validators=[InputRequired("Enter the last day.")], invalid=WINDOW_WORDING
    )
    end_time = TimeField("Until (time)", invalid=WINDOW_WORDING)
    reason = StringField("Reason", validators=[Length(max=250)])

    def window(self) -> tuple[dt.datetime | None, dt.datetime | None]:
        """Naive local start and end; the service places them in the right time zone."""
        return (
            _combine(self.start_date.value, self.start_time.value or dt.time(0, 0)),
            _combine(self.end_date.value, self.end_time.value or dt.time(23, 59)),
        )


def _combine(day: dt.date | None, wall_time: dt.time) -> dt.datetime | None:
    return None if day is None else dt.datetime.combine(day, wall_time.replace(tzinfo=None))


class StaffForm(FlaskForm):
    name = StringField("Name", validators=[Length(max=200)])
    email = StringField("Email", validators=[Length(max=320)])
    role = LooseSelectField(
        "Role", choices=options((r.value, r.value.capitalize()) for r in StaffRole), default="nurse"
    )
    active = BooleanField("Active", default=True)


class CertificationForm(FlaskForm):
    kind = StringField("Kind (e.g. RN, ACLS, KETAMINE_IV)", validators=[Length(max=60)])
    number = StringField("Number", validators=[Length(max=80)])
    valid_from = DateField("Valid from")
    expires_on = DateField("Expires on")


class ShiftTemplateForm(FlaskForm):
    location_id = LooseSelectField("Location", choices=[])
    weekday = LooseSelectField("Weekday", choices=options(WEEKDAY_CHOICES))
    starts = TimeField("Starts")
    ends = TimeField("Ends")
    effective_from = DateField("First day", invalid="Use YYYY-MM-DD.")
    effective_until = DateField("Last day (optional)", invalid="Use YYYY-MM-DD.")


class TreatmentTypeForm(FlaskForm):
    name = StringField("Name", validators=[Length(max=200)])
    route = LooseSelectField("Route", choices=options((r.value, r.value.upper()) for r in Route))
    chair_capability = LooseSelectField(
        "Chair must be able to take",
        choices=options((c.value, CAPABILITY_LABELS.get(c, c.value)) for c in Capability),
    )
    prep_minutes = IntegerField("Prep (minutes)", max_length=5)
    treatment_minutes = IntegerField("Treatment (minutes)", max_length=5)
    monitoring_minutes = IntegerField("Monitoring (minutes)", max_length=5)
    turnover_minutes = IntegerField("Chair turnover (minutes)", max_length=5)
    required_certifications = StringField(
        "Monitor must hold (comma-separated)", validators=[Length(max=300)]
    )
    max_patients_per_monitor = IntegerField("Patients per monitor (max)", max_length=3)
    # A post without the field (an older page) keeps the usual day; a blank one is refused.
    min_hours_between_doses = IntegerField(
        "Least hours between two doses for one patient", max_length=4, default="24"
    )
    needs_prescriber_on_site = BooleanField("A prescriber must be on site")
    needs_rems_enrollment = BooleanField("Patient must be REMS-enrolled")
    needs_escort = BooleanField("Patient needs an escort home", default=True)
    patient_notice = TextAreaField(
        "Extra notice for patients (the no-driving notice is always added)",
        validators=[Length(max=1200)],
    )
    active = BooleanField("Active (can be booked)", default=True)

    def to_input(self) -> setup.TreatmentTypeInput:
        return setup.TreatmentTypeInput(
            name=self.name.data or "",
            route=self.route.data or "",
            prep_minutes=self.prep_minutes.value,
            treatment_minutes=self.treatment_minutes.value,
            monitoring_minutes=self.monitoring_minutes.value,
            turnover_minutes=self.turnover_minutes.value,
            chair_capability=self.chair_capability.data or "",
            required_certifications=self.required_certifications.data or "",
            max_patients_per_monitor=self.max_patients_per_monitor.value,
            needs_prescriber_on_site=bool(self.needs_prescriber_on_site.data),
            needs_rems_enrollment=bool(self.needs_rems_enrollment.data),
            needs_escort=bool(self.needs_escort.data),
            patient_notice=self.patient_notice.data or "",
            active=bool(self.active.data),
            min_hours_between_doses=self.min_hours_between_doses.value,
        )


PHASES = 3
PHASE_WORDING = "Give both the number of sessions and the sessions per week, as whole numbers."


class ProtocolForm(FlaskForm):
    # The service reports phase problems as "phases"; they show by the first phase.
    service_fields = {"phases": "phase1_sessions"}

    name = StringField("Name", validators=[Length(max=200)])
    treatment_type_id = LooseSelectField("Treatment", choices=[])
    phase1_sessions = IntegerField("Phase 1: sessions", max_length=3)
    phase1_per_week = IntegerField("Phase 1: per week", max_length=2)
    phase2_sessions = IntegerField("Phase 2: sessions", max_length=3)
    phase2_per_week = IntegerField("Phase 2: per week", max_length=2)
    phase3_sessions = IntegerField("Phase 3: sessions", max_length=3)
    phase3_per_week = IntegerField("Phase 3: per week", max_length=2)
    min_hours_between = IntegerField("Minimum hours between sessions", max_length=4)
    max_span_days = IntegerField(
        "Whole series within (days, optional)",
        max_length=4,
        invalid="Enter a whole number of days, or leave it empty.",
    )
    description = TextAreaField("Description", validators=[Length(max=2400)])
    active = BooleanField("Active (can be booked)", default=True)

    def _phases(self) -> list[tuple[Any, Any]]:
        return [
            (self[f"phase{number}_sessions"], self[f"phase{number}_per_week"])
            for number in range(1, PHASES + 1)
        ]

    def validate(self, extra_validators: Any = None) -> bool:
        """A phase is both numbers or neither."""
        valid = super().validate(extra_validators)
        for sessions, per_week in self._phases():
            if not sessions.typed and not per_week.typed:
                continue
            if sessions.value is None or per_week.value is None:
                sessions.errors = [*sessions.errors, PHASE_WORDING]
                valid = False
        return valid

    def to_input(self) -> setup.ProtocolInput:
        return setup.ProtocolInput(
            name=self.name.data or "",
            treatment_type_id=parse_int(self.treatment_type_id.data),
            phases=[
                setup.ProtocolPhase(sessions=sessions.value, sessions_per_week=per_week.value)
                for sessions, per_week in self._phases()
                if sessions.value is not None and per_week.value is not None
            ],
            min_hours_between=self.min_hours_between.value,
            max_span_days=self.max_span_days.value,
            description=self.description.data or "",
            active=bool(self.active.data),
        )

    def fill(self, protocol: Any) -> None:
        self.treatment_type_id.data = str(protocol.treatment_type_id)
        self.min_hours_between.data = str(protocol.min_hours_between)
        self.max_span_days.data = str(protocol.max_span_days or "")
        for (sessions, per_week), phase in zip(self._phases(), protocol.phases, strict=False):
            sessions.data = str(phase.get("sessions", ""))
            per_week.data = str(phase.get("sessions_per_week", ""))


ROLE_CHOICES = [(r.value, r.value.capitalize()) for r in Role]


class NewUserForm(FlaskForm):
    username = StringField("Username", validators=[Length(max=100)])
    role = LooseSelectField("Role", choices=options(ROLE_CHOICES), default="receptionist")
    password = PasswordField("Password (12+ characters)", validators=[Length(max=200)])
    staff_id = LooseSelectField("Linked staff member (optional)", choices=[])


class EditUserForm(FlaskForm):
    role = LooseSelectField("Role", choices=options(ROLE_CHOICES))
    active = BooleanField("Can log in")
    staff_id = LooseSelectField("Linked staff member (optional)", choices=[])


class PasswordForm(FlaskForm):
    password = PasswordField("New password (12+ characters)", validators=[Length(max=200)])


class DeleteForm(FlaskForm):
    """A remove button: CSRF only."""
