"""Dose spacing (DESIGN §3 rule 7): two dosing sessions of one patient start at least the
treatment types' minimum hours apart, whatever their series, treatment type or location.

Why across types, and why the larger of the two spacings: IV ketamine and esketamine are the
same drug (esketamine is ketamine's S-enantiomer), so an infusion and a nasal dose add up in
the patient just as two infusions do. Each treatment type's spacing says how long after (or
before) one of its doses no other ketamine dose may be given; a pair must therefore satisfy
both, i.e. the larger. The rule is symmetric, so the order the two were booked in does not
matter. A treatment type with a spacing of 0 gives no dose: its sessions neither count nor are
counted.

A session that overlaps the candidate is the patient rule's (``patient.py``): it is a clash
with another booking, a lost race at commit time, not a dose-spacing refusal.

- check: ``check_doses`` for one candidate start;
- search: ``spaced_starts`` masks the day's grid by every other dose of the patient;
- wording: ``dose_text`` names the other session ("Elena already has an IV ketamine
  infusion at 09:00 on Mon 7 Dec"). Refusals carry the patient's given name for the
  receptionist; the scheduler never logs them.
"""

from __future__ import annotations

import datetime as dt

from ..errors import DoseSpacingViolation
from ..snapshot import Booked, Snapshot, TreatmentInfo, to_instant
from ..wording import day_text, duration_text
from .base import DayView, NoStartOnDay, Violation


def required_gap(treatment: TreatmentInfo, other: Booked) -> int:
    """Seconds that must separate a dose of ``treatment`` from ``other``; 0 if no rule."""
    if treatment.dose_seconds <= 0 or other.dose_seconds <= 0:
        return 0
    return max(treatment.dose_seconds, other.dose_seconds)


def too_close(snapshot: Snapshot, starts: int) -> list[tuple[Booked, int]]:
    """The patient's other doses closer to ``starts`` than their pair's spacing, each with
    that spacing, closest first. Sessions overlapping the candidate are left to the patient
    rule."""
    treatment = snapshot.treatment
    if snapshot.patient is None or treatment.dose_seconds <= 0:
        return []
    busy_until = starts + treatment.chair_seconds
    found = []
    for other in snapshot.patient_sessions():
        gap = required_gap(treatment, other)
        if not gap or abs(other.starts - starts) >= gap:
            continue
        if other.starts < busy_until and other.busy_until > starts:
            continue
        found.append((other, gap))
    return sorted(found, key=lambda item: abs(item[0].starts - starts))


def check_doses(snapshot: Snapshot, starts: int) -> list[Violation]:
    close = too_close(snapshot, starts)
    if not close:
        return []
    other, gap = close[0]
    return [
        Violation(
            DoseSpacingViolation,
            f"{dose_text(snapshot, other)}; doses must be at least {duration_text(gap)} apart "
            f"and this one would be {duration_text(abs(other.starts - starts))} away.",
        )
    ]


def spaced_starts(view: DayView, allowed: int) -> int:
    """The starts of ``allowed`` far enough from every other dose of the patient."""
    snapshot, grid = view.snapshot, view.grid
    treatment = snapshot.treatment
    if snapshot.patient is None or treatment.dose_seconds <= 0 or not allowed:
        return allowed
    near: list[tuple[Booked, int]] = []
    for other in snapshot.patient_sessions():
        gap = required_gap(treatment, other)
        if gap and grid.midnight - gap < other.starts < grid.end + gap:
            near.append((other, gap))
    if not near:
        return allowed
    allowed &= grid.starts_outside((o.starts - gap + 1, o.starts + gap) for o, gap in near)
    if not allowed:
        middle = (grid.midnight + grid.end) // 2
        other, gap = min(near, key=lambda item: abs(item[0].starts - middle))
        raise NoStartOnDay(
            f"{dose_text(snapshot, other)}; doses must be at least {duration_text(gap)} "
            f"apart, which leaves no time on {day_text(view.day)}."
        )
    return allowed


def dose_text(snapshot: Snapshot, other: Booked) -> str:
    """``Elena already has an IV ketamine infusion at 09:00 on Mon 7 Dec``."""
    patient = snapshot.patient
    who = patient.given_name if patient is not None and patient.given_name else "The patient"
    local = to_instant(other.starts).astimezone(snapshot.tz)
    where = "" if other.location_id == snapshot.location.id else " at another location"
    return (
        f"{who} already has {_with_article(other.treatment_name or 'a session')} "
        f"at {local:%H:%M} on {short_day(local.date())}{where}"
    )


def short_day(day: dt.date) -> str:
    """``Mon 7 Dec``."""
    return f"{day:%a} {day.day} {day:%b}"


def _with_article(name: str) -> str:
    """``an IV ketamine infusion``, ``an esketamine nasal spray``: names are capitalised as
    titles; an initialism (``IV``) keeps its capitals."""
    if name.startswith(("a ", "an ")):
        return name
    first = name.split(" ", 1)[0]
    if not first.isupper():
        name = name[:1].lower() + name[1:]
    vowel_sound = name[:1].lower() in "aeiou" or (first.isupper() and first[:1] in "AEFHILMNORSX")
    return f"{'an' if vowel_sound else 'a'} {name}"
