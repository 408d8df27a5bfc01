"""How the scheduler words times, dates and people in the messages receptionists read."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def day_text(day: dt.date) -> str:
    """``3 May``: the clinic talks about dates within the year ahead."""
    return f"{day.day} {day:%B}"


def time_text(instant: dt.datetime, tz: ZoneInfo) -> str:
    return f"{instant.astimezone(tz):%H:%M}"


def moment_text(instant: dt.datetime, tz: ZoneInfo, *, on_day: dt.date | None = None) -> str:
    """``14:00`` when on ``on_day`` (the session's date), else ``4 May 14:00``."""
    local = instant.astimezone(tz)
    if on_day is not None and local.date() == on_day:
        return f"{local:%H:%M}"
    return f"{day_text(local.date())} {local:%H:%M}"


def duration_text(seconds: int) -> str:
    minutes = seconds // 60
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return f"{hours} h {minutes} min"
    if hours:
        return f"{hours} h"
    return f"{minutes} min"


def staff_text(name: str, role: str) -> str:
    """``Nurse Maria Kim``; prescribers' names already carry their title."""
    if role == "nurse" and not name.lower().startswith("nurse "):
        return f"Nurse {name}"
    return name


def chair_text(label: str) -> str:
    return label if label.lower().startswith("chair") else f"Chair {label}"
