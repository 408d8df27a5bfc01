"""Benchmark the scheduler on a synthetic clinic with booked history.

    python bench/scheduling.py --chairs 20 --staff 12 --history-days 365 [--db URL] [--json]

Builds the clinic (``bench/synthetic.py``) in a fresh database (a temporary SQLite file by
default; with ``--db postgresql://...`` a scratch PostgreSQL database, created if missing and
rebuilt with ``--fresh``), then times series previews (IV induction: 6 sessions over about
three weeks), loads of the day board and the week board, and bookings of previewed series,
counting the SQL statements each one issues. Prints a table, or with ``--json`` one JSON
line. ``--profile N`` profiles the previews (``--profile-phase book``: the bookings) with
cProfile and prints the N costliest functions to stderr (``--profile-sort``, own time by
default); the profiled phase's timings are then not comparable.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import json
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.synthetic import build_synthetic_clinic  # noqa: E402
from clinic import create_app  # noqa: E402
from clinic.audit import Actor  # noqa: E402
from clinic.config import normalise_database_url  # noqa: E402
from clinic.extensions import db  # noqa: E402
from clinic.scheduling import book_series, plan_from_protocol, preview_series  # noqa: E402
from clinic.scheduling.board import load_day_board, load_week_board  # noqa: E402

# A fixed instant so runs are comparable: Monday 1 June 2026, 08:00 in New York.
NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
ACTOR = Actor(user_id=None, username="bench")


class QueryCounter:
    """Counts statements sent to the database while ``counting()`` is active."""

    def __init__(self, engine: sa.Engine) -> None:
        self.count = 0
        self.active = False
        sa.event.listen(engine, "before_cursor_execute", self._on_execute)

    def _on_execute(self, *_args: Any) -> None:
        if self.active:
            self.count += 1

    @contextmanager
    def counting(self) -> Iterator[None]:
        self.count = 0
        self.active = True
        try:
            yield
        finally:
            self.active = False


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def prepare_postgres(url: str, *, fresh: bool) -> None:
    target = sa.make_url(normalise_database_url(url))
    name = target.database
    if not name or name == "postgres":
        raise SystemExit("Give the benchmark a scratch database, e.g. .../bench_sched")
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.scalar(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        )
        if exists and fresh:
            connection.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = False
        if not exists:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    engine = sa.create_engine(target)
    with engine.connect() as connection:
        has_tables = sa.inspect(connection).has_table("appointment")
        has_rows = has_tables and connection.scalar(sa.text("SELECT 1 FROM location LIMIT 1"))
    engine.dispose()
    if has_rows:
        raise SystemExit(f"Database {name} already holds data; pass --fresh to rebuild it.")


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    from flask_migrate import upgrade

    url = args.db or f"sqlite:///{workdir / 'bench.db'}"
    if url.startswith(("postgres://", "postgresql")):
        prepare_postgres(url, fresh=args.fresh)
    app = create_app(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": "benchmark-secret-" + "x" * 32,
            "INSTANCE_PATH": str(workdir),
            "LOG_LEVEL": "WARNING",
        }
    )
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        clinic = build_synthetic_clinic(
            db.session,
            chairs=args.chairs,
            staff=args.staff,
            history_days=args.history_days,
            now=NOW,
            fresh_patients=args.previews + args.bookings + 10,
            seed=args.seed,
        )
        build_seconds = time.perf_counter() - started
        counter = QueryCounter(db.engine)
        today = NOW.date()
        patients = iter(clinic.fresh_patient_ids)

        def plan_for(i: int) -> Any:
            return plan_from_protocol(
                db.session,
                protocol_id=clinic.iv_protocol_id,
                location_id=clinic.location_id,
                first_date=today + dt.timedelta(days=1 + i % 7),
            )

        # One warm-up preview (imports, first connection), not measured.
        preview_series(
            db.session, patient_id=clinic.fresh_patient_ids[-1], plan=plan_for(0), now=NOW
        )
        db.session.remove()

        preview_ms: list[float] = []
        # CPU time of this process too: on a shared machine it moves less than wall time
        # (SQLite runs in-process; a PostgreSQL server's own time is not in it).
        preview_cpu_ms: list[float] = []
        preview_queries: list[int] = []
        incomplete = 0
        profiler = cProfile.Profile() if args.profile and args.profile_phase == "preview" else None
        for i in range(args.previews):
            plan = plan_for(i)
            with counter.counting():
                if profiler:
                    profiler.enable()
                started, cpu_started = time.perf_counter(), time.process_time()
                preview = preview_series(db.session, patient_id=next(patients), plan=plan, now=NOW)
                preview_ms.append((time.perf_counter() - started) * 1000)
                preview_cpu_ms.append((time.process_time() - cpu_started) * 1000)
                if profiler:
                    profiler.disable()
            preview_queries.append(counter.count)
            incomplete += not preview.complete
            db.session.remove()
        if profiler:
            print_profile(profiler, args)

        board = time_boards(counter, clinic.location_id, today, args.boards)

        book_ms: list[float] = []
        book_cpu_ms: list[float] = []
        book_queries: list[int] = []
        booked_sessions = 0
        profiler = cProfile.Profile() if args.profile and args.profile_phase == "book" else None
        for i in range(args.bookings):
            patient_id = next(patients)
            plan = plan_for(i)
            preview = preview_series(db.session, patient_id=patient_id, plan=plan, now=NOW)
            db.session.rollback()
            with counter.counting():
                if profiler:
                    profiler.enable()
                started, cpu_started = time.perf_counter(), time.process_time()
                series = book_series(
                    db.session,
                    patient_id=patient_id,
                    plan=plan,
                    actor=ACTOR,
                    now=NOW,
                    proposals=preview.slots,
                )
                book_ms.append((time.perf_counter() - started) * 1000)
                book_cpu_ms.append((time.process_time() - cpu_started) * 1000)
                if profiler:
                    profiler.disable()
            book_queries.append(counter.count)
            booked_sessions += len(series.appointments)
            db.session.remove()
        if profiler:
            print_profile(profiler, args)
        backend = db.engine.dialect.name
        db.engine.dispose()
    return {
        "backend": backend,
        "chairs": args.chairs,
        "staff": args.staff,
        "history_days": args.history_days,
        "appointments": clinic.appointments,
        "build_s": round(build_seconds, 2),
        "previews": len(preview_ms),
        "previews_incomplete": incomplete,
        "preview_p50_ms": round(statistics.median(preview_ms), 2),
        "preview_p95_ms": round(percentile(preview_ms, 0.95), 2),
        "preview_max_ms": round(max(preview_ms), 2),
        "preview_cpu_p50_ms": round(statistics.median(preview_cpu_ms), 2),
        "preview_queries": max(preview_queries),
        "preview_queries_min": min(preview_queries),
        **board,
        "bookings": len(book_ms),
        "booked_sessions": booked_sessions,
        "book_p50_ms": round(statistics.median(book_ms), 2) if book_ms else 0.0,
        "book_p95_ms": round(percentile(book_ms, 0.95), 2) if book_ms else 0.0,
        "book_cpu_p50_ms": round(statistics.median(book_cpu_ms), 2) if book_ms else 0.0,
        "book_queries": max(book_queries) if book_queries else 0,
    }


def print_profile(profiler: cProfile.Profile, args: argparse.Namespace) -> None:
    stats = pstats.Stats(profiler, stream=sys.stderr)
    stats.sort_stats(args.profile_sort).print_stats(args.profile)


def time_boards(
    counter: QueryCounter, location_id: int, today: dt.date, rounds: int
) -> dict[str, Any]:
    """Time the day board (each of the next seven days in turn) and the week board."""
    loaders = {
        "day_board": lambda day: load_day_board(
            db.session, location_id=location_id, day=day, now=NOW
        ),
        "week_board": lambda day: load_week_board(
            db.session, location_id=location_id, first_day=day, now=NOW
        ),
    }
    result: dict[str, Any] = {}
    for name, load in loaders.items():
        timings: list[float] = []
        queries = 0
        for i in range(rounds):
            with counter.counting():
                started = time.perf_counter()
                load(today + dt.timedelta(days=i % 7))
                timings.append((time.perf_counter() - started) * 1000)
            queries = max(queries, counter.count)
            db.session.remove()
        result[f"{name}_p50_ms"] = round(statistics.median(timings), 2) if timings else 0.0
        result[f"{name}_p95_ms"] = round(percentile(timings, 0.95), 2) if timings else 0.0
        result[f"{name}_queries"] = queries
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chairs", type=int, default=20)
    parser.add_argument("--staff", type=int, default=12)
    parser.add_argument("--history-days", type=int, default=365)
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--fresh", action="store_true", help="drop and recreate --db first")
    parser.add_argument("--previews", type=int, default=60)
    parser.add_argument("--boards", type=int, default=20, help="rounds of day and week board")
    parser.add_argument("--bookings", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    parser.add_argument(
        "--profile", type=int, default=0, metavar="N", help="profile the previews: top N"
    )
    parser.add_argument("--profile-sort", default="tottime", help="pstats sort key")
    parser.add_argument("--profile-phase", choices=("preview", "book"), default="preview")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="clinic-bench-") as workdir:
        result = run(args, Path(workdir))
    if args.json:
        print(json.dumps(result))
        return
    width = max(len(key) for key in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
