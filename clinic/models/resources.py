"""Infusion chairs and the blocks of time they are out of service."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base

if TYPE_CHECKING:
    from .location import Location


class Capability(enum.StrEnum):
    IV = "iv"
    NASAL = "nasal"


class Chair(Base):
    __tablename__ = "chair"
    __table_args__ = (sa.UniqueConstraint("location_id", "label", name="uq_chair_location_label"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    location_id: Mapped[int] = mapped_column(
        sa.ForeignKey("location.id", ondelete="RESTRICT"), index=True
    )
    label: Mapped[str] = mapped_column(sa.String(40))
    # A list of Capability values, e.g. ["iv", "nasal"]; a small set, read with the chair.
    capabilities: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True)

    location: Mapped[Location] = relationship(back_populates="chairs")
    blocks: Mapped[list[ChairBlock]] = relationship(
        back_populates="chair", cascade="all, delete-orphan", order_by="ChairBlock.starts_at"
    )

    def can(self, capability: str) -> bool:
        return capability in self.capabilities


class ChairBlock(Base):
    """The chair is out of service (repair, cleaning, reserved) for this window."""

    __tablename__ = "chair_block"
    __table_args__ = (sa.CheckConstraint("ends_at > starts_at", name="ends_after_starts"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    chair_id: Mapped[int] = mapped_column(sa.ForeignKey("chair.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[dt.datetime]
    ends_at: Mapped[dt.datetime]
    reason: Mapped[str] = mapped_column(sa.String(200), default="")

    chair: Mapped[Chair] = relationship(back_populates="blocks")
