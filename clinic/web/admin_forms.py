"""Forms of the admin pages. Loose on purpose: the set-up services hold the rules and
return one message per field; the forms add CSRF, labels, input types and length limits."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    PasswordField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Length

from ..models import Capability, Role, Route, StaffRole
from .formtools import CheckboxesField, LooseSelectField, options

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


def opening_hours_form_class() -> type[FlaskForm]:
    """Seven weekdays × two intervals (a lunch break), as time inputs."""

    class OpeningHoursForm(FlaskForm):
        pass

    for value, name in WEEKDAY_CHOICES:
        for part in (1, 2):
            setattr(
                OpeningHoursForm,
                f"d{value}_opens{part}",
                StringField(f"{name} opens" + (" (after break)" if part == 2 else "")),
            )
            setattr(
                OpeningHoursForm,
                f"d{value}_closes{part}",
                StringField(f"{name} closes" + (" (after break)" if part == 2 else "")),
            )
    return OpeningHoursForm


OpeningHoursForm = opening_hours_form_class()


class ClosureForm(FlaskForm):
    date = StringField("Closed on", validators=[Length(max=20)])
    reason = StringField("Reason", validators=[Length(max=250)])


class ChairForm(FlaskForm):
    label = StringField("Label", validators=[Length(max=60)])
    capabilities = CheckboxesField(
        "Treatments it can take",
        choices=options((c.value, CAPABILITY_LABELS.get(c, c.value)) for c in Capability),
    )
    active = BooleanField("In use", default=True)


class WindowForm(FlaskForm):
    """A stretch of time in local wall-clock time (out of service, time off)."""

    start_date = StringField("From (date)", validators=[Length(max=20)])
    start_time = StringField("From (time)", validators=[Length(max=10)])
    end_date = StringField("Until (date)", validators=[Length(max=20)])
    end_time = StringField("Until (time)", validators=[Length(max=10)])
    reason = StringField("Reason", validators=[Length(max=250)])


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
    valid_from = StringField("Valid from", validators=[Length(max=20)])
    expires_on = StringField("Expires on", validators=[Length(max=20)])


class ShiftTemplateForm(FlaskForm):
    location_id = LooseSelectField("Location", choices=[])
    weekday = LooseSelectField("Weekday", choices=options(WEEKDAY_CHOICES))
    starts = StringField("Starts", validators=[Length(max=10)])
    ends = StringField("Ends", validators=[Length(max=10)])
    effective_from = StringField("First day", validators=[Length(max=20)])
    effective_until = StringField("Last day (optional)", validators=[Length(max=20)])


class TreatmentTypeForm(FlaskForm):
    name = StringField("Name", validators=[Length(max=200)])
    route = LooseSelectField("Route", choices=options((r.value, r.value.upper()) for r in Route))
    chair_capability = LooseSelectField(
        "Chair must be able to take",
        choices=options((c.value, CAPABILITY_LABELS.get(c, c.value)) for c in Capability),
    )
    prep_minutes = StringField("Prep (minutes)", validators=[Length(max=5)])
    treatment_minutes = StringField("Treatment (minutes)", validators=[Length(max=5)])
    monitoring_minutes = StringField("Monitoring (minutes)", validators=[Length(max=5)])
    turnover_minutes = StringField("Chair turnover (minutes)", validators=[Length(max=5)])
    required_certifications = StringField(
        "Monitor must hold (comma-separated)", validators=[Length(max=300)]
    )
    max_patients_per_monitor = StringField("Patients per monitor (max)", validators=[Length(max=3)])
    needs_prescriber_on_site = BooleanField("A prescriber must be on site")
    needs_rems_enrollment = BooleanField("Patient must be REMS-enrolled")
    needs_escort = BooleanField("Patient needs an escort home", default=True)
    patient_notice = TextAreaField(
        "Extra notice for patients (the no-driving notice is always added)",
        validators=[Length(max=1200)],
    )
    active = BooleanField("Active (can be booked)", default=True)


PHASES = 3


class ProtocolForm(FlaskForm):
    name = StringField("Name", validators=[Length(max=200)])
    treatment_type_id = LooseSelectField("Treatment", choices=[])
    phase1_sessions = StringField("Phase 1: sessions", validators=[Length(max=3)])
    phase1_per_week = StringField("Phase 1: per week", validators=[Length(max=2)])
    phase2_sessions = StringField("Phase 2: sessions", validators=[Length(max=3)])
    phase2_per_week = StringField("Phase 2: per week", validators=[Length(max=2)])
    phase3_sessions = StringField("Phase 3: sessions", validators=[Length(max=3)])
    phase3_per_week = StringField("Phase 3: per week", validators=[Length(max=2)])
    min_hours_between = StringField("Minimum hours between sessions", validators=[Length(max=4)])
    max_span_days = StringField("Whole series within (days, optional)", validators=[Length(max=4)])
    description = TextAreaField("Description", validators=[Length(max=2400)])
    active = BooleanField("Active (can be booked)", default=True)


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
