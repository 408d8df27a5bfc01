"""Which vitals checkpoints of a session are done, due or overdue. Pure: no queries.

A treatment type declares its checkpoints relative to treatment start ("before_start",
"after_start" + minutes, "before_discharge"). Readings are matched to checkpoints in time
order, each reading to at most one checkpoint: a timed checkpoint's window opens
``EARLY_MINUTES`` before it is due and closes where the next one opens, so a missed
15-minute reading is not made up by the 30-minute one.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

EARLY_MINUTES = 5  # a reading this early still counts for a timed checkpoint
LATE_MINUTES = 10  # a timed checkpoint not recorded this long after it is due is overdue
DISCHARGE_READING_MINUTES = 30  # the "before discharge" reading must be this recent
DUE_BEFORE_DISCHARGE_MINUTES = 15  # when the "before discharge" reading becomes due


class CheckState(enum.StrEnum):
    DONE = "done"
    DUE = "due"
    OVERDUE = "overdue"
    UPCOMING = "upcoming"


@dataclass(frozen=True, slots=True)
class Reading:
    entry_id: int
    taken_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Checkpoint:
    label: str
    at: str
    minutes: int | None
    due_at: dt.datetime | None
    state: CheckState
    entry_id: int | None = None
    taken_at: dt.datetime | None = None

    @property
    def done(self) -> bool:
        return self.state == CheckState.DONE


@dataclass(frozen=True, slots=True)
class SessionTimes:
    """The moments a session's checkpoints hang on (None: not yet)."""

    treatment_started_at: dt.datetime | None
    dose_given_at: dt.datetime | None
    min_monitoring_minutes: int

    @property
    def earliest_discharge(self) -> dt.datetime | None:
        anchor = self.dose_given_at or self.treatment_started_at
        if anchor is None:
            return None
        return anchor + dt.timedelta(minutes=self.min_monitoring_minutes)


def _minutes(value: int) -> dt.timedelta:
    return dt.timedelta(minutes=value)


def _timed_state(due_at: dt.datetime, now: dt.datetime) -> CheckState:
    if now < due_at - _minutes(EARLY_MINUTES):
        return CheckState.UPCOMING
    if now <= due_at + _minutes(LATE_MINUTES):
        return CheckState.DUE
    return CheckState.OVERDUE


def evaluate(
    specs: Sequence[dict[str, Any]],
    readings: Sequence[Reading],
    times: SessionTimes,
    *,
    now: dt.datetime,
) -> list[Checkpoint]:
    """Each checkpoint of ``specs`` with its state at ``now``, in the order declared."""
    ordered = sorted(readings, key=lambda reading: (reading.taken_at, reading.entry_id))
    used: set[int] = set()
    started = times.treatment_started_at
    timed = sorted(
        (int(spec.get("minutes") or 0), index)
        for index, spec in enumerate(specs)
        if spec.get("at") == "after_start"
    )
    results: dict[int, Checkpoint] = {}

    def take(low: dt.datetime | None, high: dt.datetime | None) -> Reading | None:
        for reading in ordered:
            if reading.entry_id in used:
                continue
            if (low is None or reading.taken_at >= low) and (
                high is None or reading.taken_at < high
            ):
                used.add(reading.entry_id)
                return reading
        return None

    for index, spec in enumerate(specs):
        if spec.get("at") != "before_start":
            continue
        reading = take(None, started if started else None)
        if reading is None and started is None:
            state = CheckState.DUE
        else:
            state = CheckState.DONE if reading else CheckState.OVERDUE
        results[index] = _result(spec, started, state, reading)
    for position, (minutes, index) in enumerate(timed):
        spec = specs[index]
        if started is None:
            results[index] = _result(spec, None, CheckState.UPCOMING, None)
            continue
        due_at = started + _minutes(minutes)
        closes = (
            started + _minutes(timed[position + 1][0] - EARLY_MINUTES)
            if position + 1 < len(timed)
            else None
        )
        reading = take(due_at - _minutes(EARLY_MINUTES), closes)
        state = CheckState.DONE if reading else _timed_state(due_at, now)
        results[index] = _result(spec, due_at, state, reading)
    earliest = times.earliest_discharge
    for index, spec in enumerate(specs):
        if spec.get("at") != "before_discharge":
            continue
        low = now - _minutes(DISCHARGE_READING_MINUTES)
        if started is not None:
            low = max(low, started)
        reading = take(low, None) if started is not None else None
        if reading is not None:
            state = CheckState.DONE
        elif earliest is None or now < earliest - _minutes(DUE_BEFORE_DISCHARGE_MINUTES):
            state = CheckState.UPCOMING
        else:
            state = CheckState.DUE
        results[index] = _result(spec, earliest, state, reading)
    return [results[index] for index in range(len(specs)) if index in results]


def _result(
    spec: dict[str, Any], due_at: dt.datetime | None, state: CheckState, reading: Reading | None
) -> Checkpoint:
    return Checkpoint(
        label=str(spec.get("label") or spec.get("at")),
        at=str(spec.get("at")),
        minutes=spec.get("minutes"),
        due_at=due_at,
        state=state,
        entry_id=reading.entry_id if reading else None,
        taken_at=reading.taken_at if reading else None,
    )


def summary(checkpoints: Sequence[Checkpoint]) -> CheckState | None:
    """The board's one flag for a session: overdue beats due; None when nothing is pending."""
    states = {checkpoint.state for checkpoint in checkpoints}
    for state in (CheckState.OVERDUE, CheckState.DUE):
        if state in states:
            return state
    return None
