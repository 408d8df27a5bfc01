"""The board: a location's day (chairs as lanes), its week, and the printable day sheet."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, render_template, request, url_for

from ..clock import now as clock_now
from ..extensions import db
from ..permissions import Permission
from ..scheduling import rebooking
from ..scheduling.board import (
    DayBoard,
    list_locations,
    load_day_board,
    load_week_board,
)
from .access import require
from .formtools import parse_date_arg, parse_int, register_filters
from .timeline import Axis, phase_spans

bp = Blueprint("board", __name__, url_prefix="/board")

# Dates outside this range are typing mistakes, not clinic days.
EARLIEST_YEAR, LATEST_YEAR = 2000, 2100


@bp.record_once
def _setup(state: object) -> None:
    register_filters(state.app)  # type: ignore[attr-defined]


def _pick_location() -> tuple[int, str, str, list[tuple[int, str, str]]] | None:
    locations = list_locations(db.session())
    if not locations:
        return None
    wanted = parse_int(request.args.get("location"))
    if wanted is None:
        return (*locations[0], locations)
    for location in locations:
        if location[0] == wanted:
            return (*location, locations)
    abort(404)


def _pick_day(timezone: str, now: dt.datetime) -> dt.date:
    today = now.astimezone(ZoneInfo(timezone)).date()
    raw = request.args.get("date")
    if not raw:
        return today
    day = parse_date_arg(raw)
    if day is None or not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
        flash("That is not a date the board can show (use YYYY-MM-DD); here is today.", "error")
        return today
    return day


def closed_intervals(board: DayBoard) -> list[tuple[dt.datetime, dt.datetime]]:
    """Parts of the board's window outside the opening hours (the whole window if closed)."""
    if board.is_closed:
        return [(board.window_start, board.window_end)]
    tz = board.window_start.tzinfo
    gaps = []
    cursor = board.window_start
    for opens, closes in board.opening:
        start = dt.datetime.combine(board.day, opens, tzinfo=tz)
        end = dt.datetime.combine(board.day, closes, tzinfo=tz)
        if start > cursor:
            gaps.append((cursor, min(start, board.window_end)))
        cursor = max(cursor, end)
    if cursor < board.window_end:
        gaps.append((cursor, board.window_end))
    return [(start, end) for start, end in gaps if end > start]


@bp.route("/")
@require(Permission.VIEW_SCHEDULE)
def day() -> str:
    now = clock_now()
    picked = _pick_location()
    if picked is None:
        return render_template("board/no_location.html")
    location_id, _, timezone, locations = picked
    board_day = _pick_day(timezone, now)
    board = load_day_board(db.session(), location_id=location_id, day=board_day, now=now)
    today = now.astimezone(ZoneInfo(timezone)).date()
    return render_template(
        "board/day.html",
        board=board,
        rebooking_flags=rebooking.flagged(db.session(), [s.appointment_id for s in board.sessions]),
        axis=Axis(board.window_start, board.window_end),
        phase_spans=phase_spans,
        closed=closed_intervals(board),
        locations=locations,
        today=today,
        is_today=board_day == today,
        nav=_nav("board.day", location_id, board_day, days=1),
        view="day",
        return_to=request.full_path,
    )


@bp.route("/week")
@require(Permission.VIEW_SCHEDULE)
def week() -> str:
    now = clock_now()
    picked = _pick_location()
    if picked is None:
        return render_template("board/no_location.html")
    location_id, _, timezone, locations = picked
    some_day = _pick_day(timezone, now)
    first_day = some_day - dt.timedelta(days=some_day.weekday())
    board = load_week_board(db.session(), location_id=location_id, first_day=first_day, now=now)
    return render_template(
        "board/week.html",
        board=board,
        locations=locations,
        today=now.astimezone(ZoneInfo(timezone)).date(),
        nav=_nav("board.week", location_id, first_day, days=7),
        view="week",
    )


@bp.route("/sheet")
@require(Permission.VIEW_SCHEDULE)
def sheet() -> str:
    now = clock_now()
    picked = _pick_location()
    if picked is None:
        return render_template("board/no_location.html")
    location_id, _, timezone, _locations = picked
    board_day = _pick_day(timezone, now)
    board = load_day_board(db.session(), location_id=location_id, day=board_day, now=now)
    return render_template(
        "board/sheet.html", board=board, printed_at=now.astimezone(ZoneInfo(timezone))
    )


def _nav(endpoint: str, location_id: int, day: dt.date, *, days: int) -> dict[str, str]:
    def link(target: dt.date | None) -> str:
        if target is None:
            return url_for(endpoint, location=location_id)
        return url_for(endpoint, location=location_id, date=target.isoformat())

    return {
        "previous": link(day - dt.timedelta(days=days)),
        "next": link(day + dt.timedelta(days=days)),
        "today": link(None),
        "day": url_for("board.day", location=location_id, date=day.isoformat()),
        "week": url_for("board.week", location=location_id, date=day.isoformat()),
        "sheet": url_for("board.sheet", location=location_id, date=day.isoformat()),
    }
