"""Choosing the chair, monitor and prescriber for one session at a start already chosen (a
single booking, a reschedule, an accepted slot without its prescriber).

The choice is the series search's: the day is evaluated at that exact start and its
``Ranking`` picks, with the series' resources as anchors. Resources the caller fixed are
checked first so their refusal names them; when nothing fits, each family words why.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import PrescriberUnavailable, RuleViolation
from .rules import CheckContext, Violation, chair, check_time, local_date, monitor, prescriber
from .search import Preferences, SearchContext, SlotChoice, evaluate_day, prescriber_order
from .snapshot import Snapshot, to_instant
from .wording import moment_text


@dataclass(frozen=True, slots=True)
class Anchors:
    """The resources the rest of the series uses: preferred when they are free."""

    chair_id: int | None = None
    monitor_id: int | None = None
    prescriber_id: int | None = None


def first_violation(violations: list[Violation]) -> RuleViolation:
    """A rule the receptionist can act on beats a conflict with another booking."""
    ordered = sorted(violations, key=lambda violation: violation.conflict)
    return ordered[0].exception()


def choose_resources(
    snapshot: Snapshot,
    starts: int,
    context: CheckContext,
    *,
    chair_id: int | None = None,
    monitor_id: int | None = None,
    prescriber_id: int | None = None,
    anchors: Anchors | None = None,
) -> SlotChoice:
    """Check the time, check any fixed resource, and let the ranking pick the others."""
    time_violations = check_time(snapshot, starts, context)
    if time_violations:
        raise first_violation(time_violations)
    _check_fixed(snapshot, starts, context, chair_id, monitor_id, prescriber_id)
    anchors = anchors or Anchors()
    search = SearchContext(
        now=context.now,
        settings=context.settings,
        min_spacing_hours=context.min_spacing_hours,
        series_starts=context.series_starts,
        preferences=Preferences(
            anchor_chair=anchors.chair_id,
            anchor_monitor=anchors.monitor_id,
            anchor_prescriber=anchors.prescriber_id,
        ),
        only_start=starts,
    )
    result = evaluate_day(snapshot, local_date(snapshot, starts), search)
    option = result.option_at(
        starts, chair_id=chair_id, monitor_id=monitor_id, prescriber_id=prescriber_id
    )
    if option is None:
        raise _nothing_fits(snapshot, starts, context)
    return SlotChoice(
        starts_at=to_instant(starts),
        chair_id=option.chair.id,
        monitor_id=option.monitor.id,
        prescriber_id=option.prescriber.id if option.prescriber else None,
    )


def _check_fixed(
    snapshot: Snapshot,
    starts: int,
    context: CheckContext,
    chair_id: int | None,
    monitor_id: int | None,
    prescriber_id: int | None,
) -> None:
    """A resource the caller named is refused in its own words, before any search."""
    if chair_id is not None and (problems := chair.check_chair(snapshot, chair_id, starts)):
        raise first_violation(problems)
    if monitor_id is not None and (
        problems := monitor.check_monitor(snapshot, monitor_id, starts, context)
    ):
        raise first_violation(problems)
    if prescriber_id is not None and (
        problems := prescriber.check_prescriber(snapshot, prescriber_id, starts)
    ):
        raise first_violation(problems)


def _nothing_fits(snapshot: Snapshot, starts: int, context: CheckContext) -> RuleViolation:
    """The first family with nobody free at ``starts`` says why (each family is independent
    of the others at one start, so the first empty one is the reason)."""
    day = local_date(snapshot, starts)
    _, ends, _ = snapshot.treatment.windows(starts)
    window = (
        f"from {moment_text(to_instant(starts), snapshot.tz)} to "
        f"{moment_text(to_instant(ends), snapshot.tz, on_day=day)}"
    )
    if not any(
        not chair.check_chair(snapshot, seat.id, starts) for seat in chair.eligible_chairs(snapshot)
    ):
        return chair.none_free_at(snapshot, starts, window)
    if not any(
        not monitor.check_monitor(snapshot, person.id, starts, context)
        for person in snapshot.staff.values()
    ):
        return monitor.none_free_at(snapshot, starts, context, window)
    return PrescriberUnavailable(prescriber.none_on_site_text(snapshot, starts))


def pick_prescriber(snapshot: Snapshot, starts: int, anchor: int | None = None) -> int | None:
    """The prescriber the search would pick at ``starts`` (whatever the chair and monitor)."""
    if not snapshot.treatment.needs_prescriber:
        return None
    free = [
        person
        for person in snapshot.staff.values()
        if prescriber.is_prescriber(person)
        and not prescriber.check_prescriber(snapshot, person.id, starts)
    ]
    return min(free, key=prescriber_order(anchor)).id if free else None
