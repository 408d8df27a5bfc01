"""SQL that differs between SQLite and PostgreSQL, in one place: local wall-clock parts of a
stored UTC instant, minutes between instants, and the larger or smaller of two numbers.

Reports group sessions by the local day, weekday, hour and week of their own location, so
the time zone is a column (``location.timezone``), not a constant. PostgreSQL converts with
``AT TIME ZONE``. SQLite has no time zones: the app registers a deterministic SQL function,
``clinic_local_time(utc_text, zone)``, on the SQLite connection (``prepare``) that
does the conversion with ``zoneinfo`` inside the one aggregate query.

Every expression here yields the same values on both backends:

- ``local_time``: ``'YYYY-MM-DD HH:MM:SS'`` text (SQLite) or a timestamp (PostgreSQL);
- ``local_day`` / ``local_week``: a date (PostgreSQL) or ``'YYYY-MM-DD'`` text (SQLite);
  ``str()`` of either is the ISO date (the week is its Monday);
- ``local_weekday``: 0 = Monday … 6 = Sunday; ``local_hour``: 0–23;
- ``local_minute_of_day``: 0–1439.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

SQLITE_LOCAL_TIME = "clinic_local_time"


class _Local(FunctionElement[Any]):
    """Base of the local-time parts: (utc instant column, time zone name column)."""

    inherit_cache = True


class local_time(_Local):  # noqa: N801 - SQL function style
    type = sa.String()
    inherit_cache = True


class local_day(_Local):  # noqa: N801
    type = sa.String()
    inherit_cache = True


class local_week(_Local):  # noqa: N801
    type = sa.String()
    inherit_cache = True


class local_weekday(_Local):  # noqa: N801
    type = sa.Integer()
    inherit_cache = True


class local_hour(_Local):  # noqa: N801
    type = sa.Integer()
    inherit_cache = True


class local_minute_of_day(_Local):  # noqa: N801
    type = sa.Integer()
    inherit_cache = True


class minutes_between(FunctionElement[Any]):  # noqa: N801
    """Minutes from the first instant to the second (a float)."""

    type = sa.Float()
    inherit_cache = True


class greater(FunctionElement[Any]):  # noqa: N801
    type = sa.Float()
    inherit_cache = True


class lesser(FunctionElement[Any]):  # noqa: N801
    type = sa.Float()
    inherit_cache = True


def _args(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> list[str]:
    return [compiler.process(clause, **kw) for clause in element.clauses]


# --- PostgreSQL ---------------------------------------------------------------------------


def _pg_local(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> str:
    instant, zone = _args(element, compiler, **kw)
    return f"({instant} AT TIME ZONE {zone})"


@compiles(local_time, "postgresql")
def _pg_local_time(element: local_time, compiler: SQLCompiler, **kw: Any) -> str:
    return _pg_local(element, compiler, **kw)


@compiles(local_day, "postgresql")
def _pg_local_day(element: local_day, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST({_pg_local(element, compiler, **kw)} AS DATE)"


@compiles(local_week, "postgresql")
def _pg_local_week(element: local_week, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(date_trunc('week', {_pg_local(element, compiler, **kw)}) AS DATE)"


@compiles(local_weekday, "postgresql")
def _pg_local_weekday(element: local_weekday, compiler: SQLCompiler, **kw: Any) -> str:
    return f"(CAST(EXTRACT(ISODOW FROM {_pg_local(element, compiler, **kw)}) AS INTEGER) - 1)"


@compiles(local_hour, "postgresql")
def _pg_local_hour(element: local_hour, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(EXTRACT(HOUR FROM {_pg_local(element, compiler, **kw)}) AS INTEGER)"


@compiles(local_minute_of_day, "postgresql")
def _pg_local_minute(element: local_minute_of_day, compiler: SQLCompiler, **kw: Any) -> str:
    local = _pg_local(element, compiler, **kw)
    return (
        f"(CAST(EXTRACT(HOUR FROM {local}) AS INTEGER) * 60"
        f" + CAST(EXTRACT(MINUTE FROM {local}) AS INTEGER))"
    )


@compiles(minutes_between, "postgresql")
def _pg_minutes_between(element: minutes_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = _args(element, compiler, **kw)
    return f"(EXTRACT(EPOCH FROM ({end} - {start})) / 60.0)"


@compiles(greater, "postgresql")
def _pg_greater(element: greater, compiler: SQLCompiler, **kw: Any) -> str:
    return f"GREATEST({', '.join(_args(element, compiler, **kw))})"


@compiles(lesser, "postgresql")
def _pg_lesser(element: lesser, compiler: SQLCompiler, **kw: Any) -> str:
    return f"LEAST({', '.join(_args(element, compiler, **kw))})"


# --- SQLite -------------------------------------------------------------------------------


def _sqlite_local(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> str:
    instant, zone = _args(element, compiler, **kw)
    return f"{SQLITE_LOCAL_TIME}({instant}, {zone})"


@compiles(local_time, "sqlite")
def _sqlite_local_time(element: local_time, compiler: SQLCompiler, **kw: Any) -> str:
    return _sqlite_local(element, compiler, **kw)


@compiles(local_day, "sqlite")
def _sqlite_local_day(element: local_day, compiler: SQLCompiler, **kw: Any) -> str:
    return f"substr({_sqlite_local(element, compiler, **kw)}, 1, 10)"


@compiles(local_week, "sqlite")
def _sqlite_local_week(element: local_week, compiler: SQLCompiler, **kw: Any) -> str:
    # The Monday on or before the day: six days back, then forward to the next Monday.
    return f"date({_sqlite_local(element, compiler, **kw)}, '-6 days', 'weekday 1')"


@compiles(local_weekday, "sqlite")
def _sqlite_local_weekday(element: local_weekday, compiler: SQLCompiler, **kw: Any) -> str:
    # strftime('%w') counts from Sunday = 0.
    return f"((CAST(strftime('%w', {_sqlite_local(element, compiler, **kw)}) AS INTEGER) + 6) % 7)"


@compiles(local_hour, "sqlite")
def _sqlite_local_hour(element: local_hour, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(substr({_sqlite_local(element, compiler, **kw)}, 12, 2) AS INTEGER)"


@compiles(local_minute_of_day, "sqlite")
def _sqlite_local_minute(element: local_minute_of_day, compiler: SQLCompiler, **kw: Any) -> str:
    local = _sqlite_local(element, compiler, **kw)
    return (
        f"(CAST(substr({local}, 12, 2) AS INTEGER) * 60 + CAST(substr({local}, 15, 2) AS INTEGER))"
    )


@compiles(minutes_between, "sqlite")
def _sqlite_minutes_between(element: minutes_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = _args(element, compiler, **kw)
    # Whole seconds since the epoch: exact, where julianday's float drifts in the 8th digit.
    return (
        f"((CAST(strftime('%s', {end}) AS INTEGER)"
        f" - CAST(strftime('%s', {start}) AS INTEGER)) / 60.0)"
    )


@compiles(greater, "sqlite")
def _sqlite_greater(element: greater, compiler: SQLCompiler, **kw: Any) -> str:
    return f"max({', '.join(_args(element, compiler, **kw))})"


@compiles(lesser, "sqlite")
def _sqlite_lesser(element: lesser, compiler: SQLCompiler, **kw: Any) -> str:
    return f"min({', '.join(_args(element, compiler, **kw))})"


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@lru_cache(maxsize=65536)
def sqlite_local_time(utc_text: str | None, zone: str | None) -> str | None:
    """The SQLite function: stored naive-UTC text → local ``'YYYY-MM-DD HH:MM:SS'``."""
    if utc_text is None or zone is None:
        return None
    instant = dt.datetime.fromisoformat(utc_text).replace(tzinfo=dt.UTC)
    return instant.astimezone(_zone(zone)).strftime("%Y-%m-%d %H:%M:%S")


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.create_function(
            SQLITE_LOCAL_TIME, 2, sqlite_local_time, deterministic=True
        )


def prepare(session: Session) -> None:
    """Make sure the session's SQLite connection has the local-time function (no statement
    is sent; a no-op on PostgreSQL). Called by every report before its queries."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        _on_connect(connection.connection.dbapi_connection, None)


