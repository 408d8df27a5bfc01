"""Every figure the reports show, each defined once: its label, unit and how it is computed.

The sentence in ``how`` is shown on the report page under the table that uses it; the
queries in the report modules compute exactly that.
"""

from __future__ import annotations

from .table import Figure

# --- chair utilisation ----------------------------------------------------------------------
OPEN_CHAIR_HOURS = Figure(
    "open_chair_hours",
    "Open chair hours",
    "hours",
    "Opening hours of the day times the location's active chairs (both as set up now: their "
    "history is not kept), less closure days and the parts of chair blocks that fall inside "
    "opening hours.",
)
BOOKED_CHAIR_HOURS = Figure(
    "booked_chair_hours",
    "Booked chair hours",
    "hours",
    "The chair time of every session not cancelled (no-shows included): prep, treatment, "
    "monitoring and turnover, from the session's start to the chair's release.",
)
USED_CHAIR_HOURS = Figure(
    "used_chair_hours",
    "Used chair hours",
    "hours",
    "The same chair time, counted only for sessions the patient was checked in for and that "
    "were neither cancelled nor marked no-show.",
)
BOOKED_UTILISATION = Figure(
    "booked_utilisation",
    "Booked",
    "percent",
    "Booked chair hours divided by open chair hours.",
)
USED_UTILISATION = Figure(
    "used_utilisation",
    "Used",
    "percent",
    "Used chair hours divided by open chair hours.",
)
HOURLY_UTILISATION = Figure(
    "hourly_utilisation",
    "Booked share of the hour",
    "percent",
    "For each weekday and clock hour: the booked chair minutes inside that hour divided by "
    "the open chair minutes of that hour, over every such day of the range.",
)

# --- attendance -----------------------------------------------------------------------------
DUE_SESSIONS = Figure(
    "due_sessions",
    "Sessions due",
    "count",
    "Sessions that started before now and were still booked when the late-cancellation "
    "window opened: every session except those cancelled before the window.",
)
NO_SHOWS = Figure("no_shows", "No-shows", "count", "Sessions due marked no-show.")
LATE_CANCELLATIONS = Figure(
    "late_cancellations",
    "Late cancellations",
    "count",
    "Sessions cancelled less than the late-cancellation window before their start (or after it).",
)
NO_SHOW_RATE = Figure("no_show_rate", "No-show rate", "percent", "No-shows over sessions due.")
LATE_CANCEL_RATE = Figure(
    "late_cancel_rate",
    "Late-cancellation rate",
    "percent",
    "Late cancellations over sessions due.",
)

# --- series ---------------------------------------------------------------------------------
SERIES_STARTED = Figure(
    "series_started",
    "Started",
    "count",
    "Series whose first session (in any state) falls in the range, at the location the "
    "series is booked at.",
)
SERIES_COMPLETED = Figure(
    "series_completed",
    "Completed",
    "count",
    "Of those, series that are over with at least one session given (status completed).",
)
SERIES_ABANDONED = Figure(
    "series_abandoned",
    "Abandoned",
    "count",
    "Of those, series that are over with no session given, or were cancelled (status cancelled).",
)
SERIES_RUNNING = Figure(
    "series_running", "Still running", "count", "Of those, series with a session still open."
)
MEDIAN_DAYS_TO_COMPLETE = Figure(
    "median_days_to_complete",
    "Median days to complete",
    "days",
    "For completed series: calendar days from the first session to the last session given, "
    "both days counted (as the protocol window counts them); the median of those.",
)
COMPLETED_WITHIN_WINDOW = Figure(
    "completed_within_window",
    "Completed within protocol window",
    "percent",
    "Completed series whose days to complete are at most their protocol's window, over "
    "completed series whose protocol has a window.",
)

# --- monitor load ---------------------------------------------------------------------------
MONITOR_DAYS = Figure(
    "monitor_days",
    "Days monitoring",
    "count",
    "Local days on which the monitor had at least one session not cancelled or no-show.",
)
MONITOR_SESSIONS = Figure(
    "monitor_sessions",
    "Sessions",
    "count",
    "Sessions the monitor was assigned, not cancelled and not no-show.",
)
SESSIONS_PER_DAY = Figure(
    "sessions_per_monitor_day",
    "Sessions per day",
    "ratio",
    "Sessions divided by days monitoring.",
)
BUSIEST_DAY = Figure(
    "busiest_day_sessions",
    "Busiest day",
    "count",
    "The most sessions the monitor had on one day.",
)
PEAK_SIMULTANEOUS = Figure(
    "peak_simultaneous_patients",
    "Peak simultaneous patients",
    "count",
    "The most of the monitor's patients in the clinic at once (from session start to end of "
    "monitoring), taken at each session's start.",
)
PEAK_STARTS_PER_15 = Figure(
    "peak_starts_per_15_minutes",
    "Peak starts per 15 minutes",
    "count",
    "The most of the monitor's sessions starting within any 15 minutes (the scheduler levels "
    "this to its configured limit).",
)

# --- messages -------------------------------------------------------------------------------
MESSAGES_SENT = Figure(
    "messages_sent",
    "Sent",
    "count",
    "Messages due in the range that were handed to the mail server or SMS gateway.",
)
MESSAGES_FAILED = Figure(
    "messages_failed",
    "Failed",
    "count",
    "Messages due in the range that gave up after their last attempt.",
)
MESSAGES_WAITING = Figure(
    "messages_waiting",
    "Waiting",
    "count",
    "Messages due in the range still pending or being sent.",
)
MESSAGES_NOT_SENT = Figure(
    "messages_not_sent",
    "Not sent",
    "count",
    "Messages withdrawn (the session was moved or cancelled) or skipped (their time had "
    "passed when the session was booked).",
)
MESSAGES_FAILURE_RATE = Figure(
    "messages_failure_rate",
    "Failure rate",
    "percent",
    "Failed over sent plus failed.",
)
