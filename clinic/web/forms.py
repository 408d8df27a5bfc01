"""Forms of the front desk: patients, booking, session actions.

Fields are deliberately loose (strings, optional): the services hold the rules and return
one message per field, so the web form and the JSON API refuse the same input with the same
words. The forms add CSRF protection, labels, input types and length limits.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length

from ..patients import PatientInput
from .formtools import CheckboxesField, LooseRadioField, LooseSelectField, options


class PatientForm(FlaskForm):
    mrn = StringField("MRN (medical record number)", validators=[Length(max=64)])
    given_name = StringField("First name", validators=[Length(max=200)])
    family_name = StringField("Last name", validators=[Length(max=200)])
    date_of_birth = StringField("Date of birth", validators=[Length(max=20)])
    email = StringField("Email", validators=[Length(max=320)])
    phone = StringField("Mobile phone", validators=[Length(max=40)])
    email_opt_in = BooleanField("Send invitations and reminders by email", default=True)
    sms_opt_in = BooleanField("Patient consents to text-message reminders")
    escort_name = StringField("Usual escort's name", validators=[Length(max=200)])
    escort_phone = StringField("Usual escort's phone", validators=[Length(max=40)])
    rems_enrolled_on = StringField("Esketamine REMS enrollment date", validators=[Length(max=20)])
    notes = TextAreaField("Front-desk notes", validators=[Length(max=5000)])
    active = BooleanField("Active patient", default=True)

    def to_input(self) -> PatientInput:
        return PatientInput(
            mrn=self.mrn.data or "",
            given_name=self.given_name.data or "",
            family_name=self.family_name.data or "",
            date_of_birth=self.date_of_birth.data or None,
            email=self.email.data or None,
            phone=self.phone.data or None,
            email_opt_in=bool(self.email_opt_in.data),
            sms_opt_in=bool(self.sms_opt_in.data),
            escort_name=self.escort_name.data or None,
            escort_phone=self.escort_phone.data or None,
            rems_enrolled_on=self.rems_enrolled_on.data or None,
            notes=self.notes.data or "",
            active=bool(self.active.data),
        )

    def fill(self, data: PatientInput) -> None:
        for name in (
            "mrn",
            "given_name",
            "family_name",
            "email",
            "phone",
            "escort_name",
            "escort_phone",
            "notes",
        ):
            self[name].data = getattr(data, name) or ""
        self.date_of_birth.data = str(data.date_of_birth or "")
        self.rems_enrolled_on.data = str(data.rems_enrolled_on or "")
        self.email_opt_in.data = data.email_opt_in
        self.sms_opt_in.data = data.sms_opt_in
        self.active.data = data.active


class ActionForm(FlaskForm):
    """A button that changes a session's status: CSRF and where to go back to."""

    next = HiddenField()


class CheckInForm(ActionForm):
    escort_name = StringField("Escort's name", validators=[Length(max=200)])
    escort_phone = StringField("Escort's phone", validators=[Length(max=40)])
    escort_confirmed = BooleanField("Escort confirmed (will take the patient home)")


class DischargeForm(ActionForm):
    escort_confirmed = BooleanField("The escort is here to take the patient home")
    override_reason = TextAreaField(
        "Or: reason to discharge without a confirmed escort", validators=[Length(max=600)]
    )


SCOPE_CHOICES = [
    ("one", "Only this session"),
    ("following", "This and the following sessions of the series"),
    ("all", "All open sessions of the series"),
]


class CancelForm(ActionForm):
    scope = LooseRadioField("Which sessions", choices=options(SCOPE_CHOICES), default="one")
    reason = TextAreaField(
        "Reason for cancelling",
        validators=[DataRequired("Give a reason for cancelling."), Length(max=300)],
    )


class RescheduleForm(ActionForm):
    scope = LooseRadioField("Which sessions", choices=options(SCOPE_CHOICES), default="one")
    new_date = StringField(
        "New date", validators=[InputRequired("Choose the new date."), Length(max=20)]
    )
    new_time = StringField(
        "New start time", validators=[InputRequired("Choose the new time."), Length(max=10)]
    )


class SingleSessionForm(FlaskForm):
    """Book one session: treatment, place and day, then one of the free times found."""

    patient_id = HiddenField()
    treatment_type_id = LooseSelectField("Treatment", choices=[])
    location_id = LooseSelectField("Location", choices=[])
    date = StringField("Date", validators=[Length(max=20)])
    slot = HiddenField()


WEEKDAY_CHOICES = [
    ("0", "Mon"),
    ("1", "Tue"),
    ("2", "Wed"),
    ("3", "Thu"),
    ("4", "Fri"),
    ("5", "Sat"),
    ("6", "Sun"),
]


class SeriesPlanForm(FlaskForm):
    """Steps 2 and 3 of the wizard: what to give, and when the patient can come."""

    patient_id = HiddenField()
    location_id = LooseSelectField("Location", choices=[])
    mode = LooseRadioField(
        "Pattern",
        choices=options([("protocol", "Follow a protocol"), ("custom", "Custom pattern")]),
        default="protocol",
    )
    protocol_id = LooseSelectField("Protocol", choices=[])
    treatment_type_id = LooseSelectField("Treatment", choices=[])
    count = StringField("Number of sessions", validators=[Length(max=3)])
    min_hours_between = StringField("At least hours apart", validators=[Length(max=4)])
    first_date = StringField("First date", validators=[Length(max=20)])
    weekdays = CheckboxesField("Weekdays the patient can come", choices=options(WEEKDAY_CHOICES))
    preferred_start = StringField("Preferred start, from", validators=[Length(max=10)])
    preferred_end = StringField("Preferred start, until", validators=[Length(max=10)])
