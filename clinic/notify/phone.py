"""Phone numbers: E.164 validation with the ``phonenumbers`` library."""

from __future__ import annotations

import phonenumbers


class InvalidPhoneNumber(ValueError):
    """The number is not a valid international (E.164) phone number."""


def normalise_e164(raw: str) -> str:
    """Return ``raw`` in E.164 form (``+15551234567``), or raise :class:`InvalidPhoneNumber`.

    Only international numbers are accepted: without a leading ``+`` and country code there is
    no telling which country a number belongs to.
    """
    text = (raw or "").strip()
    if not text.startswith("+"):
        raise InvalidPhoneNumber(
            "Phone numbers must be in international form, starting with + and the country code."
        )
    try:
        parsed = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException as error:
        raise InvalidPhoneNumber("That phone number could not be read.") from error
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhoneNumber("That phone number is not a valid number for its country.")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def is_valid_e164(raw: str | None) -> bool:
    if not raw:
        return False
    try:
        return normalise_e164(raw) == raw
    except InvalidPhoneNumber:
        return False
