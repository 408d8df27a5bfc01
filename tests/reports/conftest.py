"""The reports run at the app's fixed ``NOW`` (Mon 2 Mar 2026) on both backends."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _fixed_clock(fixed_clock_if_app: object) -> None:
    """Every request and report here runs at ``NOW``."""
