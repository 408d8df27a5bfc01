"""Treatment types and protocols (series templates).

Each function validates first, applies the change, audits it and commits once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..audit import Actor
from ..models import (
    Capability,
    Protocol,
    Route,
    TreatmentType,
)
from ..scheduling import impact
from ..scheduling.impact import CHOICE, Scope
from .common import (
    SetupError,
    apply_changes,
    audit,
    clean_text,
    commit_or_conflict,
    get_or_fail,
    require_text,
)


@dataclass(frozen=True, slots=True)
class TreatmentTypeInput:
    name: str
    route: str
    prep_minutes: int | None
    treatment_minutes: int | None
    monitoring_minutes: int | None
    turnover_minutes: int | None
    chair_capability: str
    required_certifications: Sequence[str] | str
    max_patients_per_monitor: int | None
    needs_prescriber_on_site: bool = False
    needs_rems_enrollment: bool = False
    needs_escort: bool = True
    patient_notice: str = ""
    active: bool = True
    # Least hours between two doses for one patient, across every series (0: no dose).
    min_hours_between_doses: int | None = 24


# Four weeks: the longest spacing a plan may have too (``scheduling.plans``).
MAX_DOSE_SPACING_HOURS = 24 * 28


def _minutes(errors: dict[str, str], name: str, value: int | None, low: int, high: int) -> int:
    if value is None:
        errors[name] = "Enter a number of minutes."
        return 0
    if not low <= value <= high:
        errors[name] = f"Enter between {low} and {high} minutes."
    return value


def parse_certification_kinds(raw: Sequence[str] | str) -> list[str]:
    items = raw.replace(";", ",").split(",") if isinstance(raw, str) else list(raw)
    kinds = []
    for item in items:
        kind = "_".join(item.strip().upper().split())
        if kind and kind not in kinds:
            kinds.append(kind)
    return kinds


def save_treatment_type(
    session: Session,
    *,
    treatment_type_id: int | None,
    data: TreatmentTypeInput,
    actor: Actor,
    now: dt.datetime,
    proceed: bool = False,
) -> TreatmentType:
    """Add or change a treatment type. A change its booked sessions no longer meet (a
    capability, certification, prescriber, REMS or ratio, its durations, deactivation) is
    refused with those sessions unless ``proceed``."""
    errors: dict[str, str] = {}
    name = clean_text(data.name, 120)
    require_text(errors, "name", name, "treatment name", 120)
    try:
        route = Route(data.route)
    except ValueError:
        errors["route"] = "Choose IV or nasal."
    if data.chair_capability not in {c.value for c in Capability}:
        errors["chair_capability"] = "Choose the chair capability this treatment needs."
    prep = _minutes(errors, "prep_minutes", data.prep_minutes, 0, 240)
    treatment = _minutes(errors, "treatment_minutes", data.treatment_minutes, 1, 480)
    monitoring = _minutes(errors, "monitoring_minutes", data.monitoring_minutes, 0, 480)
    turnover = _minutes(errors, "turnover_minutes", data.turnover_minutes, 0, 120)
    ratio = data.max_patients_per_monitor
    if ratio is None or not 1 <= ratio <= 10:
        errors["max_patients_per_monitor"] = "Enter a number from 1 to 10."
    kinds = parse_certification_kinds(data.required_certifications)
    if any(len(kind) > 40 for kind in kinds):
        errors["required_certifications"] = "Each certification kind may be at most 40 characters."
    dose_hours = data.min_hours_between_doses
    if dose_hours is None or not 0 <= dose_hours <= MAX_DOSE_SPACING_HOURS:
        errors["min_hours_between_doses"] = (
            f"Enter the least hours between two doses, from 0 to {MAX_DOSE_SPACING_HOURS} "
            "(0 if this treatment gives no dose)."
        )
    notice = (data.patient_notice or "").strip()
    if len(notice) > 1000:
        errors["patient_notice"] = "Use at most 1000 characters."
    if name and "name" not in errors:
        query = sa.select(TreatmentType.id).where(sa.func.lower(TreatmentType.name) == name.lower())
        if treatment_type_id is not None:
            query = query.where(TreatmentType.id != treatment_type_id)
        if session.scalar(query) is not None:
            errors["name"] = "Another treatment type has this name."
    if errors:
        raise SetupError(errors)
    values = {
        "name": name,
        "route": route,
        "prep_minutes": prep,
        "treatment_minutes": treatment,
        "monitoring_minutes": monitoring,
        "turnover_minutes": turnover,
        "chair_capability": data.chair_capability,
        "required_certifications": kinds,
        "max_patients_per_monitor": ratio,
        "needs_prescriber_on_site": bool(data.needs_prescriber_on_site),
        "needs_rems_enrollment": bool(data.needs_rems_enrollment),
        "needs_escort": bool(data.needs_escort),
        "patient_notice": notice,
        "active": bool(data.active),
        "min_hours_between_doses": dose_hours,
    }
    if treatment_type_id is None:
        treatment_type = TreatmentType(**values)
        session.add(treatment_type)
        session.flush()
        audit(session, actor, "treatment_type.create", "treatment_type", treatment_type.id)
    else:
        treatment_type = get_or_fail(session, TreatmentType, treatment_type_id, "treatment type")
        watch = impact.watch(session, Scope(treatment_type_ids={treatment_type.id}), now=now)
        changed = apply_changes(treatment_type, values)
        if not changed:
            return treatment_type
        impact.settle(
            session,
            watch,
            change="treatment_type.update",
            kind=CHOICE,
            proceed=proceed,
            actor=actor,
            now=now,
        )
        audit(
            session,
            actor,
            "treatment_type.update",
            "treatment_type",
            treatment_type.id,
            "changed: " + ", ".join(changed),
        )
    commit_or_conflict(session, {"name": "Another treatment type has this name."})
    return treatment_type


@dataclass(frozen=True, slots=True)
class ProtocolPhase:
    sessions: int
    sessions_per_week: int


@dataclass(frozen=True, slots=True)
class ProtocolInput:
    name: str
    treatment_type_id: int | None
    phases: Sequence[ProtocolPhase]
    min_hours_between: int | None
    max_span_days: int | None = None
    description: str = ""
    active: bool = True


def save_protocol(
    session: Session, *, protocol_id: int | None, data: ProtocolInput, actor: Actor
) -> Protocol:
    errors: dict[str, str] = {}
    name = clean_text(data.name, 120)
    require_text(errors, "name", name, "protocol name", 120)
    if data.treatment_type_id is None or session.get(TreatmentType, data.treatment_type_id) is None:
        errors["treatment_type_id"] = "Choose the treatment type this protocol gives."
    if not data.phases:
        errors["phases"] = "Add at least one phase (e.g. 6 sessions, 3 per week)."
    for phase in data.phases:
        if not 1 <= phase.sessions <= 60:
            errors["phases"] = "Each phase needs between 1 and 60 sessions."
        elif not 1 <= phase.sessions_per_week <= 7:
            errors["phases"] = "Sessions per week must be between 1 and 7."
    spacing = data.min_hours_between
    if spacing is None or not 0 <= spacing <= 24 * 28:
        errors["min_hours_between"] = "Enter the minimum hours between sessions (0 to 672)."
    if data.max_span_days is not None and not 1 <= data.max_span_days <= 730:
        errors["max_span_days"] = "Enter a span between 1 and 730 days, or leave it empty."
    description = (data.description or "").strip()
    if len(description) > 2000:
        errors["description"] = "Use at most 2000 characters."
    if name and "name" not in errors:
        query = sa.select(Protocol.id).where(sa.func.lower(Protocol.name) == name.lower())
        if protocol_id is not None:
            query = query.where(Protocol.id != protocol_id)
        if session.scalar(query) is not None:
            errors["name"] = "Another protocol has this name."
    if errors:
        raise SetupError(errors)
    values = {
        "name": name,
        "treatment_type_id": data.treatment_type_id,
        "phases": [
            {"sessions": phase.sessions, "sessions_per_week": phase.sessions_per_week}
            for phase in data.phases
        ],
        "min_hours_between": spacing,
        "max_span_days": data.max_span_days,
        "description": description,
        "active": bool(data.active),
    }
    if protocol_id is None:
        protocol = Protocol(**values)
        session.add(protocol)
        session.flush()
        audit(session, actor, "protocol.create", "protocol", protocol.id)
    else:
        protocol = get_or_fail(session, Protocol, protocol_id, "protocol")
        changed = apply_changes(protocol, values)
        if not changed:
            return protocol
        audit(
            session,
            actor,
            "protocol.update",
            "protocol",
            protocol.id,
            "changed: " + ", ".join(changed),
        )
    commit_or_conflict(session, {"name": "Another protocol has this name."})
    return protocol
