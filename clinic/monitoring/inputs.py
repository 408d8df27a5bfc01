"""What a nurse records, as typed inputs, and the checks every entry passes (web and API).

``validate_entry`` refuses implausible values with one message per field; nothing is saved
when any field is refused. The limits are plausibility limits (a reading no monitor gives a
living patient), not clinical alarms: an alarming reading is recorded, and the discharge gate
judges it against the treatment type's own limits.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

from ..models import Appointment, EntryKind, TreatmentType
from .errors import RecordInvalid

SYSTOLIC = (40, 300)
DIASTOLIC = (20, 200)
HEART_RATE = (20, 250)
SPO2 = (50, 100)
RESPIRATORY_RATE = (4, 60)
WEIGHT_KG = (20.0, 350.0)
NASAL_DEVICE_MG = 28
MAX_NOTE = 2000
MAX_REASON = 300
MIN_REASON = 3

SEDATION_SCALE = "MOAA/S"  # Modified Observer's Assessment of Alertness/Sedation, 0–5
SEDATION_LEVELS = {
    5: "5 – responds readily to name",
    4: "4 – lethargic response to name",
    3: "3 – responds only after name called loudly",
    2: "2 – responds only after mild prodding",
    1: "1 – responds only after painful stimulus",
    0: "0 – no response",
}
DISSOCIATION_LEVELS = {0: "None", 1: "Mild", 2: "Moderate", 3: "Severe"}
SIDE_EFFECTS = {
    "irregular_heart_rate": "Irregular heart rate",
    "raised_blood_pressure": "Raised blood pressure",
    "altered_alertness": "Altered alertness",
    "drowsiness": "Drowsiness",
    "euphoria": "Euphoria",
    "blurred_or_double_vision": "Blurred or double vision",
    "dizziness": "Dizziness",
    "loss_of_appetite": "Loss of appetite",
    "nausea": "Nausea",
    "vomiting": "Vomiting",
    "headache": "Headache",
    "anxiety": "Anxiety",
}
ALDRETE_RANGE = (0, 10)


@dataclass(frozen=True, slots=True)
class VitalsInput:
    taken_at: dt.datetime
    systolic: int
    diastolic: int
    heart_rate: int
    spo2: int
    respiratory_rate: int | None = None
    kind: EntryKind = field(default=EntryKind.VITALS, init=False)


@dataclass(frozen=True, slots=True)
class IvDoseInput:
    infusion_starts_at: dt.datetime
    weight_kg: float
    mg_per_kg: float
    total_mg: float
    infusion_ends_at: dt.datetime | None = None
    kind: EntryKind = field(default=EntryKind.DOSE, init=False)

    @property
    def taken_at(self) -> dt.datetime:
        return self.infusion_starts_at


@dataclass(frozen=True, slots=True)
class NasalDoseInput:
    device_times: tuple[dt.datetime, ...]
    total_mg: float
    kind: EntryKind = field(default=EntryKind.DOSE, init=False)

    @property
    def devices(self) -> int:
        return len(self.device_times)

    @property
    def taken_at(self) -> dt.datetime:
        return min(self.device_times)


@dataclass(frozen=True, slots=True)
class ObservationInput:
    taken_at: dt.datetime
    sedation_level: int
    dissociation_level: int
    side_effects: tuple[str, ...] = ()
    text: str = ""
    kind: EntryKind = field(default=EntryKind.OBSERVATION, init=False)


@dataclass(frozen=True, slots=True)
class NoteInput:
    taken_at: dt.datetime
    text: str
    kind: EntryKind = field(default=EntryKind.NOTE, init=False)


@dataclass(frozen=True, slots=True)
class AssessmentInput:
    taken_at: dt.datetime
    score: int
    text: str = ""
    kind: EntryKind = field(default=EntryKind.ASSESSMENT, init=False)


EntryInput = (
    VitalsInput | IvDoseInput | NasalDoseInput | ObservationInput | NoteInput | AssessmentInput
)


def _in_range(errors: dict[str, str], name: str, label: str, value: float, bounds: tuple) -> None:
    low, high = bounds
    if not math.isfinite(value) or not low <= value <= high:
        errors[name] = f"{label} must be between {low} and {high}."


def _check_time(
    errors: dict[str, str],
    name: str,
    moment: dt.datetime,
    appointment: Appointment,
    now: dt.datetime,
) -> None:
    tz = appointment.location.tz
    if moment.tzinfo is None:
        errors[name] = "Give the time with its time zone."
    elif moment > now:
        errors[name] = f"The time {moment.astimezone(tz):%H:%M} is in the future."
    elif appointment.checked_in_at is not None and moment < appointment.checked_in_at:
        errors[name] = (
            f"The time {moment.astimezone(tz):%H:%M} is before the patient was checked in "
            f"({appointment.checked_in_at.astimezone(tz):%H:%M})."
        )


def _vitals(errors: dict[str, str], entry: VitalsInput) -> None:
    _in_range(errors, "systolic", "Systolic blood pressure", entry.systolic, SYSTOLIC)
    _in_range(errors, "diastolic", "Diastolic blood pressure", entry.diastolic, DIASTOLIC)
    if "systolic" not in errors and "diastolic" not in errors and entry.diastolic >= entry.systolic:
        errors["diastolic"] = "Diastolic blood pressure must be below the systolic."
    _in_range(errors, "heart_rate", "Heart rate", entry.heart_rate, HEART_RATE)
    _in_range(errors, "spo2", "SpO2", entry.spo2, SPO2)
    if entry.respiratory_rate is not None:
        _in_range(
            errors, "respiratory_rate", "Respiratory rate", entry.respiratory_rate, RESPIRATORY_RATE
        )


def _iv_dose(errors: dict[str, str], entry: IvDoseInput, treatment: TreatmentType) -> None:
    _in_range(errors, "weight_kg", "Weight (kg)", entry.weight_kg, WEIGHT_KG)
    if not math.isfinite(entry.mg_per_kg) or entry.mg_per_kg <= 0:
        errors["mg_per_kg"] = "The dose per kilogram must be more than 0."
    elif (
        treatment.max_dose_mg_per_kg is not None and entry.mg_per_kg > treatment.max_dose_mg_per_kg
    ):
        errors["mg_per_kg"] = (
            f"{entry.mg_per_kg:g} mg/kg is above the maximum for {treatment.name} "
            f"({treatment.max_dose_mg_per_kg:g} mg/kg)."
        )
    _total(errors, entry.total_mg, treatment)
    if not errors:
        expected = entry.weight_kg * entry.mg_per_kg
        if abs(expected - entry.total_mg) > max(1.0, expected * 0.02):
            errors["total_mg"] = (
                f"The total does not match weight × dose ({expected:.1f} mg); check the numbers."
            )
    if entry.infusion_ends_at is not None and entry.infusion_ends_at <= entry.infusion_starts_at:
        errors["infusion_ends_at"] = "The infusion must end after it started."


def _total(errors: dict[str, str], total_mg: float, treatment: TreatmentType) -> None:
    if not math.isfinite(total_mg) or total_mg <= 0:
        errors["total_mg"] = "The total dose must be more than 0 mg."
    elif treatment.max_dose_mg is not None and total_mg > treatment.max_dose_mg:
        errors["total_mg"] = (
            f"{total_mg:g} mg is above the maximum for {treatment.name} "
            f"({treatment.max_dose_mg:g} mg)."
        )


def _nasal_dose(errors: dict[str, str], entry: NasalDoseInput, treatment: TreatmentType) -> None:
    if not entry.device_times:
        errors["device_times"] = "Give the time of each device."
        return
    if list(entry.device_times) != sorted(entry.device_times):
        errors["device_times"] = "Give the device times in the order they were used."
    _total(errors, entry.total_mg, treatment)
    if "total_mg" not in errors and entry.total_mg != entry.devices * NASAL_DEVICE_MG:
        errors["total_mg"] = (
            f"{entry.devices} device(s) of {NASAL_DEVICE_MG} mg make "
            f"{entry.devices * NASAL_DEVICE_MG} mg, not {entry.total_mg:g} mg."
        )


def validate_entry(entry: EntryInput, appointment: Appointment, *, now: dt.datetime) -> None:
    """Raise ``RecordInvalid`` naming every field that cannot be accepted."""
    errors: dict[str, str] = {}
    treatment = appointment.treatment_type
    if isinstance(entry, VitalsInput):
        _vitals(errors, entry)
    elif isinstance(entry, IvDoseInput):
        if treatment.route != "iv":
            errors["kind"] = f"{treatment.name} is not an infusion; record the devices given."
        else:
            _iv_dose(errors, entry, treatment)
            if entry.infusion_ends_at is not None:
                _check_time(errors, "infusion_ends_at", entry.infusion_ends_at, appointment, now)
    elif isinstance(entry, NasalDoseInput):
        if treatment.route != "nasal":
            errors["kind"] = f"{treatment.name} is an infusion; record weight and dose."
        else:
            _nasal_dose(errors, entry, treatment)
            for moment in entry.device_times:
                _check_time(errors, "device_times", moment, appointment, now)
    elif isinstance(entry, ObservationInput):
        if entry.sedation_level not in SEDATION_LEVELS:
            errors["sedation_level"] = f"Give a {SEDATION_SCALE} level from 0 to 5."
        if entry.dissociation_level not in DISSOCIATION_LEVELS:
            errors["dissociation_level"] = "Give a dissociation level from 0 (none) to 3 (severe)."
        unknown = sorted(set(entry.side_effects) - set(SIDE_EFFECTS))
        if unknown:
            errors["side_effects"] = "Unknown side effect: " + ", ".join(unknown) + "."
        _check_text(errors, entry.text, required=False)
    elif isinstance(entry, NoteInput):
        _check_text(errors, entry.text, required=True)
    elif isinstance(entry, AssessmentInput):
        _in_range(
            errors, "score", f"The {treatment.discharge_scale} score", entry.score, ALDRETE_RANGE
        )
        _check_text(errors, entry.text, required=False)
    if "taken_at" not in errors and not isinstance(entry, NasalDoseInput):
        name = "infusion_starts_at" if isinstance(entry, IvDoseInput) else "taken_at"
        _check_time(errors, name, entry.taken_at, appointment, now)
    if errors:
        raise RecordInvalid(fields=errors)


def _check_text(errors: dict[str, str], text: str, *, required: bool) -> None:
    if required and not text.strip():
        errors["text"] = "Write the note."
    elif len(text) > MAX_NOTE:
        errors["text"] = f"A note may be at most {MAX_NOTE} characters."
    elif "\x00" in text:
        errors["text"] = "The note contains a character that cannot be stored."


def clean_reason(reason: str | None, *, what: str) -> str:
    text = " ".join((reason or "").split())
    if len(text) < MIN_REASON:
        raise RecordInvalid(fields={"reason": f"Give the reason for the {what}."})
    if len(text) > MAX_REASON or "\x00" in text:
        raise RecordInvalid(
            fields={"reason": f"The reason may be at most {MAX_REASON} characters."}
        )
    return text
