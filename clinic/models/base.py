"""Declarative base, naming convention and the UTC timestamp type shared by all models."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, registry


class UTCDateTime(sa.TypeDecorator[dt.datetime]):
    """A timezone-aware instant, stored as UTC.

    PostgreSQL keeps it as ``timestamptz``. SQLite has no timezone support, so the value
    is stored as naive UTC and made aware again on load. Naive datetimes are refused on the
    way in: a naive value is a bug (whose wall clock was it?), never a guess to make.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime given where a timezone-aware one is required")
        utc_value = value.astimezone(dt.UTC)
        if dialect.name == "sqlite":
            return utc_value.replace(tzinfo=None)
        return utc_value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    """Column default; a callable so every row gets its own instant."""
    return dt.datetime.now(dt.UTC)


NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    registry = registry(
        metadata=sa.MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={dt.datetime: UTCDateTime()},
    )


def enum_column(enum_class: type[enum.Enum], **kwargs: Any) -> sa.Enum:
    """A portable string enum with a CHECK constraint (no native PostgreSQL ENUM type,
    so adding a value later is a plain migration)."""
    return sa.Enum(
        enum_class,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
        name=enum_class.__name__.lower(),
        **kwargs,
    )
