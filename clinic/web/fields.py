"""House form fields for dates, times and whole numbers.

Each is a text input that keeps what was typed (so a bad value is shown back as typed) and
offers the parsed value as ``.value``. Text that does not parse is a field error in the
clinic's own wording; an empty input is ``None`` and left to the service ("Choose ...").
A whole-number field with no ``invalid`` wording passes bad text on as ``None`` so that the
service's range message ("Enter between 1 and 480 minutes.") answers it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from wtforms import StringField
from wtforms.validators import Length, ValidationError

from .formtools import parse_date_arg, parse_int, parse_time


class _ParsedField(StringField):
    invalid_message: str | None = "Enter a valid value."
    max_length = 20

    def __init__(
        self,
        label: str | None = None,
        validators: Any = None,
        *,
        invalid: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(label, [Length(max=self.max_length), *(validators or [])], **kwargs)
        self.invalid = invalid or self.invalid_message

    @property
    def typed(self) -> bool:
        return bool((self.data or "").strip())

    def parse(self) -> Any:
        raise NotImplementedError

    def pre_validate(self, form: object) -> None:
        if self.invalid is not None and self.typed and self.parse() is None:
            raise ValidationError(self.invalid)


class DateField(_ParsedField):
    """A date typed or picked as YYYY-MM-DD."""

    invalid_message = "Enter the date as YYYY-MM-DD."

    def parse(self) -> dt.date | None:
        return parse_date_arg(self.data)

    @property
    def value(self) -> dt.date | None:
        return self.parse()


class TimeField(_ParsedField):
    """A 24-hour local time, HH:MM."""

    invalid_message = "Enter the time as HH:MM."
    max_length = 10

    def parse(self) -> dt.time | None:
        return parse_time(self.data)

    @property
    def value(self) -> dt.time | None:
        return self.parse()


class IntegerField(_ParsedField):
    """A whole number (at most nine digits: no form here takes more)."""

    invalid_message = None
    max_length = 9

    def __init__(self, *args: Any, max_length: int | None = None, **kwargs: Any) -> None:
        if max_length is not None:
            self.max_length = max_length
        super().__init__(*args, **kwargs)

    def parse(self) -> int | None:
        return parse_int(self.data)

    @property
    def value(self) -> int | None:
        return self.parse()
