"""Request and response bodies of the API, as pydantic models.

They describe the wire format only: what a field must look like to be read at all. Whether a
value is acceptable (a real phone number, a free chair) is decided by the services, once,
for the web UI and the API alike. Response models read ORM rows and service dataclasses
directly (``from_attributes``), so a view returns what the service gave it.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import partial
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)

from ..models import AppointmentStatus, Route, SeriesStatus, StaffRole
from ..text import MULTILINE_TEXT_PATTERN, TEXT_PATTERN, checked_text

MAX_ID = 2**31 - 1

# Text people type: no control or text-direction characters (NUL among them, which
# PostgreSQL cannot store), refused at the door by the one rule in clinic.text.
# The pattern only documents the rule for clients (and schema-driven tests); the validator
# applies it, with a message a person can act on.
Text = Annotated[
    str,
    AfterValidator(checked_text),
    WithJsonSchema({"type": "string", "pattern": TEXT_PATTERN}),
]
MultilineText = Annotated[
    str,
    AfterValidator(partial(checked_text, multiline=True)),
    WithJsonSchema({"type": "string", "pattern": MULTILINE_TEXT_PATTERN}),
]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
# The calendar the schedule can sensibly talk about. Dates far outside it (year 1, year
# 9999) are refused at the door: arithmetic on them overflows, and no clinic books there.
FIRST_DAY = dt.date(1900, 1, 1)
LAST_DAY = dt.date(2999, 12, 31)
Day = Annotated[dt.date, Field(ge=FIRST_DAY, le=LAST_DAY)]
Instant = Annotated[
    AwareDatetime,
    Field(
        ge=dt.datetime(1900, 1, 1, tzinfo=dt.UTC),
        le=dt.datetime(2999, 12, 31, tzinfo=dt.UTC),
    ),
]
LOCAL_TIME_PATTERN = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


def parse_local_time(value: Any) -> Any:
    """A wall-clock time, exactly "HH:MM": no seconds, no offset, no number of seconds."""
    if isinstance(value, dt.time):
        return value
    if not isinstance(value, str) or not LOCAL_TIME_PATTERN.match(value):
        raise ValueError("Give a local time as HH:MM, e.g. 08:30")
    return dt.time(int(value[:2]), int(value[3:]))


# A wall-clock time at a location, "HH:MM". JSON Schema's "time" format would demand a UTC
# offset, which a local opening time does not have.
LocalTime = Annotated[
    dt.time,
    BeforeValidator(parse_local_time),
    PlainSerializer(lambda value: value.strftime("%H:%M"), return_type=str),
    WithJsonSchema(
        {"type": "string", "pattern": LOCAL_TIME_PATTERN.pattern, "examples": ["08:30"]}
    ),
]


def left_out() -> Any:
    """A field that may be left out but, when sent, must not be null.

    The ``None`` default only marks "not sent"; it stays out of the schema, which would
    otherwise advertise a value the field refuses.
    """
    return Field(default=None, json_schema_extra=_drop_default)


def _drop_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Input(BaseModel):
    # A misspelt field is an error, not something silently ignored.
    model_config = ConfigDict(extra="forbid")


# --- problems -----------------------------------------------------------------------------


class FieldError(BaseModel):
    field: str = Field(description="Where the problem is, e.g. `body.phone` or `query.limit`.")
    message: str


class Problem(BaseModel):
    """An error (RFC 9457 problem details)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str = Field(description="What went wrong and what to change, in plain words.")
    errors: list[FieldError] = Field(
        default_factory=list, description="One entry per invalid field, when input was refused."
    )
    rule: str | None = Field(
        default=None,
        description="When the scheduler refused: which rule (e.g. `chair`, `monitor`, "
        "`opening_hours` on a 422; `taken` on a 409).",
    )


# --- patients -----------------------------------------------------------------------------


class PatientSummary(Output):
    id: int
    mrn: str
    given_name: str
    family_name: str
    date_of_birth: dt.date
    email: str | None
    phone: str | None
    active: bool


class PatientList(BaseModel):
    items: list[PatientSummary]


class Patient(Output):
    id: int
    mrn: str
    given_name: str
    family_name: str
    date_of_birth: dt.date
    email: str | None
    phone: str | None = Field(description="E.164, e.g. `+12015550123`.")
    email_opt_in: bool
    sms_opt_in: bool
    sms_consent_at: dt.datetime | None = Field(
        description="When the patient agreed to text messages; set when `sms_opt_in` is turned on."
    )
    escort_name: str | None
    escort_phone: str | None
    rems_enrolled_on: dt.date | None
    notes: str
    active: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class PatientSearch(BaseModel):
    q: Text = Field(
        min_length=1,
        max_length=200,
        description="Words that must all match: a name or its start, an MRN, a date of birth "
        "(`YYYY-MM-DD`, `MM/DD/YYYY`) or a phone number. E.g. `kim 1984-02-03`.",
    )
    limit: int = Field(default=50, ge=1, le=200)
    include_inactive: bool = False


