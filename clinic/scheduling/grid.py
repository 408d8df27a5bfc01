"""The candidate starts of one local day as the bits of an int (the search's day grid).

Bit k is the start at the grid's origin + k steps. The origin is local midnight, or a start
the caller asked about when that start is off the grid (booking a time typed by hand).
Every rule family turns "the starts at which this chair / nurse / hour works" into such a
mask, and masks combine with ``&`` and ``|``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from .snapshot import local_midnight


class DayGrid:
    """The candidate starts of one local day as bits of an int."""

    def __init__(self, day: dt.date, tz: ZoneInfo, step: int, *, through: int | None = None):
        self.day = day
        self.tz = tz
        self.step = step
        self.midnight = local_midnight(day, tz)
        # Shift the grid so that ``through`` (a start inside the day) lies on it.
        self.origin = self.midnight + (
            (through - self.midnight) % step if through is not None else 0
        )
        self.end = local_midnight(day + dt.timedelta(days=1), tz)
        self.size = -((self.origin - self.end) // step)  # ceil((end - origin) / step)
        self.full = (1 << self.size) - 1

    def _index_at_or_after(self, seconds: int) -> int:
        index = -((self.origin - seconds) // self.step)  # ceil((seconds - origin) / step)
        return min(max(index, 0), self.size)

    def index_of(self, seconds: int) -> int | None:
        """The bit of a start exactly on the grid, else None."""
        index, rest = divmod(seconds - self.origin, self.step)
        return index if not rest and 0 <= index < self.size else None

    def mask(self, start: int, end: int) -> int:
        """Bits of the grid starts in [start, end)."""
        if end <= self.origin or start >= self.end:
            return 0  # the common case for a snapshot's spans on other days: no arithmetic
        first, last = self._index_at_or_after(start), self._index_at_or_after(end)
        if last <= first:
            return 0
        return ((1 << (last - first)) - 1) << first

    # The three builders below see every span of the snapshot's range (a nurse's shifts over
    # weeks, say), so they skip the spans that miss the day before calling ``mask``.

    def starts_within(self, spans: Iterable[tuple[int, int]], duration: int) -> int:
        """Starts whose window [s, s + duration) lies inside one of ``spans``."""
        found = 0
        origin, end_of_day = self.origin, self.end
        for start, end in spans:
            if end - duration < origin or start >= end_of_day or end - start < duration:
                continue
            found |= self.mask(start, end - duration + 1)
        return found

    def starts_clear_of(self, busy: Iterable[tuple[int, int]], duration: int) -> int:
        """Starts whose window [s, s + duration) meets none of ``busy``."""
        blocked = 0
        origin, end_of_day = self.origin, self.end
        for start, end in busy:
            if end <= origin or start - duration + 1 >= end_of_day:
                continue
            blocked |= self.mask(start - duration + 1, end)
        return self.full & ~blocked

    def starts_outside(self, spans: Iterable[tuple[int, int]]) -> int:
        """Starts not inside any of the half-open start ``spans``."""
        blocked = 0
        origin, end_of_day = self.origin, self.end
        for start, end in spans:
            if end <= origin or start >= end_of_day:
                continue
            blocked |= self.mask(start, end)
        return self.full & ~blocked

    def time(self, index: int) -> int:
        return self.origin + index * self.step


def bits(mask: int) -> Iterable[int]:
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


def union(masks: Iterable[int]) -> int:
    combined = 0
    for mask in masks:
        combined |= mask
    return combined
