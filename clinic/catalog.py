"""The treatment types and protocols the clinic ships with, defined once.

The demo clinic, the benchmark's synthetic clinic and the tests all build their treatments
from these constants, so "how long an IV infusion takes" or "how many nasal patients one
nurse may watch" is written in one place. ``add_catalogue`` puts them in a database (once:
rows already there under the same name are reused).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .models import Protocol, TreatmentType
from .models.treatment import Route

IV_CERTIFICATIONS = ("RN", "ACLS", "KETAMINE_IV")
NASAL_CERTIFICATIONS = ("RN", "ESKETAMINE_REMS")


@dataclass(frozen=True)
class TreatmentSpec:
    """A treatment type as shipped; ``to_model`` makes the row (overrides for tests)."""

    name: str
    route: Route
    prep_minutes: int
    treatment_minutes: int
    monitoring_minutes: int
    turnover_minutes: int
    chair_capability: str
    required_certifications: tuple[str, ...]
    max_patients_per_monitor: int
    needs_prescriber_on_site: bool
    needs_rems_enrollment: bool
    patient_notice: str
    # Dose spacing: least hours between this dose and any other of the same patient.
    min_hours_between_doses: int = 24
    # The session record (issue 12): checkpoints relative to treatment start, minimum
    # observation after the dose, the largest accepted dose.
    checkpoints: tuple[dict[str, Any], ...] = ()
    min_monitoring_minutes: int | None = None
    max_dose_mg: float | None = None
    max_dose_mg_per_kg: float | None = None

    def fields(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "route": self.route,
            "prep_minutes": self.prep_minutes,
            "treatment_minutes": self.treatment_minutes,
            "monitoring_minutes": self.monitoring_minutes,
            "turnover_minutes": self.turnover_minutes,
            "chair_capability": self.chair_capability,
            "required_certifications": list(self.required_certifications),
            "max_patients_per_monitor": self.max_patients_per_monitor,
            "needs_prescriber_on_site": self.needs_prescriber_on_site,
            "needs_rems_enrollment": self.needs_rems_enrollment,
            "patient_notice": self.patient_notice,
            "min_hours_between_doses": self.min_hours_between_doses,
            "checkpoints": [dict(checkpoint) for checkpoint in self.checkpoints],
            "min_monitoring_minutes": self.min_monitoring_minutes,
            "max_dose_mg": self.max_dose_mg,
            "max_dose_mg_per_kg": self.max_dose_mg_per_kg,
        }

    def to_model(self, **overrides: Any) -> TreatmentType:
        return TreatmentType(**{**self.fields(), **overrides})


@dataclass(frozen=True)
class Phase:
    sessions: int
    sessions_per_week: int


@dataclass(frozen=True)
class ProtocolSpec:
    """A series template as shipped, for the treatment ``treatment`` names."""

    name: str
    treatment: TreatmentSpec
    phases: tuple[Phase, ...]
    min_hours_between: int
    max_span_days: int | None
    description: str

    def to_model(self, treatment_type: TreatmentType, **overrides: Any) -> Protocol:
        fields: dict[str, Any] = {
            "name": self.name,
            "treatment_type": treatment_type,
            "phases": [
                {"sessions": phase.sessions, "sessions_per_week": phase.sessions_per_week}
                for phase in self.phases
            ],
            "min_hours_between": self.min_hours_between,
            "max_span_days": self.max_span_days,
            "description": self.description,
        }
        return Protocol(**{**fields, **overrides})


def iv_checkpoints(infusion_minutes: int, every: int = 15) -> tuple[dict[str, Any], ...]:
    """Baseline before the start, every ``every`` minutes during the infusion, at its end,
    and before discharge: ketamine raises blood pressure and heart rate while it runs."""
    during = [
        {"label": f"{minutes} min", "at": "after_start", "minutes": minutes}
        for minutes in range(every, infusion_minutes, every)
    ]
    return (
        {"label": "Baseline", "at": "before_start"},
        *during,
        {"label": "End of infusion", "at": "after_start", "minutes": infusion_minutes},
        {"label": "Before discharge", "at": "before_discharge"},
    )


# The Spravato label: blood pressure before dosing and about 40 minutes after, and again
# before the patient leaves.
ESKETAMINE_CHECKPOINTS: tuple[dict[str, Any], ...] = (
    {"label": "Before dosing", "at": "before_start"},
    {"label": "40 min", "at": "after_start", "minutes": 40},
    {"label": "Before discharge", "at": "before_discharge"},
)
NASAL_DEVICE_MG = 28

IV_KETAMINE = TreatmentSpec(
    name="IV ketamine infusion",
    route=Route.IV,
    prep_minutes=15,
    treatment_minutes=45,
    monitoring_minutes=45,
    turnover_minutes=15,
    chair_capability="iv",
    required_certifications=IV_CERTIFICATIONS,
    # Two patients per nurse: infusions need vitals every 15 minutes.
    max_patients_per_monitor=2,
    needs_prescriber_on_site=False,
    needs_rems_enrollment=False,
    patient_notice="Eat nothing for 4 hours before your infusion; clear fluids are fine up to "
    "2 hours before.",
    # The IV induction protocol gives its infusions "at least a day apart": 24 h between
    # dose starts, so a second infusion can never fall on the same day or the next morning.
    min_hours_between_doses=24,
    checkpoints=iv_checkpoints(45),
    # Observed at least 30 minutes after the infusion ends, until discharge criteria are met.
    min_monitoring_minutes=30,
    # The usual antidepressant protocols give 0.5 to 1 mg/kg over 40 to 45 minutes.
    max_dose_mg=150,
    max_dose_mg_per_kg=1.0,
)
ESKETAMINE_NASAL = TreatmentSpec(
    name="Esketamine nasal spray",
    route=Route.NASAL,
    prep_minutes=10,
    treatment_minutes=15,
    # The Spravato REMS: at least two hours of observation, a prescriber on site, and only
    # patients enrolled in the REMS programme.
    monitoring_minutes=120,
    turnover_minutes=10,
    chair_capability="nasal",
    required_certifications=NASAL_CERTIFICATIONS,
    max_patients_per_monitor=3,
    needs_prescriber_on_site=True,
    needs_rems_enrollment=True,
    patient_notice="You will be observed for at least 2 hours after the dose.",
    # Induction is twice a week. 48 h is the widest spacing that still lets every
    # twice-a-week pattern of a weekday clinic through (Mon/Wed, Tue/Thu, Wed/Fri, Mon/Thu at
    # any hours), and it rules out doses on consecutive days; the protocol plans 48 h too.
    min_hours_between_doses=48,
    checkpoints=ESKETAMINE_CHECKPOINTS,
    min_monitoring_minutes=120,
    # 56 or 84 mg per session: two or three 28 mg devices.
    max_dose_mg=3 * NASAL_DEVICE_MG,
)
IV_INDUCTION = ProtocolSpec(
    name="IV ketamine induction",
    treatment=IV_KETAMINE,
    phases=(Phase(sessions=6, sessions_per_week=3),),
    min_hours_between=24,
    max_span_days=21,
    description="Six infusions within two to three weeks, at least a day apart.",
)
ESKETAMINE_INDUCTION = ProtocolSpec(
    name="Esketamine induction and maintenance",
    treatment=ESKETAMINE_NASAL,
    phases=(Phase(sessions=8, sessions_per_week=2), Phase(sessions=4, sessions_per_week=1)),
    min_hours_between=48,
    max_span_days=56,
    description="Twice weekly for four weeks, then weekly for four weeks.",
)
TREATMENTS = (IV_KETAMINE, ESKETAMINE_NASAL)
PROTOCOLS = (IV_INDUCTION, ESKETAMINE_INDUCTION)


@dataclass
class Catalogue:
    """The shipped rows in one database, and how many of them this call added."""

    iv: TreatmentType
    nasal: TreatmentType
    iv_protocol: Protocol
    nasal_protocol: Protocol
    added: dict[str, int] = field(default_factory=dict)


def add_catalogue(session: Session) -> Catalogue:
    """Add the shipped treatment types and protocols that are not there yet (by name); flush.

    Rows already present are reused as they are: an admin may have tuned them.
    """
    added = {"treatment types": 0, "protocols": 0}
    treatments: dict[str, TreatmentType] = {}
    for spec in TREATMENTS:
        treatment = session.scalar(sa.select(TreatmentType).filter_by(name=spec.name))
        if treatment is None:
            treatment = spec.to_model()
            session.add(treatment)
            added["treatment types"] += 1
        treatments[spec.name] = treatment
    protocols: dict[str, Protocol] = {}
    for protocol_spec in PROTOCOLS:
        protocol = session.scalar(sa.select(Protocol).filter_by(name=protocol_spec.name))
        if protocol is None:
            protocol = protocol_spec.to_model(treatments[protocol_spec.treatment.name])
            session.add(protocol)
            added["protocols"] += 1
        protocols[protocol_spec.name] = protocol
    session.flush()
    return Catalogue(
        iv=treatments[IV_KETAMINE.name],
        nasal=treatments[ESKETAMINE_NASAL.name],
        iv_protocol=protocols[IV_INDUCTION.name],
        nasal_protocol=protocols[ESKETAMINE_INDUCTION.name],
        added=added,
    )
