"""Series: plans, preview, booking all or nothing, reschedule and cancel, daylight saving."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from bench.synthetic import build_synthetic_clinic
from clinic.models import (
    Appointment,
    AppointmentStatus,
    AuditEvent,
    Notification,
    NotificationKind,
    NotificationStatus,
    Series,
    SeriesStatus,
)
from clinic.scheduling import (
    InvalidPlan,
    InvalidRequest,
    InvalidTransition,
    OutsideOpeningHours,
    RuleViolation,
    SlotChoice,
    SlotTaken,
    book_series,
    book_session,
    cancel,
    find_slots,
    plan_custom,
    plan_from_protocol,
    preview_series,
    reschedule,
    scheduling_settings_from_config,
)
from tests.builders import ACTOR, NOW, NY, World, at, build_clinic, close_day

from .querycount import recorded_statements, writes


@pytest.fixture
def clinic(session: Any) -> World:
    return build_clinic(session, patient_fields={"escort_name": "Escort Person"})


def count(session: Any, model: Any) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model))


def iv_plan(session: Any, clinic: World, first: str = "2026-03-03", **kwargs: Any) -> Any:
    return plan_from_protocol(
        session,
        protocol_id=clinic.iv_protocol.id,
        location_id=clinic.location.id,
        first_date=dt.date.fromisoformat(first),
        **kwargs,
    )


def book_previewed(session: Any, clinic: World, patient: int, plan: Any) -> Series:
    preview = preview_series(session, patient_id=clinic.patients[patient].id, plan=plan, now=NOW)
    assert preview.complete, [s.reason for s in preview.sessions]
    return book_series(
        session,
        patient_id=clinic.patients[patient].id,
        plan=plan,
        actor=ACTOR,
        now=NOW,
        proposals=preview.slots,
    )


# --- plans ----------------------------------------------------------------------------------


def test_iv_induction_plan_is_six_sessions_within_three_weeks_a_day_apart(session, clinic):
    plan = iv_plan(session, clinic, "2026-03-02")
    assert plan.count == 6
    assert (plan.dates[-1] - plan.dates[0]).days < 21
    assert all((b - a).days >= 1 for a, b in zip(plan.dates, plan.dates[1:], strict=False))
    assert [d.weekday() for d in plan.dates] == [0, 2, 4, 0, 2, 4]  # Mon, Wed, Fri
    assert plan.min_hours_between == 24


def test_esketamine_plan_is_twice_weekly_for_four_weeks_then_weekly_for_four(session, clinic):
    plan = plan_from_protocol(
        session,
        protocol_id=clinic.nasal_protocol.id,
        location_id=clinic.location.id,
        first_date=dt.date(2026, 3, 2),
    )
    assert plan.count == 12
    induction, maintenance = plan.dates[:8], plan.dates[8:]
    weeks = [d.isocalendar().week for d in induction]
    assert all(weeks.count(week) == 2 for week in set(weeks)) and len(set(weeks)) == 4
    assert [d.weekday() for d in induction] == [0, 3] * 4  # Monday and Thursday
    assert [(b - a).days for a, b in zip(maintenance, maintenance[1:], strict=False)] == [7, 7, 7]
    assert maintenance[0] > induction[-1]


def test_protocol_plan_follows_chosen_weekdays_and_refuses_too_few(session, clinic):
    plan = iv_plan(session, clinic, "2026-03-03", weekdays=[1, 3, 5])
    assert [d.weekday() for d in plan.dates] == [1, 3, 5, 1, 3, 5]
    with pytest.raises(InvalidPlan, match="needs 3 sessions a week; Monday is not enough"):
        iv_plan(session, clinic, weekdays=[0])


def test_custom_plan_checks_its_input():
    common: dict[str, Any] = dict(
        treatment_type_id=1, location_id=1, first_date=dt.date(2026, 3, 2)
    )
    plan = plan_custom(**common, count=4, weekdays=[1, 4], preferred_start=dt.time(10))
    assert [d.isoformat() for d in plan.dates] == [
        "2026-03-03",
        "2026-03-06",
        "2026-03-10",
        "2026-03-13",
    ]
    with pytest.raises(InvalidPlan, match="at least one weekday"):
        plan_custom(**common, count=4, weekdays=[])
    with pytest.raises(InvalidPlan, match="between 1 and 60 sessions"):
        plan_custom(**common, count=0, weekdays=[1])
    with pytest.raises(InvalidPlan, match="ends before it starts"):
        plan_custom(
            **common, count=2, weekdays=[1], preferred_start=dt.time(14), preferred_end=dt.time(9)
        )
    with pytest.raises(InvalidPlan, match="without an offset"):
        plan_custom(
            **common,
            count=2,
            weekdays=[1],
            preferred_start=dt.time(9, tzinfo=dt.UTC),
            preferred_end=dt.time(14),
        )


@pytest.mark.parametrize("first", ["0001-01-02", "9999-12-01"])
def test_preview_refuses_dates_out_of_any_sensible_range(session, clinic, first):
    from clinic.scheduling import preview_series

    plan = plan_custom(
        treatment_type_id=clinic.iv.id,
        location_id=clinic.location.id,
        first_date=dt.date.fromisoformat(first),
        count=2,
        weekdays=[0, 3],
    )
    with pytest.raises(InvalidPlan, match="Choose dates between 2000 and 2999"):
        preview_series(session, patient_id=clinic.patients[0].id, plan=plan, now=NOW)


def test_scheduling_settings_come_from_config():
    settings = scheduling_settings_from_config(
        {"SCHEDULING_GRID_MINUTES": 10, "SCHEDULING_MAX_STARTS_PER_MONITOR_PER_15MIN": 2}
    )
    assert (settings.grid_minutes, settings.max_starts_per_monitor_per_15min) == (10, 2)
    with pytest.raises(ValueError, match="must divide a day"):
        scheduling_settings_from_config({"SCHEDULING_GRID_MINUTES": 7})


# --- preview --------------------------------------------------------------------------------


def test_preview_proposes_every_session_and_writes_nothing(app, session, clinic):
    plan = iv_plan(session, clinic)
    session.commit()
    before = [count(session, m) for m in (Appointment, Series, Notification, AuditEvent)]
    with recorded_statements(session.get_bind()) as statements:
        preview = preview_series(session, patient_id=clinic.patients[0].id, plan=plan, now=NOW)
    assert writes(statements) == []
    assert [count(session, m) for m in (Appointment, Series, Notification, AuditEvent)] == before
    assert preview.complete and len(preview.slots) == 6
    assert [slot.local_date for slot in preview.slots] == list(plan.dates)
    # The whole series on one chair, with one nurse, at one local time.
    assert len({slot.chair_id for slot in preview.slots}) == 1
    assert len({slot.monitor_id for slot in preview.slots}) == 1
    assert (
        len(
            {slot.local_starts_at.time() for slot in preview.slots if slot.local_date.weekday() < 5}
        )
        == 1
    )
    assert all(proposed.alternatives for proposed in preview.sessions)


def test_preview_prefers_the_patients_hours(session, clinic):
    plan = iv_plan(session, clinic, preferred_start=dt.time(13), preferred_end=dt.time(14))
    preview = preview_series(session, patient_id=clinic.patients[0].id, plan=plan, now=NOW)
    assert all(
        dt.time(13) <= slot.local_starts_at.time() <= dt.time(14)
        for slot in preview.slots
        if slot.local_date.weekday() < 5
    )


def test_preview_query_count_is_constant_whatever_the_history(app, session):
    """30 or 365 days of booked history: the same few queries per preview."""
    short = build_synthetic_clinic(
        session, chairs=4, staff=4, history_days=30, now=NOW, fresh_patients=2, name="Short", seed=1
    )
    long = build_synthetic_clinic(
        session, chairs=4, staff=4, history_days=365, now=NOW, fresh_patients=2, name="Long", seed=2
    )
    assert long.appointments > 8 * short.appointments / 2
    counts = []
    for built in (short, long):
        plan = plan_from_protocol(
            session,
            protocol_id=built.iv_protocol_id,
            location_id=built.location_id,
            first_date=dt.date(2026, 3, 3),
        )
        session.commit()
        with recorded_statements(session.get_bind()) as statements:
            preview = preview_series(
                session, patient_id=built.fresh_patient_ids[0], plan=plan, now=NOW
            )
        session.rollback()
        assert len(preview.sessions) == 6
        counts.append(len([s for s in statements if not s.startswith("BEGIN")]))
    assert counts[0] == counts[1] <= 10


def test_find_slots_lists_the_best_starts_of_each_day_in_time_order(session, clinic):
    slots = find_slots(
        session,
        treatment_type_id=clinic.iv.id,
        location_id=clinic.location.id,
        start_date=dt.date(2026, 3, 3),
        end_date=dt.date(2026, 3, 4),
        now=NOW,
        per_day=3,
    )
    assert [slot.local_date for slot in slots] == [dt.date(2026, 3, 3)] * 3 + [
        dt.date(2026, 3, 4)
    ] * 3
    assert slots == sorted(slots, key=lambda slot: slot.starts_at)
    for slot in slots:  # each one really bookable
        assert slot.ends_at - slot.starts_at == dt.timedelta(minutes=105)
        assert dt.time(8) <= slot.local_starts_at.time() and slot.local_ends_at.time() <= dt.time(
            18
        )
    with pytest.raises(InvalidRequest):
        find_slots(
            session,
            treatment_type_id=clinic.iv.id,
            location_id=clinic.location.id,
            start_date=dt.date(2026, 3, 4),
            end_date=dt.date(2026, 3, 3),
            now=NOW,
        )


# --- booking --------------------------------------------------------------------------------


def test_booking_a_series_saves_sessions_messages_and_audit_together(session, clinic):
    series = book_previewed(session, clinic, 0, iv_plan(session, clinic))
    appointments = session.scalars(
        sa.select(Appointment)
        .where(Appointment.series_id == series.id)
        .order_by(Appointment.starts_at)
    ).all()
    assert len(appointments) == 6
    assert series.status is SeriesStatus.ACTIVE and series.protocol_id == clinic.iv_protocol.id
    for appointment in appointments:
        assert appointment.status is AppointmentStatus.BOOKED
        assert appointment.busy_until - appointment.starts_at == dt.timedelta(minutes=120)
        assert appointment.escort_name == "Escort Person"
        assert appointment.calendar_sequence == 0
    invites = session.scalars(
        sa.select(Notification).where(Notification.kind == NotificationKind.INVITE)
    ).all()
    assert sorted(n.appointment_id for n in invites) == sorted(a.id for a in appointments)
    actions = session.scalars(sa.select(AuditEvent.action)).all()
    assert actions.count("series.book") == 1 and actions.count("appointment.book") == 6


def test_booking_a_series_is_all_or_nothing_when_a_slot_was_just_taken(session, clinic):
    plan = iv_plan(session, clinic)
    preview = preview_series(session, patient_id=clinic.patients[0].id, plan=plan, now=NOW)
    fourth = preview.slots[3]
    # Another receptionist books the fourth proposed chair and time meanwhile.
    book_session(
        session,
        patient_id=clinic.patients[1].id,
        treatment_type_id=clinic.iv.id,
        location_id=clinic.location.id,
        starts_at=fourth.starts_at,
        chair_id=fourth.chair_id,
        actor=ACTOR,
        now=NOW,
    )
    before = [count(session, m) for m in (Appointment, Series, Notification, AuditEvent)]
    with pytest.raises(SlotTaken) as refused:
        book_series(
            session,
            patient_id=clinic.patients[0].id,
            plan=plan,
            actor=ACTOR,
            now=NOW,
            proposals=preview.slots,
        )
    assert refused.value.message == (
        "That slot was just taken by another booking. Here is a fresh preview."
    )
    assert [count(session, m) for m in (Appointment, Series, Notification, AuditEvent)] == before
    # The fresh preview routes around it and books.
    fresh = preview_series(session, patient_id=clinic.patients[0].id, plan=plan, now=NOW)
    assert fresh.complete and fresh.slots[3] != fourth
    book_series(
        session,
        patient_id=clinic.patients[0].id,
        plan=plan,
        actor=ACTOR,
        now=NOW,
        proposals=fresh.slots,
    )
    assert count(session, Series) == 1


def test_booking_without_proposals_searches_afresh_or_explains(session, clinic):
    plan = iv_plan(session, clinic)
    series = book_series(session, patient_id=clinic.patients[0].id, plan=plan, actor=ACTOR, now=NOW)
    assert len(series.appointments) == 6
    close_day(session, clinic.location, dt.date(2026, 3, 5), "staff training")
    with pytest.raises(RuleViolation) as refused:
        book_series(session, patient_id=clinic.patients[1].id, plan=plan, actor=ACTOR, now=NOW)
    assert refused.value.message == (
        "Session 2 on 5 March cannot be booked: The clinic is closed on 5 March (staff training)."
    )
    assert count(session, Series) == 1


def test_accepted_alternative_is_booked_in_place_of_an_unbookable_date(session, clinic):
    close_day(session, clinic.location, dt.date(2026, 3, 5), "staff training")
    plan = iv_plan(session, clinic)
    preview = preview_series(session, patient_id=clinic.patients[0].id, plan=plan, now=NOW)
    chosen = [p.slot or p.alternatives[0] for p in preview.sessions]
    series = book_series(
        session, patient_id=clinic.patients[0].id, plan=plan, actor=ACTOR, now=NOW, proposals=chosen
    )
    assert dt.date(2026, 3, 5) not in [
        a.starts_at.astimezone(NY).date() for a in series.appointments
    ]
    assert len(series.appointments) == 6


# --- cancel ---------------------------------------------------------------------------------


def test_cancelling_frees_the_chair_and_monitor_at_once(session, clinic):
    chair, kim = clinic.iv_chairs[0].id, clinic.nurses[0].id
    first = book_session(
        session,
        patient_id=clinic.patients[0].id,
        treatment_type_id=clinic.iv.id,
        location_id=clinic.location.id,
        starts_at=at("2026-03-03", "09:00"),
        chair_id=chair,
        monitor_id=kim,
        actor=ACTOR,
        now=NOW,
    )
    (cancelled,) = cancel(
        session, appointment_id=first.id, scope="one", reason="patient unwell", actor=ACTOR, now=NOW
    )
    assert cancelled.status is AppointmentStatus.CANCELLED
    assert cancelled.calendar_sequence == 1 and cancelled.cancel_reason == "patient unwell"
    kinds = {
        (n.kind, n.status)
        for n in session.scalars(
            sa.select(Notification).where(Notification.appointment_id == first.id)
        )
    }
    assert (NotificationKind.CANCEL, NotificationStatus.PENDING) in kinds
    assert (NotificationKind.REMINDER, NotificationStatus.PENDING) not in kinds
    again = book_session(
        session,
        patient_id=clinic.patients[1].id,
        treatment_type_id=clinic.iv.id,
        location_id=clinic.location.id,
        starts_at=at("2026-03-03", "09:00"),
        chair_id=chair,
        monitor_id=kim,
        actor=ACTOR,
        now=NOW,
    )
    assert again.chair_id == chair and again.monitor_id == kim


def test_cancel_this_and_following_or_the_whole_series(session, clinic):
    series = book_previewed(session, clinic, 0, iv_plan(session, clinic))
    ids = [a.id for a in series.appointments]
    cancelled = cancel(
        session,
        appointment_id=ids[2],
        scope="following",
        reason="moving away",
        actor=ACTOR,
        now=NOW,
    )
    assert [a.id for a in cancelled] == ids[2:]
    statuses = {a.id: a.status for a in session.scalars(sa.select(Appointment))}
    assert [statuses[i] for i in ids] == [AppointmentStatus.BOOKED] * 2 + [
        AppointmentStatus.CANCELLED
    ] * 4
    assert series.status is SeriesStatus.ACTIVE
    cancel(session, appointment_id=ids[0], scope="all", reason="stopped", actor=ACTOR, now=NOW)
    session.refresh(series)
    assert series.status is SeriesStatus.CANCELLED
    with pytest.raises(InvalidTransition, match="it has been cancelled"):
        cancel(session, appointment_id=ids[0], scope="one", reason="again", actor=ACTOR, now=NOW)
    with pytest.raises(InvalidRequest, match="give a reason"):
        cancel(session, appointment_id=ids[0], scope="one", reason="  ", actor=ACTOR, now=NOW)
    with pytest.raises(InvalidRequest, match="this one, this and following, or all"):
        cancel(session, appointment_id=ids[0], scope="some", reason="x", actor=ACTOR, now=NOW)


# --- reschedule -----------------------------------------------------------------------------


def test_rescheduling_one_session_keeps_its_chair_and_nurse(session, clinic):
    series = book_previewed(session, clinic, 0, iv_plan(session, clinic))
    second = series.appointments[1]
    chair, monitor, old = second.chair_id, second.monitor_id, second.starts_at
    (moved,) = reschedule(
        session,
        appointment_id=second.id,
        new_starts_at=old + dt.timedelta(hours=2),
        scope="one",
        actor=ACTOR,
        now=NOW,
    )
    assert moved.starts_at == old + dt.timedelta(hours=2)
    assert moved.ends_at - moved.starts_at == dt.timedelta(minutes=105)
    assert (moved.chair_id, moved.monitor_id, moved.calendar_sequence) == (chair, monitor, 1)
    updates = session.scalars(
        sa.select(Notification).where(
            Notification.appointment_id == second.id, Notification.kind == NotificationKind.UPDATE
        )
    ).all()
    assert updates and all(n.calendar_sequence == 1 for n in updates)
    others = [a for a in series.appointments if a.id != second.id]
    assert all(a.calendar_sequence == 0 for a in others)


def test_rescheduling_this_and_following_shifts_later_sessions_alike(session, clinic):
    series = book_previewed(session, clinic, 0, iv_plan(session, clinic, weekdays=[1, 2, 3]))
    before = [a.starts_at.astimezone(NY) for a in series.appointments]
    third = series.appointments[2]
    moved = reschedule(
        session,
        appointment_id=third.id,
        new_starts_at=third.starts_at + dt.timedelta(hours=1, minutes=30),
        scope="following",
        actor=ACTOR,
        now=NOW,
    )
    assert [a.id for a in moved] == [a.id for a in series.appointments[2:]]
    after = [
        a.starts_at.astimezone(NY)
        for a in session.scalars(
            sa.select(Appointment)
            .where(Appointment.series_id == series.id)
            .order_by(Appointment.starts_at)
        )
    ]
    assert after[:2] == before[:2]
    assert all(
        (b.replace(tzinfo=None) - a.replace(tzinfo=None)) == dt.timedelta(hours=1, minutes=30)
        for a, b in zip(before[2:], after[2:], strict=True)
    )


def test_rescheduling_into_a_closed_hour_changes_nothing(session, clinic):
    series = book_previewed(session, clinic, 0, iv_plan(session, clinic))
    starts = [a.starts_at for a in series.appointments]
    with pytest.raises(OutsideOpeningHours):
        reschedule(
            session,
            appointment_id=series.appointments[0].id,
            new_starts_at=series.appointments[0].starts_at + dt.timedelta(hours=9),
            scope="all",
            actor=ACTOR,
            now=NOW,
        )
    session.expire_all()
    assert [a.starts_at for a in session.get(Series, series.id).appointments] == starts
    assert count(session, AuditEvent) == 7  # the booking's rows only


# --- daylight saving ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "utc_hours"),
    [
        # Spring forward on Sunday 8 March 2026: 10:00 EST is 15:00 UTC, 10:00 EDT is 14:00.
        ("2026-03-02", [15, 14, 14]),
        # Fall back on Sunday 1 November 2026: 10:00 EDT is 14:00 UTC, 10:00 EST is 15:00.
        ("2026-10-26", [14, 15, 15]),
    ],
)
def test_weekly_series_keeps_its_local_time_across_a_dst_change(session, first, utc_hours):
    clinic = build_clinic(
        session, shift_from=dt.date(2026, 2, 23), shift_until=dt.date(2026, 11, 30)
    )
    plan = plan_custom(
        treatment_type_id=clinic.iv.id,
        location_id=clinic.location.id,
        first_date=dt.date.fromisoformat(first),
        count=3,
        weekdays=[0],
        min_hours_between=48,
        preferred_start=dt.time(10),
        preferred_end=dt.time(10),
    )
    series = book_previewed(session, clinic, 0, plan)
    local = [a.starts_at.astimezone(NY) for a in series.appointments]
    assert [t.time() for t in local] == [dt.time(10)] * 3
    assert [a.starts_at.astimezone(dt.UTC).hour for a in series.appointments] == utc_hours
    # Moving the first session an hour later moves every one to 11:00 local.
    reschedule(
        session,
        appointment_id=series.appointments[0].id,
        new_starts_at=series.appointments[0].starts_at + dt.timedelta(hours=1),
        scope="all",
        actor=ACTOR,
        now=NOW,
    )
    session.expire_all()
    moved = session.get(Series, series.id).appointments
    assert [a.starts_at.astimezone(NY).time() for a in moved] == [dt.time(11)] * 3


# --- levelled load --------------------------------------------------------------------------


def _peaks(session: Any, day: dt.date) -> tuple[int, int]:
    """(most sessions running at once, most starts in any 15 minutes) at the location."""
    rows = session.execute(
        sa.select(Appointment.starts_at, Appointment.ends_at).where(
            Appointment.status == AppointmentStatus.BOOKED
        )
    ).all()
    rows = [(s, e) for s, e in rows if s.astimezone(NY).date() == day]
    running = max(sum(1 for s, e in rows if s <= t < e) for t, _ in rows)
    starts = sorted(s for s, _ in rows)
    crowded = max(
        sum(1 for other in starts if t <= other < t + dt.timedelta(minutes=15)) for t in starts
    )
    return running, crowded


def test_ranking_staggers_starts_and_lowers_peak_load_against_first_fit(session):
    clinic = build_clinic(session, iv_chairs=6, nurses=4, patients=20)
    ranked_day, first_fit_day = dt.date(2026, 3, 3), dt.date(2026, 3, 4)
    for n in range(10):
        plan = plan_custom(
            treatment_type_id=clinic.iv.id,
            location_id=clinic.location.id,
            first_date=ranked_day,
            count=1,
            weekdays=[ranked_day.weekday()],
        )
        book_previewed(session, clinic, n, plan)
        earliest = min(
            find_slots(
                session,
                treatment_type_id=clinic.iv.id,
                location_id=clinic.location.id,
                start_date=first_fit_day,
                end_date=first_fit_day,
                now=NOW,
                per_day=500,
                limit=500,
            ),
            key=lambda slot: slot.starts_at,
        )
        book_session(
            session,
            patient_id=clinic.patients[10 + n].id,
            treatment_type_id=clinic.iv.id,
            location_id=clinic.location.id,
            starts_at=earliest.starts_at,
            chair_id=earliest.chair_id,
            monitor_id=earliest.monitor_id,
            actor=ACTOR,
            now=NOW,
        )
    ranked_running, ranked_crowded = _peaks(session, ranked_day)
    first_fit_running, first_fit_crowded = _peaks(session, first_fit_day)
    assert first_fit_running >= 6 and first_fit_crowded >= 4  # everyone piles in at 08:00
    assert ranked_running < first_fit_running
    assert ranked_crowded < first_fit_crowded
    assert ranked_crowded == 1  # one start at a time across the whole clinic


def test_accepted_proposals_must_carry_timezones(session, clinic):
    plan = iv_plan(session, clinic)
    naive = SlotChoice(dt.datetime(2026, 3, 3, 9), clinic.iv_chairs[0].id, clinic.nurses[0].id)
    with pytest.raises(InvalidRequest, match="timezone"):
        book_series(
            session,
            patient_id=clinic.patients[0].id,
            plan=plan,
            actor=ACTOR,
            now=NOW,
            proposals=[naive],
        )
