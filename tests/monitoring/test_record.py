"""The session record: entries with who and when, append-only, amendments that keep the
original, and bad input refused with a clear message and nothing saved."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from clinic.models import AppointmentStatus, AuditEvent, RecordEntry
from clinic.models.monitoring import RecordIsAppendOnly
from clinic.monitoring import record
from clinic.monitoring.errors import RecordInvalid, RecordRefused
from clinic.monitoring.inputs import (
    AssessmentInput,
    IvDoseInput,
    NasalDoseInput,
    NoteInput,
    ObservationInput,
    VitalsInput,
)
from clinic.monitoring.queries import load_record
from clinic.scheduling import status
from tests.builders import count_rows
from tests.monitoring.walk import MINUTE, to_treatment, vitals


def entries(session) -> int:
    return count_rows(session, RecordEntry)


def test_every_kind_of_entry_is_kept_with_who_and_when(session, clinic):
    appointment_id = clinic.iv_session(session)
    start = to_treatment(session, appointment_id, clinic.nurse)
    now = start + 50 * MINUTE
    added = [
        record.add_entry(
            session,
            appointment_id=appointment_id,
            entry=entry,
            actor=clinic.nurse,
            now=now,
        )
        for entry in (
            IvDoseInput(
                infusion_starts_at=start,
                weight_kg=80,
                mg_per_kg=0.5,
                total_mg=40,
                infusion_ends_at=start + 40 * MINUTE,
            ),
            VitalsInput(
                taken_at=start + 15 * MINUTE,
                systolic=142,
                diastolic=88,
                heart_rate=91,
                spo2=97,
                respiratory_rate=14,
            ),
            ObservationInput(
                taken_at=start + 20 * MINUTE,
                sedation_level=4,
                dissociation_level=2,
                side_effects=("dizziness", "blurred_or_double_vision", "nausea"),
            ),
            NoteInput(taken_at=start + 21 * MINUTE, text="Patient asked for the lights dimmed."),
            AssessmentInput(taken_at=now, score=9),
        )
    ]
    from clinic.models import Appointment

    view = load_record(session, session.get(Appointment, appointment_id), now=now)
    assert [entry.kind.value for entry in view.current] == [
        "vitals",  # the baseline from to_treatment
        "dose",
        "vitals",
        "observation",
        "note",
        "assessment",
    ]
    dose, reading, observation, note, assessment = added
    assert (dose.weight_kg, dose.mg_per_kg, dose.total_mg) == (80, 0.5, 40)
    assert dose.dose_given_at == start + 40 * MINUTE
    assert (reading.systolic, reading.diastolic, reading.respiratory_rate) == (142, 88, 14)
    assert observation.scale == "MOAA/S"
    assert observation.side_effects == ["blurred_or_double_vision", "dizziness", "nausea"]
    assert note.text == "Patient asked for the lights dimmed."
    assert assessment.scale == "Modified Aldrete" and assessment.score == 9
    assert {entry.recorded_by for entry in added} == {"nurse-record"}
    assert {entry.recorded_at for entry in added} == {now}
    summaries = session.scalars(
        sa.select(AuditEvent.summary).where(AuditEvent.action.like("record.%"))
    ).all()
    assert len(summaries) == 6
    assert not any("142" in summary or "lights" in summary for summary in summaries)


def test_esketamine_dose_keeps_each_device_time(session, clinic):
    appointment_id = clinic.nasal_session(session)
    start = to_treatment(session, appointment_id, clinic.nurse)
    times = (start + MINUTE, start + 6 * MINUTE, start + 11 * MINUTE)
    dose = record.add_entry(
        session,
        appointment_id=appointment_id,
        entry=NasalDoseInput(device_times=times, total_mg=84),
        actor=clinic.nurse,
        now=start + 12 * MINUTE,
    )
    assert dose.devices == 3 and dose.total_mg == 84
    assert dose.device_instants == list(times)
    assert dose.dose_given_at == times[-1]


def test_an_amendment_keeps_the_original_and_both_are_audited(session, clinic):
    appointment_id = clinic.iv_session(session)
    start = to_treatment(session, appointment_id, clinic.nurse)
    wrong = record.add_entry(
        session,
        appointment_id=appointment_id,
        entry=vitals(start + 15 * MINUTE, systolic=182),
        actor=clinic.nurse,
        now=start + 15 * MINUTE,
    )
    fixed = record.amend_entry(
        session,
        entry_id=wrong.id,
        entry=vitals(start + 15 * MINUTE, systolic=128),
        reason="Typed 182 for 128",
        actor=clinic.nurse,
        now=start + 17 * MINUTE,
    )
    from clinic.models import Appointment

    view = load_record(session, session.get(Appointment, appointment_id), now=start)
    assert session.get(RecordEntry, wrong.id).systolic == 182  # the original is kept
    assert fixed.amends_id == wrong.id and fixed.amend_reason == "Typed 182 for 128"
    assert [entry.systolic for entry in view.vitals] == [128, 128]  # baseline and the fix
    assert view.amended_by[wrong.id].id == fixed.id
    actions = session.scalars(
        sa.select(AuditEvent.entity_id).where(
            AuditEvent.action.in_(["record.vitals", "record.amend"])
        )
    ).all()
    assert str(wrong.id) in actions and str(fixed.id) in actions
    with pytest.raises(RecordRefused, match="already amended"):
        record.amend_entry(
            session,
            entry_id=wrong.id,
            entry=vitals(start + 15 * MINUTE),
            reason="again",
            actor=clinic.nurse,
            now=start + 18 * MINUTE,
        )
    session.rollback()
    with pytest.raises(RecordInvalid) as refused:
        record.amend_entry(
            session,
            entry_id=fixed.id,
            entry=vitals(start + 15 * MINUTE),
            reason=" ",
            actor=clinic.nurse,
            now=start + 18 * MINUTE,
        )
    assert refused.value.fields == {"reason": "Give the reason for the amendment."}


def test_entries_cannot_be_changed_or_deleted_in_place(session, clinic):
    appointment_id = clinic.iv_session(session)
    start = to_treatment(session, appointment_id, clinic.nurse)
    entry = session.scalars(sa.select(RecordEntry)).one()
    entry.systolic = 120
    with pytest.raises(RecordIsAppendOnly):
        session.flush()
    session.rollback()
    session.delete(session.get(RecordEntry, entry.id))
    with pytest.raises(RecordIsAppendOnly):
        session.flush()
    session.rollback()
    assert session.get(RecordEntry, entry.id).systolic == 128
    assert start


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"systolic": 39}, "systolic", "between 40 and 300"),
        ({"systolic": 301}, "systolic", "between 40 and 300"),
        ({"systolic": 120, "diastolic": 120}, "diastolic", "below the systolic"),
        ({"heart_rate": 19}, "heart_rate", "between 20 and 250"),
        ({"heart_rate": 251}, "heart_rate", "between 20 and 250"),
        ({"spo2": 49}, "spo2", "between 50 and 100"),
        ({"spo2": 101}, "spo2", "between 50 and 100"),
        ({"respiratory_rate": 2}, "respiratory_rate", "between 4 and 60"),
    ],
)
def test_implausible_vitals_are_refused_and_nothing_is_saved(
    session, clinic, fields, field, message
):
    appointment_id = clinic.iv_session(session)
    start = to_treatment(session, appointment_id, clinic.nurse)
    before = entries(session)
    values = {"taken_at": start, "systolic": 130, "diastolic": 80, "heart_rate": 80, "spo2": 97}
    with pytest.raises(RecordInvalid) as refused:
        record.add_entry(
            session,
            appointment_id=appointment_id,
            entry=VitalsInput(**{**values, **fields}),
            actor=clinic.nurse,
            now=start + MINUTE,
        )
    assert message in refused.value.fields[field]
    session.rollback()
    assert entries(session) == before


def test_times_in_the_future_or_before_check_in_are_refused(session, clinic):
    appointment_id = clinic.iv_session(session)
    start = to_treatment(session, appointment_id, clinic.nurse)
    before = entries(session)
    for taken_at, message in (
        (start + 30 * MINUTE, "in the future"),
        (start - 60 * MINUTE, "before the patient was checked in"),
    ):
        with pytest.raises(RecordInvalid) as refused:
            record.add_entry(
                session,
                appointment_id=appointment_id,
                entry=vitals(taken_at),
                actor=clinic.nurse,
                now=start + MINUTE,
            )
        assert message in refused.value.fields["taken_at"]
        session.rollback()
    assert entries(session) == before


def test_doses_above_the_treatment_maximum_are_refused(session, clinic):
    appointment_id = clinic.iv_session(session)
    start = to_treatment(session, appointment_id, clinic.nurse)
    before = entries(session)
    cases = (
        (
            IvDoseInput(start, weight_kg=80, mg_per_kg=1.5, total_mg=120),
            "mg_per_kg",
            "above the maximum",
        ),
        (
            IvDoseInput(start, weight_kg=200, mg_per_kg=1.0, total_mg=200),
            "total_mg",
            "above the maximum",
        ),
        (
            IvDoseInput(start, weight_kg=80, mg_per_kg=0.5, total_mg=60),
            "total_mg",
            "does not match",
        ),
        (NasalDoseInput(device_times=(start,), total_mg=28), "kind", "is an infusion"),
    )
    for entry, field, message in cases:
        with pytest.raises(RecordInvalid) as refused:
            record.add_entry(
                session, appointment_id=appointment_id, entry=entry, actor=clinic.nurse, now=start
            )
        assert message in refused.value.fields[field], refused.value.fields
        session.rollback()
    nasal_id = clinic.nasal_session(session)
    nasal_start = to_treatment(session, nasal_id, clinic.nurse)
    times = tuple(nasal_start + n * MINUTE for n in range(4))
    with pytest.raises(RecordInvalid) as refused:
        record.add_entry(
            session,
            appointment_id=nasal_id,
            entry=NasalDoseInput(device_times=times, total_mg=112),
            actor=clinic.nurse,
            now=nasal_start + 5 * MINUTE,
        )
    assert (
        "above the maximum for Esketamine nasal spray (84 mg)" in refused.value.fields["total_mg"]
    )
    session.rollback()
    assert entries(session) == before + 1  # only the nasal baseline


def test_nothing_is_recorded_on_a_cancelled_or_not_yet_arrived_session(session, clinic):
    from clinic.models import Appointment

    booked = clinic.iv_session(session, "10:00", n=0)
    cancelled = clinic.iv_session(session, "13:00", n=1)
    session.get(Appointment, cancelled).status = AppointmentStatus.CANCELLED
    session.commit()
    now = clinic.world.at(dt.date(2026, 3, 2), "09:00")
    for appointment_id, message in ((booked, "Check the patient in"), (cancelled, "cancelled")):
        with pytest.raises(RecordRefused, match=message):
            record.add_entry(
                session,
                appointment_id=appointment_id,
                entry=vitals(now),
                actor=clinic.nurse,
                now=now,
            )
        session.rollback()
    assert entries(session) == 0
    assert status  # the status services are what open the record (check-in)
