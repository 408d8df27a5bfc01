"""The security tests run at ``NOW``: logins, login sessions, throttling and the jobs read
the app clock, which is fixed there."""

from __future__ import annotations

import pytest

from clinic.clock import FixedClock


@pytest.fixture(autouse=True)
def fixed_clock(fixed_clock_if_app: FixedClock | None) -> FixedClock | None:
    return fixed_clock_if_app
