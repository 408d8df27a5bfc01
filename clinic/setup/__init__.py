"""Clinic set-up for administrators: the services behind the admin pages (and the API).

Every change validates all its input first (a refused change leaves the database as it
was), writes an audit row in the same transaction, and commits once. Refusals raise
:class:`SetupError` with one message per field.
"""

from .common import WEEKDAYS, SetupError, SetupNotFound
from .locations import (
    LocationInput,
    OpeningInterval,
    PublicHoliday,
    add_chair_block,
    add_closure,
    add_holiday_closures,
    public_holidays,
    remove_chair_block,
    remove_closure,
    save_chair,
    save_location,
    set_holiday_region,
    set_opening_hours,
)
from .staff import (
    add_shift_template,
    add_time_off,
    remove_certification,
    remove_shift_template,
    remove_time_off,
    save_certification,
    save_staff,
    staff_timezone,
)
from .treatments import (
    ProtocolInput,
    ProtocolPhase,
    TreatmentTypeInput,
    parse_certification_kinds,
    save_protocol,
    save_treatment_type,
)

__all__ = [
    "WEEKDAYS",
    "LocationInput",
    "OpeningInterval",
    "PublicHoliday",
    "ProtocolInput",
    "ProtocolPhase",
    "SetupError",
    "SetupNotFound",
    "TreatmentTypeInput",
    "add_chair_block",
    "add_closure",
    "add_holiday_closures",
    "add_shift_template",
    "add_time_off",
    "parse_certification_kinds",
    "public_holidays",
    "remove_certification",
    "remove_chair_block",
    "remove_closure",
    "remove_shift_template",
    "remove_time_off",
    "save_certification",
    "save_chair",
    "save_location",
    "set_holiday_region",
    "save_protocol",
    "save_staff",
    "save_treatment_type",
    "set_opening_hours",
    "staff_timezone",
]
