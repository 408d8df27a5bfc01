"""A clinic site: its timezone, weekly opening hours and closure days."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow

if TYPE_CHECKING:
    from .resources import Chair


class Location(Base):
    __tablename__ = "location"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    address: Mapped[str] = mapped_column(sa.String(300), default="")
    phone: Mapped[str | None] = mapped_column(sa.String(20))
    # The organizer address on calendar invitations and the From of patient email.
    email: Mapped[str | None] = mapped_column(sa.String(254))
    timezone: Mapped[str] = mapped_column(sa.String(64), default="America/New_York")
    active: Mapped[bool] = mapped_column(default=True)
    # Whose public holidays an admin may load as closures: ISO 3166-1 country ("US") and,
    # optionally, ISO 3166-2 subdivision ("NY"), as the ``holidays`` library names them.
    holiday_country: Mapped[str | None] = mapped_column(sa.String(2))
    holiday_subdivision: Mapped[str | None] = mapped_column(sa.String(10))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    opening_hours: Mapped[list[OpeningHours]] = relationship(
        back_populates="location",
        cascade="all, delete-orphan",
        order_by="(OpeningHours.weekday, OpeningHours.opens)",
    )
    closures: Mapped[list[Closure]] = relationship(
        back_populates="location", cascade="all, delete-orphan", order_by="Closure.date"
    )
    chairs: Mapped[list[Chair]] = relationship(back_populates="location", order_by="Chair.label")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def local_today(self, now: dt.datetime) -> dt.date:
        return now.astimezone(self.tz).date()


class OpeningHours(Base):
    """One opening interval on a weekday (0 = Monday). A day may have several (a lunch break)."""

    __tablename__ = "opening_hours"
    __table_args__ = (
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        sa.CheckConstraint("closes > opens", name="closes_after_opens"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    location_id: Mapped[int] = mapped_column(
        sa.ForeignKey("location.id", ondelete="CASCADE"), index=True
    )
    weekday: Mapped[int] = mapped_column(sa.SmallInteger)
    opens: Mapped[dt.time] = mapped_column(sa.Time)
    closes: Mapped[dt.time] = mapped_column(sa.Time)

    location: Mapped[Location] = relationship(back_populates="opening_hours")


class Closure(Base):
    """A whole day on which the location takes no sessions (holiday, training day)."""

    __tablename__ = "closure"
    __table_args__ = (sa.UniqueConstraint("location_id", "date", name="uq_closure_location_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    location_id: Mapped[int] = mapped_column(sa.ForeignKey("location.id", ondelete="CASCADE"))
    date: Mapped[dt.date] = mapped_column(sa.Date)
    reason: Mapped[str] = mapped_column(sa.String(200), default="")

    location: Mapped[Location] = relationship(back_populates="closures")
