"""The shape every report takes: figures (each defined once), tables of them, and charts
drawn from the tables. The page, the CSV and the charts all read the same ``Report``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

Cell = str | int | float | None
Unit = Literal["text", "count", "percent", "minutes", "hours", "days", "ratio"]


@dataclass(frozen=True, slots=True)
class Figure:
    """A number a report shows, with the one sentence saying how it is computed."""

    key: str
    label: str
    unit: Unit
    how: str


@dataclass(frozen=True, slots=True)
class Column:
    label: str
    unit: Unit = "text"
    figure: Figure | None = None

    @classmethod
    def of(cls, figure: Figure) -> Column:
        return cls(label=figure.label, unit=figure.unit, figure=figure)


@dataclass(frozen=True, slots=True)
class Table:
    key: str
    caption: str
    columns: tuple[Column, ...]
    rows: list[tuple[Cell, ...]]
    # Trailing rows that sum up the others ("All days"): in the table, not in the chart.
    total_rows: int = 0

    @property
    def detail_rows(self) -> list[tuple[Cell, ...]]:
        return self.rows[: len(self.rows) - self.total_rows]

    def column(self, label: str) -> list[Cell]:
        index = [column.label for column in self.columns].index(label)
        return [row[index] for row in self.detail_rows]


ChartKind = Literal["line", "bar", "dot"]


@dataclass(frozen=True, slots=True)
class Chart:
    """A picture of (part of) a table: ``x_column`` gives the labels, each of
    ``series_columns`` one line, bar set or dot row (for ``dot``: rows are series)."""

    key: str
    title: str
    kind: ChartKind
    table: str
    x_column: str
    series_columns: tuple[str, ...]
    unit: Unit = "count"


@dataclass(frozen=True, slots=True)
class Report:
    key: str
    title: str
    tables: list[Table]
    charts: list[Chart] = field(default_factory=list)
    # Plain statements the page shows above the figures (e.g. what is not recorded yet).
    notes: list[str] = field(default_factory=list)

    @property
    def figures(self) -> list[Figure]:
        seen: dict[str, Figure] = {}
        for table in self.tables:
            for column in table.columns:
                if column.figure is not None:
                    seen.setdefault(column.figure.key, column.figure)
        return list(seen.values())

    def table(self, key: str) -> Table:
        return next(table for table in self.tables if table.key == key)


def format_cell(value: Cell, unit: Unit) -> str:
    """The one text form of a value, on the page and in the CSV alike."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if unit == "percent":
        return f"{value:.1f}%"
    if unit in ("minutes", "hours", "days", "ratio") and isinstance(value, float):
        return f"{value:.1f}"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def percent(part: float, whole: float) -> float | None:
    return None if not whole else 100.0 * part / whole


def median(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[middle])
    return (ordered[middle - 1] + ordered[middle]) / 2