class PatientCreate(Input):
    mrn: Text
    given_name: Text
    family_name: Text
    date_of_birth: dt.date
    email: Text | None = None
    phone: Text | None = Field(default=None, description="With its country code; stored in E.164.")
    email_opt_in: bool = True
    sms_opt_in: bool = Field(default=False, description="Needs a phone number.")
    escort_name: Text | None = None
    escort_phone: Text | None = None
    rems_enrolled_on: dt.date | None = None
    notes: MultilineText = ""
    active: bool = True


class PatientUpdate(Input):
    """Only the fields sent change; ``null`` clears an optional field."""

    mrn: Text = left_out()
    given_name: Text = left_out()
    family_name: Text = left_out()
    date_of_birth: dt.date = left_out()
    email: Text | None = None
    phone: Text | None = None
    email_opt_in: bool = left_out()
    sms_opt_in: bool = left_out()
    escort_name: Text | None = None
    escort_phone: Text | None = None
    rems_enrolled_on: dt.date | None = None
    notes: Text = left_out()
    active: bool = left_out()


# --- clinic set-up (read-only) ------------------------------------------------------------


class ActiveFilter(BaseModel):
    include_inactive: bool = Field(default=False, description="Also list inactive records.")


class OpeningInterval(Output):
    weekday: int = Field(description="0 = Monday … 6 = Sunday.")
    opens: LocalTime = Field(description="Local wall-clock time at the location.")
    closes: LocalTime


class ClosureDay(Output):
    date: dt.date
    reason: str


class Location(Output):
    id: int
    name: str
    address: str
    phone: str | None
    email: str | None
    timezone: str = Field(description="IANA time zone, e.g. `America/New_York`.")
    active: bool
    opening_hours: list[OpeningInterval]
    closures: list[ClosureDay] = Field(description="Closure days from today on.")


class LocationList(BaseModel):
    items: list[Location]


class Chair(Output):
    id: int
    location_id: int
    label: str
    capabilities: list[str] = Field(description="e.g. `iv`, `nasal`.")
    active: bool


class ChairList(BaseModel):
    items: list[Chair]


class ChairFilter(ActiveFilter):
    location_id: Id | None = None


class StaffCertification(Output):
    kind: str = Field(description="e.g. `RN`, `ACLS`, `KETAMINE_IV`, `ESKETAMINE_REMS`.")
    valid_from: dt.date
    expires_on: dt.date


class StaffMember(Output):
    id: int
    name: str
    role: StaffRole
    active: bool
    certifications: list[StaffCertification]


class StaffList(BaseModel):
    items: list[StaffMember]


class StaffFilter(ActiveFilter):
    role: StaffRole | None = None


class TreatmentType(Output):
    id: int
    name: str
    route: Route
    prep_minutes: int
    treatment_minutes: int
    monitoring_minutes: int
    turnover_minutes: int
    chair_capability: str
    required_certifications: list[str]
    max_patients_per_monitor: int
    min_hours_between_doses: int = Field(
        description="Least hours between this dose and any other dose of the same patient, "
        "across every series and single session (the larger of the two types' spacings "
        "holds); 0 if this treatment gives no dose."
    )
    needs_prescriber_on_site: bool
    needs_rems_enrollment: bool
    needs_escort: bool
    patient_notice: str
    full_patient_notice: str = Field(
        description="What patients are told: the no-driving notice plus `patient_notice`."
    )
    active: bool


class TreatmentTypeList(BaseModel):
    items: list[TreatmentType]


class ProtocolPhase(Output):
    sessions: int
    sessions_per_week: int


class Protocol(Output):
    id: int
    name: str
    treatment_type_id: int
    phases: list[ProtocolPhase]
    session_count: int
    min_hours_between: int
    max_span_days: int | None
    description: str
    active: bool


class ProtocolList(BaseModel):
    items: list[Protocol]


class ProtocolFilter(ActiveFilter):
    treatment_type_id: Id | None = None


# --- appointments -------------------------------------------------------------------------