class shifted(FunctionElement[Any]):  # noqa: N801
    """The instant moved by a whole number of minutes (a literal): for index ranges only;
    compare exactly with ``minutes_between`` (SQLite's text form differs in its fraction)."""

    inherit_cache = True

    def __init__(self, instant: Any, minutes: int) -> None:
        self.minutes = int(minutes)
        super().__init__(instant)


@compiles(shifted, "postgresql")
def _pg_shifted(element: shifted, compiler: SQLCompiler, **kw: Any) -> str:
    (instant,) = _args(element, compiler, **kw)
    return f"({instant} + INTERVAL '{element.minutes} minutes')"


@compiles(shifted, "sqlite")
def _sqlite_shifted(element: shifted, compiler: SQLCompiler, **kw: Any) -> str:
    (instant,) = _args(element, compiler, **kw)
    return f"datetime({instant}, '{element.minutes:+d} minutes')"


class local_days_between(FunctionElement[Any]):  # noqa: N801
    """Whole local calendar days from the first instant to the second, in a time zone:
    ``(first, second, zone)``."""

    type = sa.Integer()
    inherit_cache = True


@compiles(local_days_between, "postgresql")
def _pg_local_days_between(element: local_days_between, compiler: SQLCompiler, **kw: Any) -> str:
    first, second, zone = _args(element, compiler, **kw)
    return (
        f"(CAST(({second} AT TIME ZONE {zone}) AS DATE)"
        f" - CAST(({first} AT TIME ZONE {zone}) AS DATE))"
    )


@compiles(local_days_between, "sqlite")
def _sqlite_local_days_between(
    element: local_days_between, compiler: SQLCompiler, **kw: Any
) -> str:
    first, second, zone = _args(element, compiler, **kw)
    return (
        f"CAST(julianday(substr({SQLITE_LOCAL_TIME}({second}, {zone}), 1, 10))"
        f" - julianday(substr({SQLITE_LOCAL_TIME}({first}, {zone}), 1, 10)) AS INTEGER)"
    )


class epoch_seconds(FunctionElement[Any]):  # noqa: N801
    """Whole seconds since 1970 of an instant: a number to order a RANGE window by."""

    type = sa.Integer()
    inherit_cache = True


@compiles(epoch_seconds, "postgresql")
def _pg_epoch_seconds(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    (instant,) = _args(element, compiler, **kw)
    return f"CAST(EXTRACT(EPOCH FROM {instant}) AS BIGINT)"


@compiles(epoch_seconds, "sqlite")
def _sqlite_epoch_seconds(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    (instant,) = _args(element, compiler, **kw)
    return f"CAST(strftime('%s', {instant}) AS INTEGER)"
