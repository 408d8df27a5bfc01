"""What a report covers: a range of local dates, at one location or all of them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import QueryableAttribute, Session

from ..errors import Invalid
from ..models import Location

# A report reads at most this many days (three years and a leap day).
MAX_DAYS = 3 * 366
# Instants a local day can lie from its UTC day (UTC-12 … UTC+14), for the index range.
_ZONE_SLACK = dt.timedelta(hours=15)


@dataclass(frozen=True, slots=True)
class ReportScope:
    """Local dates ``first_day``..``last_day`` inclusive; ``location_id`` None: every location.

    Each session counts on the local date of its own location.
    """

    first_day: dt.date
    last_day: dt.date
    location_id: int | None = None

    def __post_init__(self) -> None:
        if self.last_day < self.first_day:
            raise Invalid(fields={"last_day": "The end date must be on or after the start date."})
        if (self.last_day - self.first_day).days + 1 > MAX_DAYS:
            raise Invalid(fields={"last_day": f"A report covers at most {MAX_DAYS} days."})

    @property
    def days(self) -> list[dt.date]:
        count = (self.last_day - self.first_day).days + 1
        return [self.first_day + dt.timedelta(days=n) for n in range(count)]

    @property
    def first_text(self) -> str:
        return self.first_day.isoformat()

    @property
    def last_text(self) -> str:
        return self.last_day.isoformat()

    def local_bounds(self, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
        """The UTC instants where the first local day starts and the day after the last
        starts, in ``tz``."""
        start = dt.datetime.combine(self.first_day, dt.time(), tzinfo=tz)
        end = dt.datetime.combine(self.last_day + dt.timedelta(days=1), dt.time(), tzinfo=tz)
        return start.astimezone(dt.UTC), end.astimezone(dt.UTC)

    def utc_bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """A UTC range surely holding every instant of the local dates (for the index)."""
        start = dt.datetime.combine(self.first_day, dt.time(), tzinfo=dt.UTC) - _ZONE_SLACK
        end = dt.datetime.combine(self.last_day, dt.time(), tzinfo=dt.UTC) + (
            dt.timedelta(days=1) + _ZONE_SLACK
        )
        return start, end

    def zones(self, session: Session) -> dict[int, ZoneInfo]:
        """Location id -> time zone, for the scope's location(s) (one query)."""
        query = sa.select(Location.id, Location.timezone)
        if self.location_id is None:
            query = query.where(Location.active)
        else:
            query = query.where(Location.id == self.location_id)
        return {location_id: ZoneInfo(name) for location_id, name in session.execute(query)}

    def instant_conditions(
        self,
        instant: sa.ColumnElement[dt.datetime] | QueryableAttribute[dt.datetime],
        location_id: sa.ColumnElement[int] | QueryableAttribute[int],
        zones: dict[int, ZoneInfo],
    ) -> sa.ColumnElement[bool]:
        """``instant`` (of a row at ``location_id``) falls on one of the local dates at its
        location: each location's own UTC range, so the index on (location, start) serves
        and no time zone is computed per row."""
        ranges = []
        for zone_location, tz in sorted(zones.items()):
            start, end = self.local_bounds(tz)
            ranges.append(sa.and_(location_id == zone_location, instant >= start, instant < end))
        return sa.or_(*ranges) if ranges else sa.false()