class Appointment(Output):
    id: int
    series_id: int | None
    patient_id: int
    treatment_type_id: int
    location_id: int
    chair_id: int
    monitor_id: int
    prescriber_id: int | None
    status: AppointmentStatus
    starts_at: dt.datetime
    treatment_ends_at: dt.datetime = Field(description="End of prep and dosing.")
    ends_at: dt.datetime = Field(description="End of monitoring: the patient may leave.")
    busy_until: dt.datetime = Field(description="The chair is free again (turnover included).")
    escort_name: str | None
    escort_phone: str | None
    escort_confirmed_at: dt.datetime | None
    discharge_override_reason: str | None
    cancel_reason: str | None
    cancelled_at: dt.datetime | None
    checked_in_at: dt.datetime | None
    discharged_at: dt.datetime | None
    calendar_sequence: int
    created_at: dt.datetime
    updated_at: dt.datetime


class AppointmentList(BaseModel):
    items: list[Appointment]


class AppointmentFilter(BaseModel):
    date: Day | None = Field(
        default=None, description="A day in the location's time (or UTC without a location)."
    )
    location_id: Id | None = None
    patient_id: Id | None = None
    include_released: bool = Field(default=True, description="Include cancelled and no-shows.")
    limit: int = Field(default=200, ge=1, le=1000)


class CheckInRequest(Input):
    escort_name: Text | None = None
    escort_phone: Text | None = None
    escort_confirmed: bool = False


class EscortRequest(Input):
    escort_name: Text | None = None
    escort_phone: Text | None = None


class DischargeRequest(Input):
    escort_confirmed: bool = Field(description="The escort is here to take the patient home.")
    override_reason: Text | None = Field(
        default=None,
        description="Why the patient leaves although a discharge condition is unmet (a nurse "
        "or prescriber only; audited).",
    )
    escort_name: Text | None = Field(
        default=None, max_length=120, description="Who takes the patient home, if not on file."
    )


Scope = Literal["one", "following", "all"]


class RescheduleRequest(Input):
    new_starts_at: Instant = Field(description="The new start, with its UTC offset.")
    scope: Scope = Field(
        default="one",
        description="`one` this session; `following` this and the later sessions of its series "
        "(moved by the same amount of local time); `all` the whole series.",
    )


class CancelRequest(Input):
    reason: Text = Field(min_length=1, max_length=300)
    scope: Scope = "one"


# --- the day board ------------------------------------------------------------------------


class BoardSession(Output):
    appointment_id: int
    patient_id: int
    patient_name: str
    mrn: str
    treatment_type_id: int
    treatment_name: str
    route: str
    chair_id: int
    chair_label: str
    monitor_id: int
    monitor_name: str
    prescriber_name: str | None
    status: AppointmentStatus
    status_label: str
    starts_at: dt.datetime
    treatment_ends_at: dt.datetime
    ends_at: dt.datetime
    busy_until: dt.datetime
    needs_escort: bool
    escort_name: str | None
    escort_phone: str | None
    escort_confirmed: bool
    series_id: int | None
    series_position: int | None
    series_total: int | None
    cancel_reason: str | None


class BoardBlock(Output):
    starts_at: dt.datetime
    ends_at: dt.datetime
    reason: str


class BoardLane(Output):
    chair_id: int
    label: str
    capabilities: list[str]
    active: bool
    sessions: list[BoardSession]
    blocks: list[BoardBlock]


class TimeWindow(BaseModel):
    starts_at: dt.datetime
    ends_at: dt.datetime


class OpeningWindow(BaseModel):
    opens: LocalTime
    closes: LocalTime


class CertificationWarning(Output):
    kind: str
    expires_on: dt.date
    days_left: int = Field(description="Negative once expired.")
    expired: bool


class BoardStaff(BaseModel):
    staff_id: int
    name: str
    role: str
    on_shift: bool = Field(description="False: monitors sessions but has no shift that day.")
    shifts: list[TimeWindow]
    time_off: list[TimeWindow]
    sessions: int
    peak_patients: int
    patients_now: int | None = Field(description="Only on today's board.")
    certification_warnings: list[CertificationWarning]


class DayBoard(BaseModel):
    """One location's day. Times carry the location's UTC offset."""

    location_id: int
    location_name: str
    timezone: str
    day: dt.date
    is_closed: bool
    closure_reason: str | None
    opening: list[OpeningWindow]
    window_start: dt.datetime
    window_end: dt.datetime
    now: dt.datetime | None = Field(description="Local now, when it falls inside the window.")
    lanes: list[BoardLane]
    staff: list[BoardStaff]
    sessions: list[BoardSession] = Field(description="Live sessions, by start.")
    released: list[BoardSession] = Field(description="Cancelled sessions and no-shows.")
    status_counts: dict[str, int]


