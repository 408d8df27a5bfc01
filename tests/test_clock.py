"""The ``clock`` fixture fixes the instant the whole app reads."""

from __future__ import annotations

import datetime as dt

from clinic import clock as app_clock
from tests.builders import NOW


def test_the_clock_fixture_fixes_the_apps_now_and_advance_moves_it(app, clock):
    with app.app_context():
        assert app_clock.now() == NOW
        clock.advance(dt.timedelta(hours=2))
        assert app_clock.now() == NOW + dt.timedelta(hours=2)


def test_without_the_fixture_the_app_reads_the_real_time(app):
    before = dt.datetime.now(dt.UTC)
    with app.app_context():
        read = app_clock.now()
    assert before <= read <= dt.datetime.now(dt.UTC)
