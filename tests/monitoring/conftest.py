"""A clinic around ``NOW`` with a nurse user, and sessions booked later that morning."""

from __future__ import annotations

import dataclasses

import pytest

from clinic.audit import Actor
from clinic.models import Role
from tests.builders import TODAY, World, add_session, build_world, make_user


@dataclasses.dataclass
class Clinic:
    world: World
    nurse: Actor
    receptionist: Actor

    def iv_session(self, session, hhmm: str = "10:00", n: int = 0, **fields):
        world = self.world
        return add_session(
            session,
            world,
            patient=world.patients[n],
            starts_at=world.at(TODAY, hhmm),
            chair=fields.pop("chair", world.chairs[n % len(world.chairs)]),
            **fields,
        ).id

    def nasal_session(self, session, hhmm: str = "10:00", n: int = 1):
        world = self.world
        return add_session(
            session,
            world,
            patient=world.patients[n],
            starts_at=world.at(TODAY, hhmm),
            chair=world.nasal_chairs[0],
            treatment=world.nasal,
        ).id


@pytest.fixture
def clinic(session) -> Clinic:
    world = build_world(session, today=TODAY)
    nurse = make_user(session, "nurse-record", Role.NURSE)
    desk = make_user(session, "desk-record", Role.RECEPTIONIST)
    return Clinic(
        world=world,
        nurse=Actor(user_id=nurse.id, username=nurse.username),
        receptionist=Actor(user_id=desk.id, username=desk.username),
    )
