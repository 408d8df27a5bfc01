"""The hard rules (DESIGN section 3), checked for one concrete candidate session.

This is the authority: a booking commits only when ``check_candidate`` finds nothing, inside
the booking's transaction, on a snapshot loaded after the location-day locks were taken. The
search (``search.py``) finds candidates quickly with grid masks and confirms its choice here.

Windows, as the database constraints see them:
- chair busy: ``[starts_at, busy_until)`` (turnover included); the patient is held for the
  same window, which is what the PostgreSQL exclusion constraint enforces;
- monitor, prescriber and patients-per-monitor: ``[starts_at, ends_at)`` (to the end of
  monitoring);
- opening hours: the patient's time ``[starts_at, ends_at)`` lies inside one opening interval
  of the session's local date (turnover may run past closing);
- certifications: valid on the session's local date; protocol spacing: elapsed hours between
  session starts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from .errors import (
    ChairUnavailable,
    ClinicClosed,
    InThePast,
    MonitorUnavailable,
    OutsideOpeningHours,
    PatientUnavailable,
    PrescriberUnavailable,
    RemsNotEnrolled,
    RuleViolation,
    SlotTaken,
    SpacingViolation,
)
from .settings import LEVELLING_WINDOW_MINUTES, SchedulingSettings
from .snapshot import Booked, Snapshot, StaffInfo, local_seconds, to_instant
from .wording import WEEKDAY_NAMES, day_text, duration_text, moment_text

LEVELLING_WINDOW = LEVELLING_WINDOW_MINUTES * 60


@dataclass(frozen=True, slots=True)
class Violation:
    error: type[RuleViolation]
    message: str
    # True when another live booking holds the resource: at commit time this is "taken".
    conflict: bool = False

    def exception(self) -> RuleViolation:
        if self.conflict:
            return SlotTaken(self.message)
        return self.error(self.message)


@dataclass(slots=True)
class CheckContext:
    now: int
    settings: SchedulingSettings
    min_spacing_hours: int = 0
    # Starts of the other sessions of the same series (saved and proposed).
    series_starts: list[int] = field(default_factory=list)


def local_date(snapshot: Snapshot, starts: int) -> dt.date:
    return to_instant(starts).astimezone(snapshot.tz).date()


def _moment(snapshot: Snapshot, seconds: int, day: dt.date) -> str:
    return moment_text(to_instant(seconds), snapshot.tz, on_day=day)


def check_candidate(
    snapshot: Snapshot,
    *,
    starts: int,
    chair_id: int,
    monitor_id: int,
    prescriber_id: int | None,
    context: CheckContext,
) -> list[Violation]:
    return (
        check_time(snapshot, starts, context)
        + check_chair(snapshot, chair_id, starts)
        + check_monitor(
            snapshot, monitor_id, starts, context.settings, today=_today(snapshot, context)
        )
        + check_prescriber(snapshot, prescriber_id, starts)
    )


def _today(snapshot: Snapshot, context: CheckContext) -> dt.date:
    return local_date(snapshot, context.now)


def check_time(snapshot: Snapshot, starts: int, context: CheckContext) -> list[Violation]:
    """Rules about the time itself and the patient: past, closures, opening hours, REMS,
    the patient's other sessions and the series spacing."""
    treatment = snapshot.treatment
    _, ends, busy_until = treatment.windows(starts)
    day = local_date(snapshot, starts)
    found: list[Violation] = []
    if starts < context.now:
        found.append(
            Violation(
                InThePast,
                f"That time ({_moment(snapshot, starts, day)} on {day_text(day)}) has passed.",
            )
        )
    if day in snapshot.location.closures:
        reason = snapshot.location.closures[day]
        found.append(
            Violation(
                ClinicClosed,
                f"The clinic is closed on {day_text(day)}" + (f" ({reason})." if reason else "."),
            )
        )
    else:
        problem = opening_problem(snapshot, day, starts, ends)
        if problem:
            found.append(Violation(OutsideOpeningHours, problem))
    found += check_patient(snapshot, starts, busy_until, day, context)
    return found


def opening_problem(snapshot: Snapshot, day: dt.date, starts: int, ends: int) -> str | None:
    hours = snapshot.location.opening.get(day.weekday(), [])
    if not hours:
        return f"The clinic is not open on {WEEKDAY_NAMES[day.weekday()]}s."
    spans = [
        (local_seconds(day, opens, snapshot.tz), local_seconds(day, closes, snapshot.tz))
        for opens, closes in hours
    ]
    if any(opens <= starts and ends <= closes for opens, closes in spans):
        return None
    window = f"{_moment(snapshot, starts, day)} to {_moment(snapshot, ends, day)}"
    listed = ", ".join(f"{opens:%H:%M}–{closes:%H:%M}" for opens, closes in hours)
    return f"A session from {window} on {day_text(day)} is outside the opening hours ({listed})."


