"""Reports a clinic manager reads: chair utilisation, attendance, series, monitor load and
messages. Plain typed functions over aggregate SQL (a fixed number of queries per report,
whatever the range); each figure is defined once in ``figures``. No Flask here: the pages
(``clinic.web.reports``) and the benchmark (``bench/reports.py``) call ``build_report``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy.orm import Session

from ..errors import NotFound
from .attendance import attendance
from .messages import messages
from .monitors import monitor_load
from .scope import MAX_DAYS, ReportScope
from .series import series_outcomes
from .settings import ReportSettings, report_settings_from_config
from .table import Chart, Column, Figure, Report, Table, format_cell
from .utilisation import chair_utilisation

# Report key -> title, in the order the reports are listed.
REPORTS: dict[str, str] = {
    "utilisation": "Chair utilisation",
    "attendance": "No-shows and late cancellations",
    "series": "Series",
    "monitors": "Monitor load",
    "messages": "Messages",
}


def build_report(
    session: Session,
    key: str,
    *,
    scope: ReportScope,
    settings: ReportSettings,
    now: dt.datetime,
) -> Report:
    builders: dict[str, Callable[[], Report]] = {
        "utilisation": lambda: chair_utilisation(session, scope=scope),
        "attendance": lambda: attendance(session, scope=scope, settings=settings, now=now),
        "series": lambda: series_outcomes(session, scope=scope),
        "monitors": lambda: monitor_load(session, scope=scope),
        "messages": lambda: messages(session, scope=scope),
    }
    if key not in builders:
        raise NotFound("There is no such report.")
    return builders[key]()


__all__ = [
    "MAX_DAYS",
    "REPORTS",
    "Chart",
    "Column",
    "Figure",
    "Report",
    "ReportScope",
    "ReportSettings",
    "Table",
    "build_report",
    "format_cell",
    "report_settings_from_config",
]
