"""Shared pieces of the set-up services: the error type, lookups, audit and commit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..audit import Actor, record_event
from ..errors import Invalid, NotFound
from ..scheduling.shifts import local_instant
from ..text import TEXT_MESSAGE, text_problem

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class SetupError(Invalid):
    """The change was refused: a sentence, or field names mapped to text ("" for the whole
    form, which becomes the message)."""

    def __init__(self, errors: Mapping[str, str] | str) -> None:
        given = {"": errors} if isinstance(errors, str) else dict(errors)
        general = given.pop("", None)
        super().__init__(
            general or ("Please correct the highlighted fields." if given else None), fields=given
        )


class SetupNotFound(NotFound):
    """The record to change does not exist (any more)."""


def get_or_fail(session: Session, model: type[Any], row_id: int, what: str) -> Any:
    row = session.get(model, row_id)
    if row is None:
        raise SetupNotFound(f"There is no {what} with id {row_id}.")
    return row


def audit(
    session: Session,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: int | None,
    summary: str = "",
) -> None:
    record_event(
        session,
        actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        summary=summary or f"{entity_type} {entity_id} {action.split('.')[-1]}",
    )


def clean_text(value: str | None, limit: int) -> str:
    """``value`` with its whitespace collapsed; a control or text-direction character in it
    refuses the whole change (``clinic.text``), before collapsing could hide it."""
    if text_problem(value):
        raise SetupError(TEXT_MESSAGE)
    return " ".join((value or "").split())[: limit + 1]


def require_text(errors: dict[str, str], name: str, value: str, label: str, limit: int) -> None:
    if not value:
        errors[name] = f"Enter the {label}."
    elif len(value) > limit:
        errors[name] = f"Use at most {limit} characters."


def apply_changes(row: Any, values: Mapping[str, Any]) -> list[str]:
    changed = [name for name, value in values.items() if getattr(row, name) != value]
    for name in changed:
        setattr(row, name, values[name])
    return changed


def commit_or_conflict(session: Session, conflict: Mapping[str, str]) -> None:
    """Commit; a unique index that fires anyway (a concurrent save) becomes a SetupError."""
    try:
        session.commit()
    except sa.exc.IntegrityError as error:
        session.rollback()
        raise SetupError(conflict) from error


def local_to_utc(value: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    if value.tzinfo is not None:
        return value.astimezone(dt.UTC)
    return local_instant(value.date(), value.time(), tz)