def check_patient(
    snapshot: Snapshot, starts: int, busy_until: int, day: dt.date, context: CheckContext
) -> list[Violation]:
    patient = snapshot.patient
    if patient is None:
        return []
    found: list[Violation] = []
    if not patient.active:
        found.append(
            Violation(PatientUnavailable, "This patient record is inactive; reactivate it first.")
        )
    if snapshot.treatment.needs_rems:
        problem = rems_problem(snapshot, day)
        if problem:
            found.append(Violation(RemsNotEnrolled, problem))
    for other in snapshot.overlapping(starts, busy_until):
        if other.patient_id == patient.id:
            found.append(
                Violation(
                    PatientUnavailable,
                    f"The patient already has a session on {day_text(day)} from "
                    f"{_moment(snapshot, other.starts, day)} to "
                    f"{_moment(snapshot, other.busy_until, day)} (chair turnover included).",
                    conflict=True,
                )
            )
            break
    spacing = context.min_spacing_hours * 3600
    for other_start in context.series_starts:
        if abs(other_start - starts) < spacing:
            found.append(
                Violation(
                    SpacingViolation,
                    f"Sessions of this series must be at least {context.min_spacing_hours} h "
                    f"apart; the session on {day_text(local_date(snapshot, other_start))} at "
                    f"{_moment(snapshot, other_start, local_date(snapshot, other_start))} is only "
                    f"{duration_text(abs(other_start - starts))} away.",
                )
            )
            break
    return found


def rems_problem(snapshot: Snapshot, day: dt.date) -> str | None:
    patient = snapshot.patient
    if patient is None or not snapshot.treatment.needs_rems:
        return None
    if patient.rems_enrolled_on is None:
        return (
            f"{snapshot.treatment.name} needs the patient's REMS enrollment; none is recorded. "
            "Record the enrollment date on the patient's record first."
        )
    if patient.rems_enrolled_on > day:
        return (
            f"The patient's REMS enrollment starts on {day_text(patient.rems_enrolled_on)}, "
            f"after the session on {day_text(day)}."
        )
    return None


def check_chair(snapshot: Snapshot, chair_id: int, starts: int) -> list[Violation]:
    chair = snapshot.chairs_by_id.get(chair_id)
    if chair is None:
        return [Violation(ChairUnavailable, f"That chair is not at {snapshot.location.name}.")]
    treatment = snapshot.treatment
    _, _, busy_until = treatment.windows(starts)
    day = local_date(snapshot, starts)
    if not chair.active:
        return [Violation(ChairUnavailable, f"{chair.text} is out of service.")]
    if treatment.capability not in chair.capabilities:
        return [Violation(ChairUnavailable, f"{chair.text} cannot take {treatment.name}.")]
    found: list[Violation] = []
    for block_start, block_end, reason in chair.blocks:
        if block_start < busy_until and block_end > starts:
            why = f" ({reason})" if reason else ""
            found.append(
                Violation(
                    ChairUnavailable,
                    f"{chair.text} is out of service{why} until "
                    f"{_moment(snapshot, block_end, day)}.",
                )
            )
            break
    for other in snapshot.overlapping(starts, busy_until):
        if other.chair_id == chair_id:
            found.append(
                Violation(
                    ChairUnavailable,
                    f"{chair.text} is booked from {_moment(snapshot, other.starts, day)} to "
                    f"{_moment(snapshot, other.busy_until, day)} (turnover included).",
                    conflict=True,
                )
            )
            break
    return found


def certification_problem(
    person: StaffInfo, kind: str, day: dt.date, *, today: dt.date
) -> str | None:
    spans = person.certifications.get(kind)
    if not spans:
        return f"{person.text} does not hold {kind}."
    if any(valid_from <= day <= expires_on for valid_from, expires_on in spans):
        return None
    upcoming = [valid_from for valid_from, _ in spans if valid_from > day]
    if upcoming:
        return f"{person.text}'s {kind} is only valid from {day_text(min(upcoming))}."
    expiry = max(expires_on for _, expires_on in spans)
    if expiry < today:
        return f"{person.text}'s {kind} expired on {day_text(expiry)}."
    return (
        f"{person.text}'s {kind} expires on {day_text(expiry)}, "
        f"before the session on {day_text(day)}."
    )


def presence_problem(
    snapshot: Snapshot, person: StaffInfo, starts: int, ends: int, day: dt.date
) -> str | None:
    """Is the person on shift here for all of [starts, ends) and not off?"""
    for off_start, off_end, reason in person.time_off:
        if off_start < ends and off_end > starts:
            why = f" ({reason})" if reason else ""
            return (
                f"{person.text} is off{why} from {_moment(snapshot, off_start, day)} to "
                f"{_moment(snapshot, off_end, day)}."
            )
    shift = next((span for span in person.shifts if span[0] <= starts < span[1]), None)
    if shift is None:
        return (
            f"{person.text} is not on shift at {snapshot.location.name} at "
            f"{_moment(snapshot, starts, day)} on {day_text(day)}."
        )
    if shift[1] < ends:
        return (
            f"{person.text}'s shift ends at {_moment(snapshot, shift[1], day)}, before the "
            f"session would end at {_moment(snapshot, ends, day)}."
        )
    return None


