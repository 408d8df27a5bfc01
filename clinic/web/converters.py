"""URL converters for the pages: ``<int:...>`` only matches ids a record can have.

Werkzeug's own ``int`` matches any run of digits, so ``/patients/99999999999999999999999``
reached the view and the database, which cannot hold such a number (SQLite raises
OverflowError, PostgreSQL a DataError): a 500. A path outside 1..MAX_ID matches no route and
answers 404, like any other record that is not there.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import IntegerConverter

# PostgreSQL ``integer``, the type of every id column: a larger id cannot exist.
MAX_ID = 2**31 - 1


class RecordIdConverter(IntegerConverter):
    """``<int:name>`` limited to 0..MAX_ID (ids start at 1; 0 is simply not found)."""

    def __init__(self, map, *args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def register_converters(app: Flask) -> None:
    """Must run before any blueprint is registered: rules bind their converters when added."""
    app.url_map.converters["int"] = RecordIdConverter
