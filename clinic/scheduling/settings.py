"""Scheduling settings read from the app config (``[scheduling]`` in config/default.toml).

The domain never imports Flask: views and jobs call ``scheduling_settings_from_config`` with
``current_app.config`` and pass the result to the services as ``settings=``. Services given
no settings use the shipped defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

LEVELLING_WINDOW_MINUTES = 15


@dataclass(frozen=True, slots=True)
class SchedulingSettings:
    # Candidate starts lie on this grid of local wall-clock minutes (00, 05, 10, ...).
    grid_minutes: int = 5
    # Levelled nurse load: at most this many starts per monitor in any 15 minutes
    # (0 switches the rule off).
    max_starts_per_monitor_per_15min: int = 1
    # How far either side of an unbookable date the preview looks for alternatives.
    alternative_days: int = 7

    def __post_init__(self) -> None:
        if self.grid_minutes <= 0 or (24 * 60) % self.grid_minutes:
            raise ValueError("SCHEDULING_GRID_MINUTES must divide a day, e.g. 5, 10 or 15")
        if self.max_starts_per_monitor_per_15min < 0:
            raise ValueError("SCHEDULING_MAX_STARTS_PER_MONITOR_PER_15MIN must be 0 or more")


DEFAULT_SETTINGS = SchedulingSettings()


def scheduling_settings_from_config(config: Mapping[str, Any]) -> SchedulingSettings:
    """Read ``SCHEDULING_GRID_MINUTES`` and ``SCHEDULING_MAX_STARTS_PER_MONITOR_PER_15MIN``."""
    return SchedulingSettings(
        grid_minutes=int(config.get("SCHEDULING_GRID_MINUTES", DEFAULT_SETTINGS.grid_minutes)),
        max_starts_per_monitor_per_15min=int(
            config.get(
                "SCHEDULING_MAX_STARTS_PER_MONITOR_PER_15MIN",
                DEFAULT_SETTINGS.max_starts_per_monitor_per_15min,
            )
        ),
    )
