"""The session record's refusals, in the app's one error family (``clinic.errors``)."""

from __future__ import annotations

from collections.abc import Sequence

from .. import errors
from ..scheduling.errors import InvalidTransition


class MonitoringError(errors.DomainError):
    default_message = "The session record could not be changed."


class RecordInvalid(MonitoringError, errors.Invalid):
    """An entry's values cannot be accepted; ``fields`` says which and why."""


class RecordRefused(MonitoringError, errors.Refused):
    """The session's state refuses the entry (not checked in, cancelled)."""


class EntryNotFound(MonitoringError, errors.NotFound):
    default_message = "That record entry does not exist."


class TreatmentStartRefused(MonitoringError, errors.Refused):
    """Treatment may not start yet: too early, or the chair or monitor would conflict."""


class DischargeRefused(InvalidTransition, MonitoringError):
    """Discharge conditions are unmet; ``conditions`` names each one. A refused status
    step, like the other refused transitions of the day."""

    def __init__(self, conditions: Sequence[str]) -> None:
        self.conditions = list(conditions)
        super().__init__(
            "The patient cannot be discharged yet: "
            + " ".join(condition.rstrip(".") + "." for condition in self.conditions)
        )


class OverrideRefused(MonitoringError, errors.Refused):
    """An override without the authority or the reason it needs."""
