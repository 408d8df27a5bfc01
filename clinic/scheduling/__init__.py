"""The scheduling domain: rules, series planning, availability search and booking.

Plain typed Python: functions take the SQLAlchemy session and ``now`` (timezone-aware) as
keyword arguments and never import Flask. The public API, re-exported here:

- plans: ``SeriesPlan``, ``plan_from_protocol(session, *, protocol_id, location_id,
  first_date, weekdays=(), preferred_start=None, preferred_end=None)``,
  ``plan_custom(*, treatment_type_id, location_id, first_date, count, weekdays,
  min_hours_between=24, preferred_start=None, preferred_end=None)`` (no session needed),
  ``plan_with_dates(plan, dates)``;
- read-only: ``preview_series(session, *, patient_id, plan, now) -> SeriesPreview`` and
  ``find_slots(session, *, treatment_type_id, location_id, start_date, end_date, now,
  patient_id=None, limit=20, per_day=4) -> list[Slot]``;
- changes (one transaction each, committed inside): ``book_series(session, *, patient_id,
  plan, actor, now, proposals=None, reminders=None) -> Series``, ``book_session(session, *,
  patient_id, treatment_type_id, location_id, starts_at, actor, now, chair_id=None,
  monitor_id=None, reminders=None) -> Appointment``, ``reschedule(session, *,
  appointment_id, new_starts_at, scope, actor, now, reminders=None) -> list[Appointment]``
  and ``cancel(session, *, appointment_id, scope, reason, actor, now) -> list[Appointment]``
  with ``scope`` one of ``"one"``, ``"following"``, ``"all"``;
- errors: ``SchedulingError`` (``.message``) and its family.

Every service also accepts ``settings=SchedulingSettings(...)``; web views pass
``scheduling_settings_from_config(current_app.config)`` so ``[scheduling]`` config applies
(services given none use the shipped defaults: 5-minute grid, one start per monitor per
15 minutes). ``proposals`` for ``book_series`` may be the ``Slot`` objects of a preview or
``SlotChoice(starts_at, chair_id, monitor_id, prescriber_id)`` rebuilt from a form.
"""

from .booking import book_series, book_session, cancel, reschedule
from .errors import (
    ChairUnavailable,
    ClinicClosed,
    DoseSpacingViolation,
    InThePast,
    InvalidPlan,
    InvalidRequest,
    InvalidTransition,
    MonitorUnavailable,
    NotFound,
    OutsideOpeningHours,
    PatientUnavailable,
    PrescriberUnavailable,
    RemsNotEnrolled,
    RuleViolation,
    SchedulingError,
    SlotTaken,
    SpacingViolation,
    TreatmentUnavailable,
)
from .plans import SeriesPlan, plan_custom, plan_from_protocol, plan_with_dates
from .preview import ProposedSession, SeriesPreview, find_slots, preview_series
from .search import Slot, SlotChoice
from .settings import DEFAULT_SETTINGS, SchedulingSettings, scheduling_settings_from_config

__all__ = [
    "DEFAULT_SETTINGS",
    "ChairUnavailable",
    "ClinicClosed",
    "InThePast",
    "InvalidPlan",
    "InvalidRequest",
    "InvalidTransition",
    "MonitorUnavailable",
    "NotFound",
    "OutsideOpeningHours",
    "PatientUnavailable",
    "PrescriberUnavailable",
    "ProposedSession",
    "RemsNotEnrolled",
    "RuleViolation",
    "SchedulingError",
    "SchedulingSettings",
    "SeriesPlan",
    "SeriesPreview",
    "Slot",
    "SlotChoice",
    "SlotTaken",
    "DoseSpacingViolation",
    "SpacingViolation",
    "TreatmentUnavailable",
    "book_series",
    "book_session",
    "cancel",
    "find_slots",
    "plan_custom",
    "plan_from_protocol",
    "plan_with_dates",
    "preview_series",
    "reschedule",
    "scheduling_settings_from_config",
]
