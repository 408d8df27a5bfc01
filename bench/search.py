"""Benchmark the front desk's patient search on a large patient list.

    python bench/search.py --patients 50000 [--db URL] [--fresh] [--json]

Fills a fresh database (a temporary SQLite file by default; with ``--db postgresql://...``
a scratch PostgreSQL database, created if missing and rebuilt with ``--fresh``) with
synthetic patients — accented and double-barrelled names, MRNs, phones, emails — then times
``clinic.patients.search_patients`` (the box on the Patients page and the API's search) on a
mix of what a receptionist types: part of a name without its accents, a first and last
name, part of an MRN, a phone written with dashes, part of an email, a date of birth, two
letters. Prints a table, or with ``--json`` one JSON line.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.scheduling import percentile, prepare_postgres  # noqa: E402
from clinic import create_app  # noqa: E402
from clinic.extensions import db  # noqa: E402
from clinic.models import Patient  # noqa: E402
from clinic.models.patient import search_text_of  # noqa: E402
from clinic.patients import search_patients  # noqa: E402

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
GIVEN = (
    "José María Zoë Ana Luis Olivia Noah Chloé Björn Siobhán Renée Inés Amélie Łukasz Ada "
    "Grace Alan Mateo Lucía Sofía Émile Søren Ángel Nuria Pilar Jürgen Maëlle Kim Jin Omar"
).split()
FAMILY = (
    "Núñez García López Rivera Müller Ørsted O'Brien Hernández Pérez Smith Johnson Brown "
    "Nguyen Kim Lee Martínez González Rodríguez Sánchez Ramírez Torres Flores Gómez Díaz "
    "Álvarez Moreno Jiménez Ruiz Castillo Fernández Schäfer Dubois Lefèvre Kowalski Novák"
).split()
# What receptionists type, one query each round.
QUERIES = (
    "rivera",
    "nunez",
    "jose garcia",
    "ørsted",
    "lopez-rivera",
    "hernandez maria",
    "01234",
    "M-0042",
    "555-0199",
    "201 555 0142",
    "example.org",
    "olivia42",
    "1984-02-03",
    "an",
    "zzzz",
)


def build_patients(count: int, *, seed: int) -> None:
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    for n in range(count):
        given = rng.choice(GIVEN)
        family = rng.choice(FAMILY)
        if rng.random() < 0.15:
            family = f"{family}-{rng.choice(FAMILY)}"
        phone = f"+1201555{n % 10000:04d}" if rng.random() < 0.8 else None
        email = f"{given.lower()}{n}@example.{rng.choice(('org', 'com', 'net'))}"
        mrn = f"M-{n:06d}"
        rows.append(
            {
                "mrn": mrn,
                "given_name": given,
                "family_name": family,
                "date_of_birth": dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(25000)),
                "email": email,
                "phone": phone,
                "active": rng.random() > 0.05,
                "notes": "",
                "email_opt_in": True,
                "sms_opt_in": False,
                "created_at": NOW,
                "updated_at": NOW,
                # A bulk insert skips the ORM's insert hook: the same function fills it.
                "search_text": search_text_of(
                    given_name=given, family_name=family, mrn=mrn, phone=phone, email=email
                ),
            }
        )
        if len(rows) == 5000:
            db.session.execute(sa.insert(Patient), rows)
            rows = []
    if rows:
        db.session.execute(sa.insert(Patient), rows)
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        db.session.execute(sa.text("ANALYZE patient"))
    else:
        db.session.execute(sa.text("ANALYZE"))
    db.session.commit()


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
        build_patients(args.patients, seed=args.seed)
        build_seconds = time.perf_counter() - started
        for query in QUERIES:  # warm-up: first connection, plans, caches
            search_patients(db.session, query=query)
        timings: list[float] = []
        by_query: dict[str, list[float]] = {query: [] for query in QUERIES}
        found: dict[str, int] = {}
        for _ in range(args.rounds):
            for query in QUERIES:
                started = time.perf_counter()
                results = search_patients(db.session, query=query)
                elapsed = (time.perf_counter() - started) * 1000
                timings.append(elapsed)
                by_query[query].append(elapsed)
                found[query] = len(results)
                db.session.rollback()
        backend = db.engine.dialect.name
        db.engine.dispose()
    slowest = max(by_query, key=lambda query: statistics.median(by_query[query]))
    return {
        "backend": backend,
        "patients": args.patients,
        "build_s": round(build_seconds, 2),
        "searches": len(timings),
        "search_p50_ms": round(statistics.median(timings), 2),
        "search_p95_ms": round(percentile(timings, 0.95), 2),
        "search_max_ms": round(max(timings), 2),
        "slowest_query": slowest,
        "slowest_query_p50_ms": round(statistics.median(by_query[slowest]), 2),
        "found_rivera": found["rivera"],
        "found_nunez": found["nunez"],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--fresh", action="store_true", help="drop and recreate --db first")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print one JSON line")
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
