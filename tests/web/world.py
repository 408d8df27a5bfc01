"""Old home of the standard clinic world, kept so the web and browser tests keep working.

# phase 2: callers move to tests.builders, this module goes

Views still read the real clock, so these tests build the world around the real today
(``local_today``); once views read ``clinic.clock.now()`` they use ``NOW``'s day and the
``clock`` fixture instead.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from tests.builders import (
    TZ_NAME,
    World,
    add_session,
    build_world,
    count_rows,
    fill_day,
    make_patient,
)

TZ = ZoneInfo(TZ_NAME)


def local_today(timezone: str = TZ_NAME) -> dt.date:
    return dt.datetime.now(dt.UTC).astimezone(ZoneInfo(timezone)).date()


__all__ = [
    "TZ",
    "TZ_NAME",
    "World",
    "add_session",
    "build_world",
    "count_rows",
    "fill_day",
    "local_today",
    "make_patient",
]
