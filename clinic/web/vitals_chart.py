"""The session page's blood pressure and heart rate chart: an SVG drawn on the server.

pygal renders the chart as a plain SVG served from the app (no CDN, no script: ``js=[]``),
shown through an ``<img>``: the page's CSP stays as it is; the SVG response carries its own
policy that allows only the chart's embedded stylesheet. A table of the same readings sits
next to it on the page for screen readers and printing.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from zoneinfo import ZoneInfo

import pygal
from pygal.style import Style

from ..models import RecordEntry

# pygal puts a legacy import hook on sys.meta_path (for its ``pygal.maps`` plugins, unused
# here) that only has ``find_module``: every later import that falls through to it warns on
# Python 3.11+. Taken off again.
sys.meta_path[:] = [
    finder for finder in sys.meta_path if type(finder).__name__ != "PluginImportFixer"
]

# pygal writes its tooltip config as an inline script even without its JS: dropped, as an
# image never runs it and the chart needs none.
_SCRIPT = re.compile(rb"<script\b.*?</script>", re.DOTALL)
SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
STYLE = Style(
    background="white",
    plot_background="white",
    foreground="#1f2933",
    foreground_strong="#1f2933",
    foreground_subtle="#cbd2d9",
    colors=("#b42318", "#e07b39", "#1d4ed8"),
    font_family="system-ui, sans-serif",
    label_font_size=12,
    major_label_font_size=12,
    legend_font_size=13,
    title_font_size=14,
)


def vitals_svg(vitals: Sequence[RecordEntry], tz: ZoneInfo) -> bytes:
    chart = pygal.DateTimeLine(
        js=[],
        style=STYLE,
        width=720,
        height=300,
        dots_size=4,
        show_x_guides=False,
        legend_at_bottom=True,
        x_value_formatter=lambda moment: moment.strftime("%H:%M"),
        range=(40, 200),
        title="Blood pressure (mmHg) and heart rate (/min)",
        no_data_text="No vital signs recorded yet",
    )
    points = [(entry.taken_at.astimezone(tz).replace(tzinfo=None), entry) for entry in vitals]
    if points:
        chart.add("Systolic", [(at, entry.systolic) for at, entry in points])
        chart.add("Diastolic", [(at, entry.diastolic) for at, entry in points])
        chart.add("Heart rate", [(at, entry.heart_rate) for at, entry in points])
    return _SCRIPT.sub(b"", bytes(chart.render()))
