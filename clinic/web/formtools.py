"""Small helpers the UI blueprints share: field errors from services, safe return URLs,
the lenient parsers behind the house fields (``web/fields.py``), select choices, and the
template filters for local times."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

from flask import Flask, request
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice, SelectField, SelectMultipleField
from wtforms.validators import ValidationError
from wtforms.widgets import CheckboxInput, ListWidget


def apply_errors(form: FlaskForm, errors: Mapping[str, str]) -> list[str]:
    """Put each service error next to its field; return the ones no field shows.

    A form whose fields are named differently from the service's (a date and a time input
    for one ``starts_at``) maps the service's names in its ``service_fields`` attribute."""
    unplaced = []
    aliases: Mapping[str, str] = getattr(form, "service_fields", {})
    for name, message in errors.items():
        name = aliases.get(name, name)
        field = form._fields.get(name) if name else None
        if field is None:
            unplaced.append(message)
        else:
            field.errors = [*list(field.errors or []), message]
    return unplaced


def is_same_site_path(target: str | None) -> bool:
    """A path on this site that is safe to put in a Location header.

    An absolute or protocol-relative URL would be an open redirect; a control character
    (``/%0d%0aX-Injected: yes``) cannot go in a header at all, and werkzeug raises on it.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return False
    if "\\" in target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return False
    parts = urlsplit(target)
    return not (parts.scheme or parts.netloc)


def safe_return_url(default: str, *, arg: str = "next") -> str:
    """A same-site path from the form or query (``next``), else ``default``."""
    target = request.form.get(arg) or request.args.get(arg)
    return target if target is not None and is_same_site_path(target) else default


# Dates a clinic can mean. Outside them a date is refused as a typing error: 9999-12-31 is
# valid ISO but "the day after" overflows Python's calendar (a 500 before this bound).
FIRST_DAY = dt.date(1900, 1, 1)
LAST_DAY = dt.date(2999, 12, 31)
CALENDAR_MESSAGE = f"Enter a date between {FIRST_DAY:%Y} and {LAST_DAY:%Y}."


def in_calendar(day: dt.date | None) -> bool:
    return day is None or FIRST_DAY <= day <= LAST_DAY


def within_calendar(form: object, field: object) -> None:
    """WTForms validator for a date field: refuse dates outside FIRST_DAY..LAST_DAY."""
    if not in_calendar(getattr(field, "data", None)):
        raise ValidationError(CALENDAR_MESSAGE)


def parse_date_arg(raw: str | None) -> dt.date | None:
    if not raw:
        return None
    try:
        day = dt.date.fromisoformat(raw.strip())
    except ValueError:
        return None
    return day if in_calendar(day) else None


def parse_time(raw: str | None) -> dt.time | None:
    if not raw or not raw.strip():
        return None
    try:
        return dt.time.fromisoformat(raw.strip())
    except ValueError:
        return None


def parse_int(raw: object) -> int | None:
    if raw is None:
        return None
    text = str(raw).strip()
    if not text or len(text) > 9:
        return None
    try:
        return int(text)
    except ValueError:
        return None


def register_filters(app: Flask) -> None:
    """Date and time formats used across the UI (clinic staff read 24-hour local time)."""
    if "hm" in app.jinja_env.filters:
        return

    def hm(value: dt.datetime | dt.time | None) -> str:
        return "" if value is None else value.strftime("%H:%M")

    def long_date(value: dt.date | dt.datetime | None) -> str:
        return "" if value is None else value.strftime("%A %-d %B %Y")

    def short_date(value: dt.date | dt.datetime | None) -> str:
        return "" if value is None else value.strftime("%a %-d %b %Y")

    def day_month(value: dt.date | dt.datetime | None) -> str:
        return "" if value is None else value.strftime("%a %-d %b")

    def local(value: dt.datetime | None, timezone: str) -> dt.datetime | None:
        from zoneinfo import ZoneInfo

        return None if value is None else value.astimezone(ZoneInfo(timezone))

    app.jinja_env.filters.update(
        hm=hm, long_date=long_date, short_date=short_date, day_month=day_month, local=local
    )


def options(pairs: Iterable[tuple[object, str]], *, blank: str | None = None) -> list[SelectChoice]:
    """Select choices as WTForms wants them (tuples are deprecated), values as strings."""
    choices = [SelectChoice(str(value), label) for value, label in pairs]
    return [SelectChoice("", blank), *choices] if blank is not None else choices


OFF_LIST = "Choose one of the options in the list."


def _choice_values(field: SelectField | SelectMultipleField) -> set[str]:
    return {str(choice.value) for choice in field.choices or []}


class LooseSelectField(SelectField):
    """A select that leaves an empty value to the service ("Choose a location.") and
    refuses a value that is not on the list with a plain message, not WTForms' wording."""

    def pre_validate(self, form: object) -> None:
        if self.data in (None, "") or str(self.data) in _choice_values(self):
            return
        raise ValidationError(OFF_LIST)


class LooseRadioField(RadioField):
    def pre_validate(self, form: object) -> None:
        if self.data in (None, "") or str(self.data) in _choice_values(self):
            return
        raise ValidationError(OFF_LIST)


class CheckboxesField(SelectMultipleField):
    """Checkboxes for a multiple choice; values off the list are refused in words."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form: object) -> None:
        allowed = _choice_values(self)
        if any(str(value) not in allowed for value in self.data or []):
            raise ValidationError(OFF_LIST)
