"""Forms of the front desk (patients, booking, session actions), each parsing into the
input its service takes (``to_input``, ``to_request``, ``new_start``).

Fields are deliberately loose (text, optional): the services hold the rules and return one
message per field, so the web form and the JSON API refuse the same input with the same
words. The forms add CSRF protection, labels, input types, length limits, and the wording
for text that is not a date, a time or a number at all (the house fields).
"""

from __future__ import annotations

import datetime as dt

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length

from ..patients import (
    EMAIL_MAX,
    ESCORT_NAME_MAX,
    MRN_MAX,
    NAME_MAX,
    NOTES_MAX,
    PatientInput,
)
from ..scheduling.plans import PlanRequest
from .fields import DateField, IntegerField, TimeField
from .formtools import CheckboxesField, LooseRadioField, LooseSelectField, options, parse_int


class PatientForm(FlaskForm):
    # The service's own limits, so the browser stops typing where the service would refuse.
    mrn = StringField("MRN (medical record number)", validators=[Length(max=MRN_MAX)])
    given_name = StringField("First name", validators=[Length(max=NAME_MAX)])
    family_name = StringField("Last name", validators=[Length(max=NAME_MAX)])
    date_of_birth = StringField("Date of birth", validators=[Length(max=20)])
    email = StringField("Email", validators=[Length(max=EMAIL_MAX)])
    phone = StringField("Mobile phone", validators=[Length(max=40)])
    email_opt_in = BooleanField("Send invitations and reminders by email", default=True)
    sms_opt_in = BooleanField("Patient consents to text-message reminders")
    escort_name = StringField("Usual escort's name", validators=[Length(max=ESCORT_NAME_MAX)])
    escort_phone = StringField("Usual escort's phone", validators=[Length(max=40)])
    rems_enrolled_on = StringField("Esketamine REMS enrollment date", validators=[Length(max=20)])
    notes = TextAreaField("Front-desk notes", validators=[Length(max=NOTES_MAX)])
    active = BooleanField("Active patient", default=True)
    # Offered once registering found someone with the same name and date of birth.
    confirm_new_person = BooleanField(
        "This is a different person with the same name and date of birth"
    )

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


NEW_START_WORDING = "Enter a date (YYYY-MM-DD) and a time."


class RescheduleForm(ActionForm):
    scope = LooseRadioField("Which sessions", choices=options(SCOPE_CHOICES), default="one")
    new_date = DateField(
        "New date", validators=[InputRequired("Choose the new date.")], invalid=NEW_START_WORDING
    )
    new_time = TimeField(
        "New start time",
        validators=[InputRequired("Choose the new time.")],
        invalid=NEW_START_WORDING,
    )

    def new_start(self) -> tuple[dt.date, dt.time]:
        """The new local day and wall-clock time (call after ``validate``)."""
        day, time = self.new_date.value, self.new_time.value
        assert day is not None and time is not None
        return day, time.replace(tzinfo=None)


class SingleSessionForm(FlaskForm):
    """Book one session: treatment, place and day, then one of the free times found."""

    patient_id = HiddenField()
    treatment_type_id = LooseSelectField("Treatment", choices=[])
    location_id = LooseSelectField("Location", choices=[])
    date = DateField("Date", invalid="Choose a date (YYYY-MM-DD).")
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
    count = IntegerField(
        "Number of sessions", max_length=3, invalid="Enter how many sessions to book (1 to 60)."
    )
    min_hours_between = IntegerField(
        "At least hours apart", max_length=4, invalid="Enter a whole number of hours."
    )
    first_date = DateField(
        "First date", invalid="Choose the date of the first session (YYYY-MM-DD)."
    )
    weekdays = CheckboxesField("Weekdays the patient can come", choices=options(WEEKDAY_CHOICES))
    preferred_start = TimeField(
        "Preferred start, from", invalid="Enter a time as HH:MM, or leave it empty."
    )
    preferred_end = TimeField(
        "Preferred start, until", invalid="Enter a time as HH:MM, or leave it empty."
    )

    def to_request(self) -> PlanRequest:
        weekdays = (parse_int(day) for day in self.weekdays.data or [])
        return PlanRequest(
            location_id=parse_int(self.location_id.data),
            first_date=self.first_date.value,
            mode=self.mode.data or "protocol",
            protocol_id=parse_int(self.protocol_id.data),
            treatment_type_id=parse_int(self.treatment_type_id.data),
            count=self.count.value,
            min_hours_between=self.min_hours_between.value,
            weekdays=tuple(day for day in weekdays if day is not None),
            preferred_start=self.preferred_start.value,
            preferred_end=self.preferred_end.value,
        )
