"""Benchmark the reports on the synthetic clinic: several locations, years of history.

    python bench/reports.py --db postgresql://postgres@127.0.0.1/bench_reports --fresh \\
        --locations 5 --history-days 1095 [--runs 20] [--json]

Builds ``--locations`` synthetic clinics (``bench/synthetic.py``, one call per location)
with ``--history-days`` of booked history, then gives that history what the reports read:
check-ins, no-shows, late and early cancellations, series of six sessions, and an invitation
and a reminder per session with a few failures. Then times every report for the last full
year before ``NOW`` over all locations and over one, ``--runs`` times each, and counts the
SQL statements each sends. ``--reuse`` measures an already built database again.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.scheduling import QueryCounter, percentile, prepare_postgres  # noqa: E402
from bench.synthetic import build_synthetic_clinic  # noqa: E402
from clinic import create_app  # noqa: E402
from clinic.extensions import db  # noqa: E402
from clinic.models import (  # noqa: E402
    Appointment,
    AppointmentStatus,
    Location,
    Notification,
    Series,
    SeriesStatus,
)
from clinic.reports import REPORTS, ReportScope, ReportSettings, build_report  # noqa: E402

# A fixed instant so runs are comparable: Monday 1 June 2026, 08:00 in New York.
NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
YEAR = ReportScope(dt.date(2025, 6, 1), dt.date(2026, 5, 31))
SERIES_LENGTH = 6


def enrich_history(session: Any) -> dict[str, int]:
    """Turn the synthetic all-discharged history into one with the usual mishaps: check-ins,
    about 5% no-shows, 3% late and 3% early cancellations (picked by id), each patient's
    sessions in series of six, and an invitation and a reminder per session."""
    rows = session.execute(
        sa.select(
            Appointment.id,
            Appointment.patient_id,
            Appointment.treatment_type_id,
            Appointment.starts_at,
            Appointment.status,
        ).order_by(Appointment.patient_id, Appointment.starts_at)
    ).all()
    changes: dict[int, dict[str, Any]] = {}
    for row in rows:
        status, checked_in_at, cancelled_at = row.status, None, None
        if row.id % 33 == 5:
            status, cancelled_at = (
                AppointmentStatus.CANCELLED,
                row.starts_at - dt.timedelta(hours=3),
            )
        elif row.id % 33 == 6:
            status, cancelled_at = AppointmentStatus.CANCELLED, row.starts_at - dt.timedelta(days=4)
        elif row.starts_at < NOW and row.id % 20 == 3:
            status = AppointmentStatus.NO_SHOW
        elif status is AppointmentStatus.DISCHARGED:
            checked_in_at = row.starts_at - dt.timedelta(minutes=10)
        changes[row.id] = {
            "b_id": row.id,
            "b_status": status.value,
            "b_checked_in_at": checked_in_at,
            "b_cancelled_at": cancelled_at,
            "b_series_id": None,
        }
    groups: list[list[Any]] = []
    last_patient = None
    for row in rows:
        if row.patient_id != last_patient or len(groups[-1]) == SERIES_LENGTH:
            groups.append([])
            last_patient = row.patient_id
        groups[-1].append(row)
    series_rows = []
    for group in groups:
        statuses = {changes[row.id]["b_status"] for row in group}
        if AppointmentStatus.BOOKED.value in statuses:
            status = SeriesStatus.ACTIVE
        elif AppointmentStatus.DISCHARGED.value in statuses:
            status = SeriesStatus.COMPLETED
        else:
            status = SeriesStatus.CANCELLED
        series_rows.append(
            {
                "patient_id": group[0].patient_id,
                "treatment_type_id": group[0].treatment_type_id,
                "protocol_id": None,
                "status": status.value,
                "created_at": group[0].starts_at - dt.timedelta(days=7),
                "min_hours_between": 24,
            }
        )
    insert_series = sa.insert(Series).returning(Series.id, sort_by_parameter_order=True)
    series_ids = list(session.scalars(insert_series, series_rows))
    for series_id, group in zip(series_ids, groups, strict=True):
        for row in group:
            changes[row.id]["b_series_id"] = series_id
    table = Appointment.__table__
    update = (
        sa.update(table)
        .where(table.c.id == sa.bindparam("b_id"))
        .values(
            status=sa.bindparam("b_status"),
            checked_in_at=sa.bindparam("b_checked_in_at", type_=table.c.checked_in_at.type),
            cancelled_at=sa.bindparam("b_cancelled_at", type_=table.c.cancelled_at.type),
            series_id=sa.bindparam("b_series_id"),
        )
    )
    values = list(changes.values())
    for start in range(0, len(values), 10000):
        session.connection().execute(update, values[start : start + 10000])
    # An invitation and a reminder per session; 2% of them failed; future ones wait.
    notifications = []
    for row in rows:
        for kind, lead in (("invite", dt.timedelta(days=7)), ("reminder", dt.timedelta(days=1))):
            due = row.starts_at - lead
            status_text = "pending" if due >= NOW else ("failed" if row.id % 50 == 7 else "sent")
            notifications.append(
                {
                    "appointment_id": row.id,
                    "kind": kind,
                    "channel": "email",
                    "due_at": due,
                    "status": status_text,
                    "attempts": 1,
                    "sent_at": due if status_text == "sent" else None,
                    "idempotency_key": f"bench:{row.id}:{kind}",
                    "calendar_sequence": 0,
                    "created_at": due,
                }
            )
    for start in range(0, len(notifications), 10000):
        session.execute(sa.insert(Notification), notifications[start : start + 10000])
    session.commit()
    return {"series": len(series_rows), "notifications": len(notifications)}


def time_reports(
    session: Any, counter: QueryCounter, scope: ReportScope, runs: int
) -> dict[str, dict[str, float]]:
    settings = ReportSettings()
    results = {}
    for key in REPORTS:
        build_report(session, key, scope=scope, settings=settings, now=NOW)  # warm-up
        session.rollback()
        timings, queries = [], []
        for _ in range(runs):
            with counter.counting():
                started = time.perf_counter()
                build_report(session, key, scope=scope, settings=settings, now=NOW)
                timings.append((time.perf_counter() - started) * 1000)
            queries.append(counter.count)
            session.rollback()
        results[key] = {
            "p50_ms": round(statistics.median(timings), 1),
            "p95_ms": round(percentile(timings, 0.95), 1),
            "max_ms": round(max(timings), 1),
            "queries": max(queries),
        }
    return results


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    from flask_migrate import upgrade

    url = args.db or f"sqlite:///{workdir / 'bench.db'}"
    if url.startswith(("postgres://", "postgresql")) and not args.reuse:
        prepare_postgres(url, fresh=args.fresh)
    app = create_app(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": "benchmark-secret-" + "x" * 32,
            "INSTANCE_PATH": str(workdir),
            "LOG_LEVEL": "WARNING",
        }
    )
    result: dict[str, Any] = {"locations": args.locations, "history_days": args.history_days}
    with app.app_context():
        upgrade()
        if not args.reuse:
            started = time.perf_counter()
            for n in range(args.locations):
                build_synthetic_clinic(
                    db.session,
                    chairs=args.chairs,
                    staff=args.staff,
                    history_days=args.history_days,
                    now=NOW,
                    future_days=28,
                    fresh_patients=0,
                    shift_days_ahead=30,
                    seed=args.seed + n,
                    name=f"Synthetic Clinic {n + 1}",
                )
            result.update(enrich_history(db.session))
            db.session.execute(
                sa.text("ANALYZE")
            ) if db.engine.dialect.name == "postgresql" else None
            db.session.commit()
            result["build_s"] = round(time.perf_counter() - started, 1)
        result["backend"] = db.engine.dialect.name
        result["appointments"] = db.session.scalar(
            sa.select(sa.func.count()).select_from(Appointment)
        )
        one_location = db.session.scalar(sa.select(sa.func.min(Location.id)))
        db.session.rollback()
        counter = QueryCounter(db.engine)
        result["year_all_locations"] = time_reports(db.session, counter, YEAR, args.runs)
        result["year_one_location"] = time_reports(
            db.session,
            counter,
            ReportScope(YEAR.first_day, YEAR.last_day, one_location),
            args.runs,
        )
        db.engine.dispose()
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--locations", type=int, default=5)
    parser.add_argument("--chairs", type=int, default=8, help="chairs per location")
    parser.add_argument("--staff", type=int, default=6, help="staff per location")
    parser.add_argument("--history-days", type=int, default=3 * 365)
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--fresh", action="store_true", help="drop and recreate --db first")
    parser.add_argument("--reuse", action="store_true", help="measure an already built --db")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="clinic-bench-") as workdir:
        result = run(args, Path(workdir))
    if args.json:
        print(json.dumps(result))
        return
    for key, value in result.items():
        if isinstance(value, dict):
            print(key)
            for report, figures in value.items():
                print(f"  {report:<12} " + "  ".join(f"{k} {v}" for k, v in figures.items()))
        else:
            print(f"{key:<14} {value}")


if __name__ == "__main__":
    main()
