"""Old home of the scheduling clinic builders, kept so callers keep working.

# phase 2: callers move to tests.builders, this module goes
"""

from __future__ import annotations

from tests.builders import (
    ACTOR,
    IV_CERTS,
    NASAL_CERTS,
    NOW,
    NY,
    add_shift,
    at,
    block_chair,
    build_clinic,
    close_day,
    make_chair,
    make_patient,
    make_staff,
    time_off,
    weekly_shifts,
)
from tests.builders import World as Clinic

__all__ = [
    "ACTOR",
    "IV_CERTS",
    "NASAL_CERTS",
    "NOW",
    "NY",
    "Clinic",
    "add_shift",
    "at",
    "block_chair",
    "build_clinic",
    "close_day",
    "make_chair",
    "make_patient",
    "make_staff",
    "time_off",
    "weekly_shifts",
]
