"""Chair rules (DESIGN §3 rule 1): the chair is at the location, active, has the treatment's
capability, is not blocked, and no other live session holds it during the chair-busy
window ``[starts, busy_until)`` (turnover included).

- check: ``check_chair`` for one chair and start;
- search: ``usable_chairs``, each eligible chair with the starts at which it is free;
- wording: the per-candidate sentences in ``check_chair``, the day-level ones in
  ``usable_chairs`` and ``none_free_at`` for "no chair at this exact start".
"""

from __future__ import annotations

from ..errors import ChairUnavailable, RuleViolation, SlotTaken
from ..snapshot import ChairInfo, Snapshot
from ..wording import day_text
from .base import DayView, NoStartOnDay, Violation, local_date, moment


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
                    f"{moment(snapshot, block_end, day)}.",
                )
            )
            break
    for other in snapshot.overlapping(starts, busy_until):
        if other.chair_id == chair_id:
            found.append(
                Violation(
                    ChairUnavailable,
                    f"{chair.text} is booked from {moment(snapshot, other.starts, day)} to "
                    f"{moment(snapshot, other.busy_until, day)} (turnover included).",
                    conflict=True,
                )
            )
            break
    return found


def eligible_chairs(snapshot: Snapshot) -> list[ChairInfo]:
    treatment = snapshot.treatment
    return [
        chair
        for chair in snapshot.chairs
        if chair.active and treatment.capability in chair.capabilities
    ]


def busy_spans(view: DayView, chair: ChairInfo) -> list[tuple[int, int]]:
    """The chair's other sessions (to the end of turnover) and its blocks that day."""
    booked = [(a.starts, a.busy_until) for a in view.of_chair(chair.id)]
    return booked + [(start, end) for start, end, _ in chair.blocks]


def usable_chairs(view: DayView, allowed: int) -> list[tuple[ChairInfo, int]]:
    """Each eligible chair with the starts of ``allowed`` at which it is free."""
    snapshot, grid = view.snapshot, view.grid
    eligible = eligible_chairs(snapshot)
    if not eligible:
        raise NoStartOnDay(no_eligible_text(snapshot))
    usable = []
    for chair in eligible:
        mask = allowed & grid.starts_clear_of(busy_spans(view, chair), view.treatment.chair_seconds)
        if mask:
            usable.append((chair, mask))
    if not usable:
        raise NoStartOnDay(_all_booked_text(view, eligible))
    return usable


def no_eligible_text(snapshot: Snapshot) -> str:
    return f"No chair in service at {snapshot.location.name} can take {snapshot.treatment.name}."


def _all_booked_text(view: DayView, eligible: list[ChairInfo]) -> str:
    snapshot, day, treatment = view.snapshot, view.day, view.treatment
    booked_ids = {a.chair_id for a in view.todays}
    if len(eligible) == 1:
        chair = eligible[0]
        if chair.blocks:
            _, end, why = max(chair.blocks, key=lambda block: block[1])
            return (
                f"{chair.text} is out of service"
                + (f" ({why})" if why else "")
                + f" until {moment(snapshot, end, day)}."
            )
        return f"{chair.text} is fully booked on {day_text(day)}."
    blocked = [chair for chair in eligible if chair.blocks and chair.id not in booked_ids]
    detail = f" ({len(blocked)} out of service)" if blocked else ""
    return (
        f"All {len(eligible)} chairs that can take {treatment.name} are booked{detail} "
        f"whenever this session could start on {day_text(day)}."
    )


def none_free_at(snapshot: Snapshot, starts: int, window: str) -> RuleViolation:
    """Why no chair can take a session at exactly ``starts`` (``window`` words its times)."""
    eligible = eligible_chairs(snapshot)
    if not eligible:
        return ChairUnavailable(no_eligible_text(snapshot))
    problems = [v for chair in eligible for v in check_chair(snapshot, chair.id, starts)]
    text = f"No chair that can take {snapshot.treatment.name} is free {window}."
    return SlotTaken(text) if any(v.conflict for v in problems) else ChairUnavailable(text)
