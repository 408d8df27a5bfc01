"""Phone numbers, the one place they are read: E.164 normalising with ``phonenumbers``.

Patient records, escorts and locations accept numbers as people write them (a national
number is read in the clinic's default region); the SMS backends accept only numbers that
are already international, since a text must never go to a guessed country.
"""

from __future__ import annotations

import phonenumbers

# Where a number written without a country code is assumed to be (``201 555 0123``).
DEFAULT_PHONE_REGION = "US"

NEEDS_COUNTRY_CODE = "Enter a phone number with its country code, e.g. +1 201 555 0123."
NOT_A_NUMBER = "This is not a valid phone number; include the country code, e.g. +44."


class InvalidPhoneNumber(ValueError):
    """The text is not a valid phone number; the message says what to enter instead."""


def normalise_phone(raw: str | None, *, region: str | None = DEFAULT_PHONE_REGION) -> str | None:
    """The number in E.164 (``+12015550123``), or None when blank.

    ``region`` is the country a national number is read in; None accepts only numbers with
    ``+`` and a country code. Raises :class:`InvalidPhoneNumber` (a ``ValueError``).
    """
    text = (raw or "").strip()
    if not text:
        return None
    if region is None and not text.startswith("+"):
        raise InvalidPhoneNumber(NEEDS_COUNTRY_CODE)
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as error:
        raise InvalidPhoneNumber(NEEDS_COUNTRY_CODE) from error
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneNumber(NOT_A_NUMBER)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_e164(raw: str) -> str:
    """``raw`` (international form only) in E.164, or raise :class:`InvalidPhoneNumber`.

    Without a leading ``+`` and country code there is no telling which country a number
    belongs to, so a number to send a text to must carry one.
    """
    number = normalise_phone(raw, region=None)
    if number is None:
        raise InvalidPhoneNumber(NEEDS_COUNTRY_CODE)
    return number


def is_valid_e164(raw: str | None) -> bool:
    if not raw:
        return False
    try:
        return normalise_e164(raw) == raw
    except InvalidPhoneNumber:
        return False
