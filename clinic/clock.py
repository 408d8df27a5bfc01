"""The app's one clock: every view, API operation, command and job reads ``now()`` here.

Domain code never reads the clock; it takes ``now`` as an argument. The layers that call it
(views, API, CLI, jobs) ask this module, so a test can set one instant for the whole app
(``set_clock(app, FixedClock(...))``) instead of running around the real today.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from flask import Flask, current_app

Clock = Callable[[], dt.datetime]
EXTENSION_KEY = "clinic.clock"


def system_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class FixedClock:
    """A clock that stays where it is put; ``advance`` moves it (tests of what happens later)."""

    def __init__(self, instant: dt.datetime) -> None:
        self.set(instant)

    def set(self, instant: dt.datetime) -> None:
        if instant.tzinfo is None:
            raise ValueError("A clock's instant must be timezone-aware.")
        self.instant = instant.astimezone(dt.UTC)

    def advance(self, delta: dt.timedelta) -> dt.datetime:
        self.instant += delta
        return self.instant

    def __call__(self) -> dt.datetime:
        return self.instant


def init_app(app: Flask) -> None:
    app.extensions.setdefault(EXTENSION_KEY, system_clock)


def set_clock(app: Flask, clock: Clock) -> None:
    app.extensions[EXTENSION_KEY] = clock


def app_clock(app: Flask) -> Clock:
    clock: Clock = app.extensions.get(EXTENSION_KEY, system_clock)
    return clock


def now() -> dt.datetime:
    """The current instant (aware, UTC) as the running app sees it."""
    return app_clock(current_app)()
