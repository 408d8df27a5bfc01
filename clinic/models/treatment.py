"""What is given (treatment types) and in what rhythm (protocols)."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, enum_column


# The session record's defaults for a treatment type that does not set its own: a baseline
# reading before treatment and one before discharge, and discharge vitals a clinician would
# accept for a patient going home (issue 12).
def default_checkpoints() -> list[dict[str, Any]]:
    return [
        {"label": "Baseline", "at": "before_start"},
        {"label": "Before discharge", "at": "before_discharge"},
    ]


def default_discharge_limits() -> dict[str, int]:
    return {
        "systolic_max": 160,
        "systolic_min": 90,
        "diastolic_max": 100,
        "heart_rate_max": 110,
        "heart_rate_min": 50,
        "spo2_min": 94,
    }


NO_DRIVING_NOTICE = (
    "Do not drive, cycle or operate machinery for the rest of the day after your session. "
    "Please bring an adult who can take you home."
)


class Route(enum.StrEnum):
    IV = "iv"
    NASAL = "nasal"


class TreatmentType(Base):
    __tablename__ = "treatment_type"
    __table_args__ = (
        sa.CheckConstraint(
            "prep_minutes >= 0 AND treatment_minutes > 0 AND monitoring_minutes >= 0"
            " AND turnover_minutes >= 0",
            name="durations_non_negative",
        ),
        sa.CheckConstraint("max_patients_per_monitor >= 1", name="ratio_positive"),
        # --- dose spacing (issue 12, points 1-2) ---
        sa.CheckConstraint(
            "min_hours_between_doses >= 0 AND min_hours_between_doses <= 672",
            name="dose_spacing_range",
        ),
        # --- end dose spacing ---
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    route: Mapped[Route] = mapped_column(enum_column(Route))
    prep_minutes: Mapped[int] = mapped_column(default=0)
    treatment_minutes: Mapped[int]
    monitoring_minutes: Mapped[int] = mapped_column(default=0)
    turnover_minutes: Mapped[int] = mapped_column(default=0)
    # The Capability a chair must have for this treatment.
    chair_capability: Mapped[str] = mapped_column(sa.String(20))
    # Certification kinds the monitor must hold, valid on the session date.
    required_certifications: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    max_patients_per_monitor: Mapped[int] = mapped_column(default=1)
    needs_prescriber_on_site: Mapped[bool] = mapped_column(default=False)
    needs_rems_enrollment: Mapped[bool] = mapped_column(default=False)
    needs_escort: Mapped[bool] = mapped_column(default=True)
    # Extra patient-facing text; the no-driving notice is always added on top of it.
    patient_notice: Mapped[str] = mapped_column(sa.Text, default="")
    active: Mapped[bool] = mapped_column(default=True)

    # --- dose spacing (issue 12, points 1-2) ---
    # The least time, in hours, between the start of a session of this type and any other
    # dosing session of the same patient, whatever its series, type or location
    # (``clinic.scheduling.rules.doses``). 0: this type gives no dose and is not counted.
    min_hours_between_doses: Mapped[int] = mapped_column(default=24, server_default="24")
    # --- end dose spacing ---
    # --- the session record and its gates (issue 12) ---------------------------------------
    # Vitals checkpoints relative to treatment start: {"label", "at", "minutes"} with "at" one
    # of "before_start", "after_start" (``minutes`` after the start) or "before_discharge".
    checkpoints: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=default_checkpoints)
    # Treatment may start at most this long before the booked start.
    start_early_minutes: Mapped[int] = mapped_column(default=30)
    # Minimum observation after the dose before discharge; None: the booked monitoring time.
    min_monitoring_minutes: Mapped[int | None]
    # The last vitals before discharge must lie within these (see default_discharge_limits).
    discharge_limits: Mapped[dict[str, int]] = mapped_column(
        sa.JSON, default=default_discharge_limits
    )
    # The discharge assessment: a score on this scale of at least ``discharge_min_score``.
    discharge_scale: Mapped[str] = mapped_column(sa.String(60), default="Modified Aldrete")
    discharge_min_score: Mapped[int] = mapped_column(default=9)
    # The largest dose the record accepts (None: no limit of that kind).
    max_dose_mg: Mapped[float | None]
    max_dose_mg_per_kg: Mapped[float | None]

    @property
    def minimum_monitoring_minutes(self) -> int:
        if self.min_monitoring_minutes is None:
            return self.monitoring_minutes
        return self.min_monitoring_minutes

    @property
    def patient_minutes(self) -> int:
        """How long the patient is in the chair: prep, dosing and monitoring."""
        return self.prep_minutes + self.treatment_minutes + self.monitoring_minutes

    @property
    def chair_minutes(self) -> int:
        """How long the chair is busy: the patient's time plus turnover."""
        return self.patient_minutes + self.turnover_minutes

    def windows(self, starts_at: dt.datetime) -> tuple[dt.datetime, dt.datetime, dt.datetime]:
        """(treatment_ends_at, ends_at, busy_until) for a session starting at ``starts_at``."""
        minutes = dt.timedelta(minutes=1)
        treatment_ends_at = starts_at + (self.prep_minutes + self.treatment_minutes) * minutes
        ends_at = treatment_ends_at + self.monitoring_minutes * minutes
        return treatment_ends_at, ends_at, ends_at + self.turnover_minutes * minutes

    @property
    def full_patient_notice(self) -> str:
        return f"{NO_DRIVING_NOTICE} {self.patient_notice}".strip()


class Protocol(Base):
    """A series template.

    ``phases`` is a list of ``{"sessions": int, "sessions_per_week": int}``: e.g. esketamine
    induction is ``[{"sessions": 8, "sessions_per_week": 2}, {"sessions": 4,
    "sessions_per_week": 1}]``. ``max_span_days`` bounds the whole series (IV induction: 6
    sessions within 21 days) and ``min_hours_between`` the gap between two sessions.
    """

    __tablename__ = "protocol"
    __table_args__ = (
        sa.CheckConstraint("min_hours_between >= 0", name="spacing_non_negative"),
        sa.CheckConstraint("max_span_days IS NULL OR max_span_days > 0", name="span_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    treatment_type_id: Mapped[int] = mapped_column(
        sa.ForeignKey("treatment_type.id", ondelete="RESTRICT"), index=True
    )
    phases: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    min_hours_between: Mapped[int] = mapped_column(default=24)
    max_span_days: Mapped[int | None]
    description: Mapped[str] = mapped_column(sa.Text, default="")
    active: Mapped[bool] = mapped_column(default=True)

    treatment_type: Mapped[TreatmentType] = relationship()

    @property
    def session_count(self) -> int:
        return sum(int(phase["sessions"]) for phase in self.phases)