class BoardQuery(BaseModel):
    date: Day | None = Field(
        default=None, description="The day, in the location's time; today when left out."
    )


# --- availability and series --------------------------------------------------------------


class Slot(Output):
    """A feasible session: when, which chair, who monitors (and who prescribes)."""

    starts_at: dt.datetime
    local_starts_at: dt.datetime = Field(description="`starts_at` in the location's time.")
    treatment_ends_at: dt.datetime
    ends_at: dt.datetime = Field(description="End of monitoring: the patient may leave.")
    busy_until: dt.datetime = Field(description="The chair is free again (turnover included).")
    location_id: int
    chair_id: int
    chair_label: str
    monitor_id: int
    monitor_name: str
    prescriber_id: int | None
    prescriber_name: str | None


class SlotList(BaseModel):
    items: list[Slot]


class AvailabilityQuery(BaseModel):
    treatment_type_id: Id
    location_id: Id
    start_date: Day = Field(description="First local day to search.")
    end_date: Day | None = Field(
        default=None, description="Last local day (inclusive); `start_date` when left out."
    )
    patient_id: Id | None = Field(
        default=None, description="Also avoid this patient's other sessions and check REMS."
    )
    limit: int = Field(default=20, ge=1, le=100)
    per_day: int = Field(default=4, ge=1, le=20, description="Best starts offered per day.")


Weekday = Annotated[int, Field(ge=0, le=6)]


class ProtocolPlan(Input):
    """Target dates from a protocol's phases."""

    kind: Literal["protocol"]
    protocol_id: Id
    location_id: Id
    first_date: Day
    weekdays: list[Weekday] = Field(
        default_factory=list,
        max_length=7,
        description="Preferred weekdays (0 = Monday). Left out: each phase spreads its "
        "sessions evenly from the first date's weekday.",
    )
    preferred_start: LocalTime | None = Field(
        default=None, description="Earliest preferred local start, `HH:MM`."
    )
    preferred_end: LocalTime | None = Field(
        default=None, description="Latest preferred local start, `HH:MM`."
    )


class CustomPlan(Input):
    """``count`` sessions on the given weekdays from ``first_date`` on."""

    kind: Literal["custom"]
    treatment_type_id: Id
    location_id: Id
    first_date: Day
    count: int = Field(ge=1, le=60)
    weekdays: list[Weekday] = Field(min_length=1, max_length=7)
    min_hours_between: int = Field(default=24, ge=0, le=672)
    preferred_start: LocalTime | None = None
    preferred_end: LocalTime | None = None


Plan = Annotated[ProtocolPlan | CustomPlan, Field(discriminator="kind")]


class SeriesPreviewRequest(Input):
    patient_id: Id
    plan: Plan
    dates: list[Day] | None = Field(
        default=None,
        min_length=1,
        max_length=60,
        description="Aim at these local dates instead of the plan's own (e.g. after moving one).",
    )


class ChosenSlot(Input):
    """A slot accepted from a preview (its proposal or one of its alternatives)."""

    starts_at: Instant
    chair_id: Id
    monitor_id: Id
    prescriber_id: Id | None = None


class SeriesBookingRequest(SeriesPreviewRequest):
    proposals: list[ChosenSlot] | None = Field(
        default=None,
        min_length=1,
        max_length=60,
        description="The slots to book, as accepted from the preview; each is re-checked and "
        "a 409 says if one was taken meanwhile. Left out: the plan is searched afresh and "
        "booked only if every date can be met.",
    )


class PlannedSeries(Output):
    treatment_type_id: int
    location_id: int
    protocol_id: int | None
    dates: list[dt.date]
    min_hours_between: int
    weekdays: list[int]
    max_span_days: int | None


class ProposedSession(Output):
    index: int = Field(description="1-based position in the series.")
    target_date: dt.date
    slot: Slot | None = Field(description="The proposal; null when the date cannot be met.")
    reason: str | None = Field(description="Why the date cannot be met.")
    alternatives: list[Slot] = Field(description="The nearest other slots.")


class SeriesPreview(Output):
    patient_id: int
    location_name: str
    treatment_name: str
    timezone: str
    complete: bool = Field(description="Every planned session has a proposal.")
    plan: PlannedSeries
    sessions: list[ProposedSession]


class Series(Output):
    id: int
    patient_id: int
    treatment_type_id: int
    protocol_id: int | None
    status: SeriesStatus
    created_at: dt.datetime
    appointments: list[Appointment]
