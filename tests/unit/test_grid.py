"""Property: the day grid's mask builders say, bit for bit, what their docstrings say.

The builders pass over spans that miss the day without computing their bits (a snapshot
hands them weeks of shifts); the spans drawn here lie before, across and after the day,
and the grid is sometimes shifted off the hour (booking a time typed by hand).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from clinic.scheduling.grid import DayGrid
from clinic.scheduling.snapshot import local_midnight

NY = ZoneInfo("America/New_York")
# A plain Tuesday, and the Sunday the clocks spring forward (a 23-hour day).
DAYS = (dt.date(2026, 3, 3), dt.date(2026, 3, 8))
STEP = 5 * 60
HOUR = 3600


def grids() -> st.SearchStrategy[DayGrid]:
    def build(day: dt.date, offset: int | None) -> DayGrid:
        through = None if offset is None else local_midnight(day, NY) + offset
        return DayGrid(day, NY, STEP, through=through)

    return st.builds(build, st.sampled_from(DAYS), st.none() | st.integers(0, 22 * HOUR))


def spans(day_start: int) -> st.SearchStrategy[list[tuple[int, int]]]:
    # From two days before to two days after the day, a few seconds to a day long.
    span = st.tuples(
        st.integers(day_start - 2 * 24 * HOUR, day_start + 3 * 24 * HOUR),
        st.integers(1, 24 * HOUR),
    ).map(lambda pair: (pair[0], pair[0] + pair[1]))
    return st.lists(span, max_size=8)


def starts(grid: DayGrid) -> list[tuple[int, int]]:
    return [(index, grid.time(index)) for index in range(grid.size)]


def as_mask(bits: list[int]) -> int:
    return sum(1 << index for index in bits)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), grid=grids(), duration=st.integers(1, 4 * HOUR))
def test_mask_builders_match_their_definitions(
    data: st.DataObject, grid: DayGrid, duration: int
) -> None:
    drawn = data.draw(spans(grid.midnight))
    within = as_mask(
        [i for i, s in starts(grid) if any(a <= s and s + duration <= b for a, b in drawn)]
    )
    clear = as_mask(
        [i for i, s in starts(grid) if not any(a < s + duration and s < b for a, b in drawn)]
    )
    outside = as_mask([i for i, s in starts(grid) if not any(a <= s < b for a, b in drawn)])
    assert grid.starts_within(drawn, duration) == within
    assert grid.starts_clear_of(drawn, duration) == clear
    assert grid.starts_outside(drawn) == outside
    for start, end in drawn:
        assert grid.mask(start, end) == as_mask([i for i, s in starts(grid) if start <= s < end])
