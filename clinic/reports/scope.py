"""What a report covers: a range of local dates, at one location or all of them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import QueryableAttribute

from ..errors import Invalid
from ..models import Location
from . import buckets

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

    def utc_bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """A UTC range surely holding every instant of the local dates (for the index)."""
        start = dt.datetime.combine(self.first_day, dt.time(), tzinfo=dt.UTC) - _ZONE_SLACK
        end = dt.datetime.combine(self.last_day, dt.time(), tzinfo=dt.UTC) + (
            dt.timedelta(days=1) + _ZONE_SLACK
        )
        return start, end

    def instant_conditions(
        self,
        instant: sa.ColumnElement[dt.datetime] | QueryableAttribute[dt.datetime],
        location_id: sa.ColumnElement[int] | QueryableAttribute[int],
    ) -> list[sa.ColumnElement[bool]]:
        """``instant`` (of a row at ``location_id``, joined to ``Location``) falls on one of
        the local dates at the scope's location(s)."""
        start, end = self.utc_bounds()
        local = buckets.local_day(instant, Location.timezone)
        conditions: list[sa.ColumnElement[bool]] = [
            instant >= start,
            instant < end,
            local >= self.first_text,
            local <= self.last_text,
        ]
        if self.location_id is not None:
            conditions.append(location_id == self.location_id)
        return conditions
