"""VTIMEZONE components that are the same in every message and right for any date.

A calendar program keeps the first VTIMEZONE it sees for a TZID (vobject does, and so do the
CalDAV servers built on it), so every message and the feed must write a TZID the same way,
and that one definition must hold for every session a patient will ever be sent. A window
of RDATEs around each event (what ``icalendar.Timezone.from_tzid`` makes) breaks both.

The definition is derived from the zoneinfo database: the yearly transitions of the zone's
current rules become one STANDARD and one DAYLIGHT observance with an RRULE, starting in the
first year those rules applied (2007 for ``America/New_York``). A zone without daylight
saving gets a single STANDARD observance. A zone whose transitions follow no yearly rule
(a few, e.g. ones tied to a lunar calendar) gets one observance per transition, each with its
own DTSTART and no RDATE (vobject misreads a multi-value RDATE), over a fixed span of years
so that it too is the same in every message.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
from dataclasses import dataclass
from zoneinfo import ZoneInfo

CRLF = "\r\n"
# Years covered: fixed, so the output depends only on the zoneinfo data, never on today's
# date. Sessions are booked from now on; 2000 leaves decades of margin either side.
FIRST_YEAR = 2000
LAST_YEAR = 2060
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@dataclass(frozen=True, slots=True)
class Transition:
    at: dt.datetime  # UTC instant of the change
    offset_from: dt.timedelta
    offset_to: dt.timedelta
    name: str  # TZNAME after the change
    daylight: bool

    @property
    def local_start(self) -> dt.datetime:
        """The wall-clock time of the change, as read before it (RFC 5545 DTSTART)."""
        return (self.at + self.offset_from).replace(tzinfo=None)

    @property
    def kind(self) -> tuple[dt.timedelta, dt.timedelta, str, bool]:
        return self.offset_from, self.offset_to, self.name, self.daylight


def _state(zone: ZoneInfo, instant: dt.datetime) -> tuple[dt.timedelta, str, bool]:
    local = instant.astimezone(zone)
    return (
        local.utcoffset() or dt.timedelta(0),
        local.tzname() or "",
        bool(local.dst()),
    )


def _transitions(zone: ZoneInfo, first_year: int, last_year: int) -> list[Transition]:
    """Every change of offset, name or DST flag, found day by day then to the second."""
    found: list[Transition] = []
    instant = dt.datetime(first_year, 1, 1, tzinfo=dt.UTC)
    end = dt.datetime(last_year + 1, 1, 1, tzinfo=dt.UTC)
    step = dt.timedelta(hours=12)
    previous = _state(zone, instant)
    while instant < end:
        following = instant + step
        state = _state(zone, following)
        if state != previous:
            low, high = instant, following
            while high - low > dt.timedelta(seconds=1):
                middle = low + (high - low) / 2
                if _state(zone, middle) == previous:
                    low = middle
                else:
                    high = middle
            changed = high.replace(microsecond=0)
            if _state(zone, changed) != state:
                changed += dt.timedelta(seconds=1)
            found.append(Transition(changed, previous[0], state[0], state[1], state[2]))
            previous = state
        instant = following
    return found


def _offset(delta: dt.timedelta) -> str:
    seconds = int(delta.total_seconds())
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{sign}{hours:02d}{minutes:02d}" + (f"{seconds:02d}" if seconds else "")


def _local(moment: dt.datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%S")


def _yearly_rule(transitions: list[Transition]) -> str | None:
    """An RRULE that produces exactly these transitions' wall-clock starts, one a year."""
    starts = [transition.local_start for transition in transitions]
    years = [start.year for start in starts]
    if years != list(range(years[0], years[0] + len(years))):
        return None
    first = starts[0]
    if any(
        (start.month, start.weekday(), start.time()) != (first.month, first.weekday(), first.time())
        for start in starts
    ):
        return None
    weekday = _WEEKDAYS[first.weekday()]
    days = [start.day for start in starts]
    ordinals = {(day - 1) // 7 + 1 for day in days}
    lasts = {start.day + 7 > calendar.monthrange(start.year, start.month)[1] for start in starts}
    if len(ordinals) == 1 and ordinals <= {1, 2, 3, 4}:
        return f"FREQ=YEARLY;BYMONTH={first.month};BYDAY={ordinals.pop()}{weekday}"
    if lasts == {True}:
        return f"FREQ=YEARLY;BYMONTH={first.month};BYDAY=-1{weekday}"
    if max(days) - min(days) <= 6:  # e.g. "the Friday before the last Sunday"
        window = ",".join(str(day) for day in range(min(days), min(days) + 7))
        return f"FREQ=YEARLY;BYMONTH={first.month};BYDAY={weekday};BYMONTHDAY={window}"
    return None


def _observance(transition: Transition, rrule: str | None = None) -> list[str]:
    lines = [
        "BEGIN:DAYLIGHT" if transition.daylight else "BEGIN:STANDARD",
        f"DTSTART:{_local(transition.local_start)}",
    ]
    if rrule:
        lines.append(f"RRULE:{rrule}")
    lines += [
        f"TZNAME:{transition.name}",
        f"TZOFFSETFROM:{_offset(transition.offset_from)}",
        f"TZOFFSETTO:{_offset(transition.offset_to)}",
        "END:DAYLIGHT" if transition.daylight else "END:STANDARD",
    ]
    return lines


def _runs(transitions: list[Transition]) -> list[str]:
    """Observances for ``FIRST_YEAR`` to ``LAST_YEAR``: each run of two or more years whose
    changes follow one yearly rule becomes an RRULE (with UNTIL, except the last run);
    whatever follows no rule is written change by change."""
    by_year: dict[int, list[Transition]] = {}
    for transition in transitions:
        by_year.setdefault(transition.local_start.year, []).append(transition)
    blocks: list[list[str]] = []  # built from the last year backwards
    year = LAST_YEAR
    while year >= FIRST_YEAR:
        pattern = [t.kind for t in by_year.get(year, [])]
        if not pattern:
            year -= 1
            continue
        start = year
        while start - 1 >= FIRST_YEAR and [t.kind for t in by_year.get(start - 1, [])] == pattern:
            start -= 1
        chosen: list[str] | None = None
        while start < year:  # the longest run of at least two years that one rule explains
            series = [
                [by_year[y][index] for y in range(start, year + 1)] for index in range(len(pattern))
            ]
            rules = [_yearly_rule(items) for items in series]
            if all(rules):
                chosen = []
                for items, rule in zip(series, rules, strict=True):
                    assert rule is not None
                    if year != LAST_YEAR:  # these rules ended: the RRULE must stop too
                        # A day after the last change, not at it: vobject compares UNTIL
                        # with local times, and would drop the last change east of UTC.
                        until = items[-1].at + dt.timedelta(days=1)
                        rule += f";UNTIL={until.strftime('%Y%m%dT%H%M%SZ')}"
                    chosen += _observance(items[0], rule)
                break
            start += 1
        if chosen is None:
            start = year
            chosen = [line for t in by_year[year] for line in _observance(t)]
        blocks.append(chosen)
        year = start - 1
    return [line for block in reversed(blocks) for line in block]


@functools.cache
def vtimezone_text(tzid: str) -> str:
    """The VTIMEZONE for ``tzid`` as CRLF-terminated lines (all ASCII, under 75 octets)."""
    zone = ZoneInfo(tzid)
    transitions = _transitions(zone, FIRST_YEAR, LAST_YEAR)
    # The state on 1 January of FIRST_YEAR comes first, so that no date in the span falls
    # before every observance (where calendar programs guess, and vobject guesses wrong).
    offset, name, daylight = _state(zone, dt.datetime(FIRST_YEAR, 1, 1, tzinfo=dt.UTC))
    epoch = dt.datetime(FIRST_YEAR, 1, 1, tzinfo=dt.UTC) - offset
    body = _observance(Transition(epoch, offset, offset, name, daylight)) + _runs(transitions)
    lines = ["BEGIN:VTIMEZONE", f"TZID:{tzid}", *body, "END:VTIMEZONE"]
    return CRLF.join(lines) + CRLF


@functools.cache
def vtimezone_bytes(tzid: str) -> bytes:
    return vtimezone_text(tzid).encode("ascii")