def check_monitor(
    snapshot: Snapshot,
    monitor_id: int,
    starts: int,
    settings: SchedulingSettings,
    *,
    today: dt.date,
) -> list[Violation]:
    treatment = snapshot.treatment
    _, ends, _ = treatment.windows(starts)
    day = local_date(snapshot, starts)
    person = snapshot.staff.get(monitor_id)
    if person is None:
        return [
            Violation(
                MonitorUnavailable,
                f"The chosen monitor is not on shift at {snapshot.location.name} on "
                f"{day_text(day)}.",
            )
        ]
    if not person.active:
        return [Violation(MonitorUnavailable, f"{person.text} no longer works here.")]
    found: list[Violation] = []
    for kind in treatment.required_certifications:
        problem = certification_problem(person, kind, day, today=today)
        if problem:
            found.append(Violation(MonitorUnavailable, problem))
    problem = presence_problem(snapshot, person, starts, ends, day)
    if problem:
        found.append(Violation(MonitorUnavailable, problem))
    nearby = [
        other
        for other in snapshot.overlapping(
            starts - LEVELLING_WINDOW, max(ends, starts + LEVELLING_WINDOW)
        )
        if other.monitor_id == monitor_id
    ]
    over = monitor_overload(nearby, starts, ends, treatment.max_per_monitor)
    if over is not None:
        moment, count, limit = over
        found.append(
            Violation(
                MonitorUnavailable,
                f"{person.text} already monitors {count} patient{'s' if count != 1 else ''} at "
                f"{_moment(snapshot, moment, day)}; the limit is {limit} at a time.",
                conflict=True,
            )
        )
    limit = settings.max_starts_per_monitor_per_15min
    if limit > 0:
        crowded = crowded_starts([other.starts for other in nearby], starts, limit)
        if crowded:
            times = ", ".join(_moment(snapshot, other, day) for other in crowded)
            found.append(
                Violation(
                    MonitorUnavailable,
                    f"{person.text} already starts a session at {times}; each nurse starts at "
                    f"most {limit} in any {LEVELLING_WINDOW_MINUTES} minutes.",
                    conflict=True,
                )
            )
    return found


def monitor_overload(
    others: list[Booked], starts: int, ends: int, limit: int
) -> tuple[int, int, int] | None:
    """(moment, patients already there, limit) where adding [starts, ends) would exceed the
    patients-per-monitor limit of any session present at that moment, or None."""
    present = [other for other in others if other.starts < ends and other.ends > starts]
    moments = {starts} | {other.starts for other in present if other.starts > starts}
    for moment in sorted(moments):
        at_moment = [other for other in present if other.starts <= moment < other.ends]
        effective = min([limit] + [other.max_per_monitor for other in at_moment])
        if len(at_moment) + 1 > effective:
            return moment, len(at_moment), effective
    return None


def crowded_starts(other_starts: list[int], starts: int, limit: int) -> list[int]:
    """Existing starts that, with ``starts``, put more than ``limit`` starts into one
    15-minute window ``[t, t + 15 min)``; empty when the new start fits."""
    close = sorted(other for other in other_starts if abs(other - starts) < LEVELLING_WINDOW)
    for window_start in sorted({starts} | {other for other in close if other <= starts}):
        inside = [
            other for other in close if window_start <= other < window_start + LEVELLING_WINDOW
        ]
        if window_start <= starts < window_start + LEVELLING_WINDOW and len(inside) + 1 > limit:
            return inside
    return []


def check_prescriber(snapshot: Snapshot, prescriber_id: int | None, starts: int) -> list[Violation]:
    treatment = snapshot.treatment
    if not treatment.needs_prescriber:
        return []
    _, ends, _ = treatment.windows(starts)
    day = local_date(snapshot, starts)
    if prescriber_id is None:
        return [
            Violation(
                PrescriberUnavailable,
                f"{treatment.name} needs a prescriber on site; none is on shift for the whole "
                f"session ({_moment(snapshot, starts, day)}–{_moment(snapshot, ends, day)} on "
                f"{day_text(day)}).",
            )
        ]
    person = snapshot.staff.get(prescriber_id)
    if person is None:
        return [
            Violation(
                PrescriberUnavailable,
                f"The chosen prescriber is not on shift at {snapshot.location.name} on "
                f"{day_text(day)}.",
            )
        ]
    if person.role != "prescriber" or not person.active:
        return [Violation(PrescriberUnavailable, f"{person.text} is not an active prescriber.")]
    problem = presence_problem(snapshot, person, starts, ends, day)
    return [Violation(PrescriberUnavailable, problem)] if problem else []
