"""The scheduling error family: every refusal carries a message a receptionist can act on.

Views map ``SchedulingError`` to a flash message and a 4xx answer, the API to a JSON problem.
``message`` is always a complete sentence in plain words ("Nurse Maria Kim's ACLS expires on
3 May, before the session on 5 May."), never a constraint name.
"""

from __future__ import annotations

from .. import errors


class SchedulingError(errors.DomainError):
    """Base of every scheduling refusal."""

    default_message = "The scheduling request could not be completed."


class InvalidRequest(SchedulingError, errors.Invalid):
    """The request itself is malformed (bad plan, unknown scope, missing reason)."""


class InvalidPlan(InvalidRequest):
    """A series plan that cannot be turned into session dates."""


class NotFound(SchedulingError, errors.NotFound):
    default_message = "That record no longer exists."


class InvalidTransition(SchedulingError, errors.Refused):
    """The appointment's status does not allow this change (e.g. cancelling a discharge)."""


class RuleViolation(SchedulingError, errors.Refused):
    """A hard rule of the schedule refuses the booking; ``rule`` names which one."""

    rule = "rule"


class InThePast(RuleViolation):
    rule = "past"


class ClinicClosed(RuleViolation):
    rule = "closure"


class OutsideOpeningHours(RuleViolation):
    rule = "opening_hours"


class PatientUnavailable(RuleViolation):
    """The patient is inactive or already has a session at that time."""

    rule = "patient"


class SpacingViolation(RuleViolation):
    """Two sessions of one series closer than the protocol's minimum spacing."""

    rule = "spacing"


class DoseSpacingViolation(RuleViolation):
    """Two doses of one patient closer than their treatment types' minimum spacing, across
    every series and single session (DESIGN §3 rule 7)."""

    rule = "dose_spacing"


class RemsNotEnrolled(RuleViolation):
    rule = "rems"


class ChairUnavailable(RuleViolation):
    rule = "chair"


class MonitorUnavailable(RuleViolation):
    rule = "monitor"


class PrescriberUnavailable(RuleViolation):
    rule = "prescriber"


class TreatmentUnavailable(RuleViolation):
    rule = "treatment"


class SlotTaken(RuleViolation, errors.Conflict):
    """Another booking holds the chair, the monitor or the patient's time.

    Raised when the re-check inside the booking transaction (or the database's exclusion
    constraint) finds a conflict with another live appointment. ``message`` is the fixed
    sentence the UI shows before offering a fresh preview; ``detail`` says what conflicted,
    when known ("Chair IV 1 is booked from 09:00 to 11:00.").
    """

    rule = "taken"
    # A lost race, not a refusal: the MRO would find Refused's 422 first.
    status = errors.Conflict.status
    default_message = "That slot was just taken by another booking. Here is a fresh preview."

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(self.default_message)
        self.detail = detail
