"""An independent check of the whole schedule: every hard rule re-derived from raw rows.

Deliberately shares no code with ``clinic.scheduling``: it reads the tables with plain SQL,
converts values itself and checks each rule with straightforward loops, so a bug in the
scheduler's rules or search cannot hide behind the same bug here. ``problems(connection)``
returns one line per broken rule; an empty list means the schedule is sound.

Rules (DESIGN section 3), for every live appointment (not cancelled, not a no-show):
windows match the treatment's durations; the chair is at the location, active, capable,
not blocked and not double-booked over [start, busy_until); the monitor is active, holds
every required certification valid on the local date, is on shift at the location over
[start, ends), is not off, never has more patients at once than the lowest limit among the
sessions present, and starts at most ``max_starts`` sessions in any 15 minutes; a
prescriber is on shift where needed; the patient has no overlapping session over
[start, busy_until); series sessions are the protocol's minimum hours apart; the patient
window lies inside one opening interval of a non-closure day; it was not in the past when
last written; esketamine-type sessions have a REMS enrollment on or before the date.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

RELEASED = ("cancelled", "no_show")


def _instant(value: Any) -> dt.datetime:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def _date(value: Any) -> dt.date:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def _time(value: Any) -> dt.time:
    return dt.time.fromisoformat(value) if isinstance(value, str) else value


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _rows(connection: sa.Connection, sql: str) -> list[dict[str, Any]]:
    return [dict(row._mapping) for row in connection.execute(sa.text(sql))]


def problems(connection: sa.Connection, *, max_starts: int = 1) -> list[str]:
    found: list[str] = []
    appointments = [
        a for a in _rows(connection, "SELECT * FROM appointment") if a["status"] not in RELEASED
    ]
    for a in appointments:
        for key in ("starts_at", "treatment_ends_at", "ends_at", "busy_until", "updated_at"):
            a[key] = _instant(a[key])
    treatments = {t["id"]: t for t in _rows(connection, "SELECT * FROM treatment_type")}
    chairs = {c["id"]: c for c in _rows(connection, "SELECT * FROM chair")}
    staff = {s["id"]: s for s in _rows(connection, "SELECT * FROM staff")}
    patients = {p["id"]: p for p in _rows(connection, "SELECT * FROM patient")}
    locations = {loc["id"]: loc for loc in _rows(connection, "SELECT * FROM location")}
    hours: dict[tuple[int, int], list[tuple[dt.time, dt.time]]] = defaultdict(list)
    for h in _rows(connection, "SELECT * FROM opening_hours"):
        hours[(h["location_id"], h["weekday"])].append((_time(h["opens"]), _time(h["closes"])))
    closures = {
        (c["location_id"], _date(c["date"])) for c in _rows(connection, "SELECT * FROM closure")
    }
    blocks = [
        (b["chair_id"], _instant(b["starts_at"]), _instant(b["ends_at"]))
        for b in _rows(connection, "SELECT * FROM chair_block")
    ]
    certifications: dict[int, list[tuple[str, dt.date, dt.date]]] = defaultdict(list)
    for c in _rows(connection, "SELECT * FROM certification"):
        certifications[c["staff_id"]].append(
            (c["kind"], _date(c["valid_from"]), _date(c["expires_on"]))
        )
    shifts: dict[tuple[int, int], list[tuple[dt.datetime, dt.datetime]]] = defaultdict(list)
    for s in _rows(connection, "SELECT * FROM shift"):
        shifts[(s["staff_id"], s["location_id"])].append(
            (_instant(s["starts_at"]), _instant(s["ends_at"]))
        )
    time_off: dict[int, list[tuple[dt.datetime, dt.datetime]]] = defaultdict(list)
    for t in _rows(connection, "SELECT * FROM time_off"):
        time_off[t["staff_id"]].append((_instant(t["starts_at"]), _instant(t["ends_at"])))
    spacing = {
        s["id"]: s["min_hours_between"]
        for s in _rows(
            connection,
            "SELECT series.id, protocol.min_hours_between FROM series "
            "JOIN protocol ON protocol.id = series.protocol_id",
        )
    }

    def covered(person: int, location: int, start: dt.datetime, end: dt.datetime) -> bool:
        """Shifts (joined where they touch) cover [start, end), and no time off meets it."""
        if any(o_start < end and o_end > start for o_start, o_end in time_off[person]):
            return False
        reach = start
        for s_start, s_end in sorted(shifts[(person, location)]):
            if s_start <= reach < s_end:
                reach = s_end
            if reach >= end:
                return True
        return False

    for a in appointments:
        name = f"appointment {a['id']}"
        t = treatments[a["treatment_type_id"]]
        tz = ZoneInfo(locations[a["location_id"]]["timezone"])
        local_start, local_end = a["starts_at"].astimezone(tz), a["ends_at"].astimezone(tz)
        day = local_start.date()
        minutes = dt.timedelta(minutes=1)
        expected = (
            a["starts_at"] + (t["prep_minutes"] + t["treatment_minutes"]) * minutes,
            a["starts_at"]
            + (t["prep_minutes"] + t["treatment_minutes"] + t["monitoring_minutes"]) * minutes,
        )
        if (a["treatment_ends_at"], a["ends_at"]) != expected or a["busy_until"] != a[
            "ends_at"
        ] + t["turnover_minutes"] * minutes:
            found.append(f"{name}: windows do not match the treatment's durations")

        # Chair.
        chair = chairs[a["chair_id"]]
        if chair["location_id"] != a["location_id"]:
            found.append(f"{name}: chair at another location")
        if not chair["active"]:
            found.append(f"{name}: chair inactive")
        if t["chair_capability"] not in _json(chair["capabilities"]):
            found.append(f"{name}: chair lacks capability")
        for chair_id, b_start, b_end in blocks:
            if chair_id == a["chair_id"] and b_start < a["busy_until"] and b_end > a["starts_at"]:
                found.append(f"{name}: chair blocked")

        # Monitor.
        monitor = a["monitor_id"]
        if not staff[monitor]["active"]:
            found.append(f"{name}: monitor inactive")
        for kind in _json(t["required_certifications"]):
            if not any(
                k == kind and valid_from <= day <= expires
                for k, valid_from, expires in certifications[monitor]
            ):
                found.append(f"{name}: monitor lacks a valid {kind} on {day}")
        if not covered(monitor, a["location_id"], a["starts_at"], a["ends_at"]):
            found.append(f"{name}: monitor not on shift (or off) for the whole session")

        # Prescriber.
        if t["needs_prescriber_on_site"]:
            prescriber = a["prescriber_id"]
            if prescriber is None or staff[prescriber]["role"] != "prescriber":
                found.append(f"{name}: no prescriber recorded")
            elif not staff[prescriber]["active"] or not covered(
                prescriber, a["location_id"], a["starts_at"], a["ends_at"]
            ):
                found.append(f"{name}: prescriber not on site for the whole session")

        # Patient.
        patient = patients[a["patient_id"]]
        if t["needs_rems_enrollment"] and (
            patient["rems_enrolled_on"] is None or _date(patient["rems_enrolled_on"]) > day
        ):
            found.append(f"{name}: no REMS enrollment before the session")

        # Time.
        if (a["location_id"], day) in closures:
            found.append(f"{name}: on a closure day")
        if local_end.date() != day or not any(
            opens <= local_start.time() and local_end.time() <= closes
            for opens, closes in hours[(a["location_id"], day.weekday())]
        ):
            found.append(f"{name}: outside opening hours")
        if a["status"] == "booked" and a["starts_at"] < a["updated_at"]:
            found.append(f"{name}: booked in the past")

    # Pairs: chair and patient overlaps, series spacing.
    for i, a in enumerate(appointments):
        for b in appointments[i + 1 :]:
            overlap = a["starts_at"] < b["busy_until"] and b["starts_at"] < a["busy_until"]
            if overlap and a["chair_id"] == b["chair_id"]:
                found.append(f"appointments {a['id']} and {b['id']}: same chair at once")
            if overlap and a["patient_id"] == b["patient_id"]:
                found.append(f"appointments {a['id']} and {b['id']}: same patient at once")
            if a["series_id"] is not None and a["series_id"] == b["series_id"]:
                hours_apart = abs((a["starts_at"] - b["starts_at"]).total_seconds()) / 3600
                if hours_apart < spacing.get(a["series_id"], 0):
                    found.append(f"appointments {a['id']} and {b['id']}: series too close")

    # Per monitor: patients at once and starts per 15 minutes.
    by_monitor: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for a in appointments:
        by_monitor[a["monitor_id"]].append(a)
    for monitor, theirs in by_monitor.items():
        for moment in {a["starts_at"] for a in theirs}:
            present = [a for a in theirs if a["starts_at"] <= moment < a["ends_at"]]
            limit = min(
                treatments[a["treatment_type_id"]]["max_patients_per_monitor"] for a in present
            )
            if len(present) > limit:
                found.append(
                    f"monitor {monitor}: {len(present)} patients at {moment} (limit {limit})"
                )
        if max_starts > 0:
            starts = sorted(a["starts_at"] for a in theirs)
            for first in starts:
                window = [s for s in starts if first <= s < first + dt.timedelta(minutes=15)]
                if len(window) > max_starts:
                    found.append(f"monitor {monitor}: {len(window)} starts from {first}")
    found += discharge_problems(connection)
    return found


def overlapping_pairs(connection: sa.Connection, column: str) -> int:
    """Live appointment pairs sharing ``column`` (chair_id or patient_id) at once, in SQL."""
    live = "status NOT IN ('cancelled', 'no_show')"
    return connection.execute(
        sa.text(
            f"SELECT count(*) FROM appointment a JOIN appointment b "
            f"ON a.id < b.id AND a.{column} = b.{column} "
            f"AND a.starts_at < b.busy_until AND b.starts_at < a.busy_until "
            f"WHERE a.{live} AND b.{live}"
        )
    ).scalar_one()


# --- the day's gates (issue 12) ------------------------------------------------------------

EARLY, DISCHARGE_READING = 5, 30  # minutes: a timed reading's grace, the last reading's age


def _discharge_failures(
    a: dict[str, Any], t: dict[str, Any], rec: dict[str, Any] | None, entries: list[dict[str, Any]]
) -> list[str]:
    """The gates one discharged session broke, re-derived from its rows."""
    failed = []
    discharged = _instant(a["discharged_at"])
    started = _instant(rec["treatment_started_at"]) if rec and rec["treatment_started_at"] else None
    early = dt.timedelta(minutes=t["start_early_minutes"])
    if started is None or started < _instant(a["starts_at"]) - early:
        failed.append("treatment start")
    replaced = {e["amends_id"] for e in entries if e["amends_id"] is not None}
    live = sorted(
        (e for e in entries if e["id"] not in replaced),
        key=lambda e: (_instant(e["taken_at"]), e["id"]),
    )
    doses = [e for e in live if e["kind"] == "dose"]
    minimum = t["min_monitoring_minutes"]
    minimum = t["monitoring_minutes"] if minimum is None else minimum
    if not doses:
        failed.append("dose")
    else:
        dose = doses[-1]
        times = [_instant(x) for x in _json(dose["device_times"]) or []]
        given = max(times) if times else _instant(dose["infusion_ends_at"] or dose["taken_at"])
        if discharged - given < dt.timedelta(minutes=minimum):
            failed.append("minimum monitoring")
    readings = [_instant(e["taken_at"]) for e in live if e["kind"] == "vitals"]
    used: set[int] = set()

    def reading(low: dt.datetime | None, high: dt.datetime | None) -> bool:
        for index, at in enumerate(readings):
            if index not in used and (low is None or at >= low) and (high is None or at < high):
                used.add(index)
                return True
        return False

    specs = _json(t["checkpoints"]) or []
    offsets = sorted(int(c.get("minutes") or 0) for c in specs if c["at"] == "after_start")
    grace = dt.timedelta(minutes=EARLY)
    ok = all(reading(None, started) for c in specs if c["at"] == "before_start")
    for n, minutes in enumerate(offsets):
        opens = started + dt.timedelta(minutes=minutes) - grace if started else None
        closes = (
            started + dt.timedelta(minutes=offsets[n + 1]) - grace
            if started and n + 1 < len(offsets)
            else None
        )
        ok = reading(opens, closes) and ok
    low = max(discharged - dt.timedelta(minutes=DISCHARGE_READING), started or discharged)
    ok = all(reading(low, None) for c in specs if c["at"] == "before_discharge") and ok
    if not ok:
        failed.append("checkpoints")
    vitals = [e for e in live if e["kind"] == "vitals"]
    limits = _json(t["discharge_limits"]) or {}
    if not vitals:
        failed.append("vitals")
    else:
        v = vitals[-1]
        bounds = [
            ("systolic", "systolic_min", "systolic_max"),
            ("diastolic", None, "diastolic_max"),
            ("heart_rate", "heart_rate_min", "heart_rate_max"),
            ("spo2", "spo2_min", None),
        ]
        for column, low_key, high_key in bounds:
            if (low_key in limits and v[column] < limits[low_key]) or (
                high_key in limits and v[column] > limits[high_key]
            ):
                failed.append(f"discharge limit {column}")
    assessments = [e for e in live if e["kind"] == "assessment"]
    if not assessments or assessments[-1]["score"] < t["discharge_min_score"]:
        failed.append("assessment")
    if t["needs_escort"] and not (a["escort_confirmed_at"] and a["escort_name"]):
        failed.append("escort")
    return failed


def discharge_problems(connection: sa.Connection) -> list[str]:
    """No discharged session broke a gate of the day without an audited override by a nurse
    or prescriber with a written reason."""
    found: list[str] = []
    treatments = {t["id"]: t for t in _rows(connection, "SELECT * FROM treatment_type")}
    records = {r["appointment_id"]: r for r in _rows(connection, "SELECT * FROM session_record")}
    entries: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for e in _rows(connection, "SELECT * FROM record_entry"):
        entries[e["appointment_id"]].append(e)
    audited = {
        int(row["entity_id"])
        for row in _rows(
            connection,
            "SELECT entity_id FROM audit_event WHERE action = 'appointment.discharge_override'",
        )
    }
    clinicians = {
        u["id"]
        for u in _rows(
            connection,
            'SELECT u.id FROM "user" u LEFT JOIN staff s ON s.id = u.staff_id '
            "WHERE u.role = 'nurse' OR s.role IN ('nurse', 'prescriber')",
        )
    }
    for a in _rows(connection, "SELECT * FROM appointment WHERE status = 'discharged'"):
        rec = records.get(a["id"])
        if rec and rec["overridden_at"]:
            if a["id"] not in audited:
                found.append(f"appointment {a['id']}: discharge override not audited")
            if not (rec["override_reason"] or "").strip():
                found.append(f"appointment {a['id']}: discharge override without a reason")
            if rec["override_by_id"] not in clinicians:
                found.append(f"appointment {a['id']}: override not by a nurse or prescriber")
            continue
        failed = _discharge_failures(a, treatments[a["treatment_type_id"]], rec, entries[a["id"]])
        if failed:
            found.append(f"appointment {a['id']}: discharged breaking " + ", ".join(failed))
    return found
