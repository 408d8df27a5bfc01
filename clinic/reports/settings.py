"""Report settings read from the app config (``[reports]`` in config/default.toml)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_LATE_CANCEL_HOURS = 24


@dataclass(frozen=True, slots=True)
class ReportSettings:
    # A cancellation less than this long before the session's start is a late one.
    late_cancel_hours: int = DEFAULT_LATE_CANCEL_HOURS

    def __post_init__(self) -> None:
        if not 0 <= self.late_cancel_hours <= 24 * 14:
            raise ValueError("REPORTS_LATE_CANCEL_HOURS must be between 0 and 336")


def report_settings_from_config(config: Mapping[str, Any]) -> ReportSettings:
    return ReportSettings(
        late_cancel_hours=int(config.get("REPORTS_LATE_CANCEL_HOURS", DEFAULT_LATE_CANCEL_HOURS))
    )
