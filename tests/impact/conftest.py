"""The impact tests run at ``NOW`` (Mon 2 Mar 2026, 07:00 in New York) in the scheduling
clinic, with two sessions booked through the real booking service on Tuesday 3 March:
an esketamine session (needs the prescriber on site and REMS enrollment) and an IV one."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from flask import Flask

from clinic.clock import FixedClock
from clinic.extensions import db
from clinic.models import (
    Certification,
    RebookingEntry,
    ShiftTemplate,
)
from clinic.scheduling.booking import book_session
from tests.api.conftest import api_as, token_for  # noqa: F401 (fixtures)
from tests.builders import ACTOR, NOW, TODAY, build_clinic

TUESDAY = TODAY + dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def fixed_clock(fixed_clock_if_app: FixedClock | None) -> FixedClock | None:
    return fixed_clock_if_app


@dataclass(frozen=True)
class Clinic:
    location_id: int
    iv_id: int
    nasal_id: int
    iv_chair_id: int
    nasal_chair_id: int
    nurse_id: int
    prescriber_id: int
    prescriber_template_id: int  # the prescriber's Tuesday shift
    nurse_template_id: int
    nurse_iv_certification_id: int
    esketamine_id: int  # the esketamine session (09:00)
    esketamine_patient_id: int
    iv_session_id: int  # the IV session (13:00)


@pytest.fixture
def clinic(app: Flask) -> Clinic:
    with app.app_context():
        session = db.session
        world = build_clinic(session, nurses=1, patients=3)
        assert world.prescriber is not None
        nurse, prescriber = world.nurses[0], world.prescriber
        esketamine = book_session(
            session,
            patient_id=world.patients[0].id,
            treatment_type_id=world.nasal.id,
            location_id=world.location.id,
            starts_at=world.at(TUESDAY, "09:00"),
            actor=ACTOR,
            now=NOW,
        )
        iv = book_session(
            session,
            patient_id=world.patients[1].id,
            treatment_type_id=world.iv.id,
            location_id=world.location.id,
            starts_at=world.at(TUESDAY, "13:00"),
            chair_id=world.chairs[0].id,
            actor=ACTOR,
            now=NOW,
        )
        assert esketamine.prescriber_id == prescriber.id and iv.monitor_id == nurse.id

        def tuesday_template(staff_id: int) -> int:
            return session.scalar(
                sa.select(ShiftTemplate.id).where(
                    ShiftTemplate.staff_id == staff_id, ShiftTemplate.weekday == 1
                )
            )

        certification = session.scalar(
            sa.select(Certification.id).where(
                Certification.staff_id == nurse.id, Certification.kind == "KETAMINE_IV"
            )
        )
        return Clinic(
            location_id=world.location.id,
            iv_id=world.iv.id,
            nasal_id=world.nasal.id,
            iv_chair_id=iv.chair_id,
            nasal_chair_id=esketamine.chair_id,
            nurse_id=nurse.id,
            prescriber_id=prescriber.id,
            prescriber_template_id=tuesday_template(prescriber.id),
            nurse_template_id=tuesday_template(nurse.id),
            nurse_iv_certification_id=certification,
            esketamine_id=esketamine.id,
            esketamine_patient_id=esketamine.patient_id,
            iv_session_id=iv.id,
        )


def worklist(app: Flask) -> dict[int, list[str]]:
    """Open entries: appointment id -> reasons."""
    with app.app_context():
        return {
            entry.appointment_id: entry.reason_lines
            for entry in db.session.scalars(
                sa.select(RebookingEntry).where(RebookingEntry.resolved_at.is_(None))
            )
        }
