"""The day board as JSON: the same data as the web board (``load_day_board``)."""

from __future__ import annotations

from .. import clock
from ..extensions import db
from ..permissions import Permission
from ..scheduling.board import DayBoard, load_day_board
from . import api, queries
from . import schemas as s
from .problems import ApiProblem


@api.get(
    "/locations/<id:location_id>/board",
    summary="One location's day board",
    tag="Board",
    permission=Permission.VIEW_SCHEDULE,
    query=s.BoardQuery,
    response=s.DayBoard,
    description="Chairs as lanes with their sessions and out-of-service blocks, staff on "
    "shift with their load and certification warnings, and every session of the day.",
)
def day_board(location_id: int, query: s.BoardQuery) -> s.DayBoard:
    now = clock.now()
    day = query.date
    if day is None:
        locations = queries.locations(db.session(), location_id=location_id)
        if not locations:
            raise ApiProblem(404, f"There is no location with id {location_id}.")
        day = locations[0].local_today(now)
    return board_out(load_day_board(db.session(), location_id=location_id, day=day, now=now))


def board_out(board: DayBoard) -> s.DayBoard:
    return s.DayBoard(
        location_id=board.location_id,
        location_name=board.location_name,
        timezone=board.timezone,
        day=board.day,
        is_closed=board.is_closed,
        closure_reason=board.closure_reason,
        opening=[s.OpeningWindow(opens=opens, closes=closes) for opens, closes in board.opening],
        window_start=board.window_start,
        window_end=board.window_end,
        now=board.now,
        lanes=[s.BoardLane.model_validate(lane) for lane in board.lanes],
        staff=[
            s.BoardStaff(
                staff_id=member.staff_id,
                name=member.name,
                role=member.role,
                on_shift=member.on_shift,
                shifts=[s.TimeWindow(starts_at=a, ends_at=b) for a, b in member.shifts],
                time_off=[s.TimeWindow(starts_at=a, ends_at=b) for a, b, _ in member.time_off],
                sessions=member.sessions,
                peak_patients=member.peak_patients,
                patients_now=member.patients_now,
                certification_warnings=[
                    s.CertificationWarning.model_validate(flag)
                    for flag in member.certification_flags
                ],
            )
            for member in board.staff
        ],
        sessions=[s.BoardSession.model_validate(item) for item in board.sessions],
        released=[s.BoardSession.model_validate(item) for item in board.released],
        status_counts=board.status_counts,
    )
