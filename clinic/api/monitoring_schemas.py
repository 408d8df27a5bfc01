"""The session record's wire format (pydantic): what a field must look like to be read.

Whether a value is acceptable (plausible vitals, a dose under the maximum, a time not in the
future) is decided once, by ``clinic.monitoring``, for the pages and the API alike; these
models only refuse what is not even a number or a time.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field, model_validator

from ..monitoring import inputs as record_inputs
from .schemas import Id, Input, Instant, Output, Text

Whole = int
Amount = float


class VitalsIn(Input):
    taken_at: Instant
    systolic: Whole = Field(description="mmHg; 40–300.")
    diastolic: Whole = Field(description="mmHg; below the systolic.")
    heart_rate: Whole = Field(description="Beats per minute; 20–250.")
    spo2: Whole = Field(description="Percent; 50–100.")
    respiratory_rate: Whole | None = Field(default=None, description="Breaths per minute.")

    def to_input(self) -> record_inputs.VitalsInput:
        return record_inputs.VitalsInput(**self.model_dump())


class IvDoseIn(Input):
    infusion_starts_at: Instant
    infusion_ends_at: Instant | None = Field(default=None, description="Once it has ended.")
    weight_kg: Amount = Field(allow_inf_nan=False)
    mg_per_kg: Amount = Field(allow_inf_nan=False)
    total_mg: Amount = Field(allow_inf_nan=False, description="weight × mg/kg.")

    def to_input(self) -> record_inputs.IvDoseInput:
        return record_inputs.IvDoseInput(**self.model_dump())


class NasalDoseIn(Input):
    device_times: list[Instant] = Field(
        min_length=1, max_length=10, description="When each 28 mg device was used, in order."
    )
    total_mg: Amount = Field(allow_inf_nan=False, description="28 mg per device.")

    def to_input(self) -> record_inputs.NasalDoseInput:
        return record_inputs.NasalDoseInput(
            device_times=tuple(self.device_times), total_mg=self.total_mg
        )


class ObservationIn(Input):
    taken_at: Instant
    sedation_level: Whole = Field(description="MOAA/S, 0 (no response) to 5 (alert).")
    dissociation_level: Whole = Field(description="0 none, 1 mild, 2 moderate, 3 severe.")
    side_effects: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="Any of: " + ", ".join(f"`{key}`" for key in record_inputs.SIDE_EFFECTS) + ".",
    )
    text: Text = Field(default="", max_length=2000)

    def to_input(self) -> record_inputs.ObservationInput:
        return record_inputs.ObservationInput(
            taken_at=self.taken_at,
            sedation_level=self.sedation_level,
            dissociation_level=self.dissociation_level,
            side_effects=tuple(self.side_effects),
            text=self.text,
        )


class NoteIn(Input):
    taken_at: Instant
    text: Text = Field(max_length=2000)

    def to_input(self) -> record_inputs.NoteInput:
        return record_inputs.NoteInput(taken_at=self.taken_at, text=self.text)


class AssessmentIn(Input):
    taken_at: Instant
    score: Whole = Field(
        description="On the treatment type's discharge scale (modified Aldrete, 0–10)."
    )
    text: Text = Field(default="", max_length=2000)

    def to_input(self) -> record_inputs.AssessmentInput:
        return record_inputs.AssessmentInput(
            taken_at=self.taken_at, score=self.score, text=self.text
        )


class AmendmentIn(Input):
    """The corrected entry (exactly one member, of the original's kind) and why."""

    reason: Text = Field(min_length=1, max_length=300)
    vitals: VitalsIn | None = None
    iv_dose: IvDoseIn | None = None
    nasal_dose: NasalDoseIn | None = None
    observation: ObservationIn | None = None
    note: NoteIn | None = None
    assessment: AssessmentIn | None = None

    @model_validator(mode="after")
    def exactly_one(self) -> AmendmentIn:
        given = [name for name in self.kinds() if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("Give exactly one corrected entry: " + ", ".join(self.kinds()) + ".")
        return self

    @staticmethod
    def kinds() -> tuple[str, ...]:
        return ("vitals", "iv_dose", "nasal_dose", "observation", "note", "assessment")

    def to_input(self) -> record_inputs.EntryInput:
        for name in self.kinds():
            member = getattr(self, name)
            if member is not None:
                return member.to_input()
        raise ValueError("no corrected entry")


class RecordEntryOut(Output):
    id: int
    appointment_id: int
    kind: str
    taken_at: dt.datetime
    recorded_at: dt.datetime
    recorded_by: str
    amends_id: int | None
    amend_reason: str | None
    weight_kg: float | None
    mg_per_kg: float | None
    total_mg: float | None
    infusion_ends_at: dt.datetime | None
    devices: int | None
    device_times: list[dt.datetime] | None
    systolic: int | None
    diastolic: int | None
    heart_rate: int | None
    spo2: int | None
    respiratory_rate: int | None
    scale: str | None
    sedation_level: int | None
    dissociation_level: int | None
    side_effects: list[str] | None
    score: int | None
    text: str | None


class CheckpointOut(Output):
    label: str
    at: str = Field(description="`before_start`, `after_start` or `before_discharge`.")
    minutes: int | None
    due_at: dt.datetime | None
    state: str = Field(description="`done`, `due`, `overdue` or `upcoming`.")
    entry_id: int | None
    taken_at: dt.datetime | None


class OverrideOut(Output):
    override_reason: str | None
    override_conditions: list[str] | None
    override_by: str | None
    overridden_at: dt.datetime | None


class RemsStatusOut(Output):
    appointment_id: int
    rems_submitted_at: dt.datetime | None
    rems_reference: str | None
    rems_submitted_by: str | None


class SessionRecordOut(BaseModel):
    appointment_id: int
    entries: list[RecordEntryOut] = Field(description="Every entry, originals and amendments.")
    current_entry_ids: list[int] = Field(description="The entries not replaced by an amendment.")
    checkpoints: list[CheckpointOut]
    discharge_conditions: list[str] = Field(
        description="What discharge still needs (while the patient is being monitored)."
    )
    override: OverrideOut | None
    treatment_started_at: dt.datetime | None


class FormDueOut(Output):
    appointment_id: int
    patient_id: int
    patient_name: str
    mrn: str
    location_name: str
    session_day: dt.date
    deadline: dt.date
    days_left: int


class FormsDueList(BaseModel):
    items: list[FormDueOut]


class RemsSubmittedIn(Input):
    reference: Text = Field(min_length=1, max_length=60)


class FormsDueFilter(Input):
    location_id: Id | None = Field(default=None, description="Only this location's sessions.")
