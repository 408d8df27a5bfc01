"""The database connection: engine set-up that differs per backend, and the health probe."""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

log = logging.getLogger("clinic.database")


def configure_engine(engine: Engine) -> None:
    if engine.dialect.name == "sqlite":
        configure_sqlite(engine)


def configure_sqlite(engine: Engine) -> None:
    """Enforce foreign keys and serialise writers.

    pysqlite's own transaction handling starts transactions lazily and DEFERRED, so two
    writers can both read and then one fails with "database is locked" on upgrade. We turn it
    off and begin every transaction IMMEDIATE: writers queue on the lock (up to busy_timeout)
    instead of failing, which is what makes booking safe on SQLite.
    """

    @sa.event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def on_begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def database_reachable(engine: sa.Engine) -> bool:
    """Whether the database answers a trivial query (the health check).

    On a pooled connection of its own, outside the ORM session, so the probe never begins a
    transaction (on SQLite, a write lock) nor waits behind one. Logs the error type only.
    """
    try:
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute("SELECT 1")
            cursor.fetchall()
            cursor.close()
        finally:
            connection.close()  # back to the pool, which rolls back whatever it began
    except Exception as error:  # the driver's own errors too: any failure is an outage
        log.warning("health check: database unreachable (%s)", type(error).__name__)
        return False
    return True
