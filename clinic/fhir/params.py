"""Reading FHIR search parameters: date prefixes, tokens, references, paging.

Anything malformed raises :class:`FhirError` (400), which the views answer as an
OperationOutcome naming the parameter: a client learns what to fix, never gets a 500.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from werkzeug.datastructures import MultiDict

# PostgreSQL ``integer``: a larger id cannot exist, and must not reach the database.
MAX_ID = 2**31 - 1
DEFAULT_COUNT = 20
MAX_COUNT = 100
# Past this offset a client should narrow its search rather than page further.
MAX_OFFSET = 10_000
MAX_VALUE_LENGTH = 200
# Parameters every search takes, beyond its own.
PAGING_PARAMETERS = frozenset({"_count", "_offset", "_format"})
DATE_PREFIXES = ("eq", "ne", "ge", "gt", "le", "lt")
UNSUPPORTED_PREFIXES = ("sa", "eb", "ap")
_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_YEAR = re.compile(r"\d{4}")
_MONTH = re.compile(r"\d{4}-\d{2}")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})")


class FhirError(Exception):
    """An answer as an OperationOutcome: ``status``, the issue ``code`` and words to act on."""

    def __init__(
        self,
        status: int,
        diagnostics: str,
        *,
        code: str = "invalid",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status = status
        self.diagnostics = diagnostics
        self.code = code
        self.headers = dict(headers or {})
        super().__init__(diagnostics)


def bad_parameter(name: str, message: str) -> FhirError:
    return FhirError(400, f"Search parameter '{name}': {message}")


@dataclass(frozen=True, slots=True)
class DateBound:
    """One ``date``/``start``/``birthdate`` value: ``prefix`` and the half-open interval
    ``[low, high)`` its precision covers. Dates without a time (``2026-03-03``) are local
    dates (``low``/``high`` are ``date``s, read in each location's time zone); a time must
    carry its offset, as FHIR requires, and gives aware datetimes."""

    prefix: str
    low: dt.date | dt.datetime
    high: dt.date | dt.datetime

    @property
    def is_local(self) -> bool:
        return not isinstance(self.low, dt.datetime)

    def instants(self, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
        """The interval as aware instants, local dates read in ``tz``."""
        if isinstance(self.low, dt.datetime) and isinstance(self.high, dt.datetime):
            return self.low, self.high
        return (
            dt.datetime.combine(self.low, dt.time(), tzinfo=tz),
            dt.datetime.combine(self.high, dt.time(), tzinfo=tz),
        )


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def parse_date(name: str, raw: str, *, allow_time: bool = True) -> DateBound:
    prefix = raw[:2] if raw[:2].isalpha() else "eq"
    value = raw[2:] if raw[:2].isalpha() else raw
    if prefix in UNSUPPORTED_PREFIXES:
        raise bad_parameter(
            name, f"the prefix '{prefix}' is not supported; use ge, gt, le, lt or eq."
        )
    if prefix not in DATE_PREFIXES:
        raise bad_parameter(name, f"'{raw}' does not start with a date or a known prefix.")
    try:
        if _YEAR.fullmatch(value):
            low = dt.date(int(value), 1, 1)
            return DateBound(prefix, low, dt.date(low.year + 1, 1, 1))
        if _MONTH.fullmatch(value):
            low = dt.date(int(value[:4]), int(value[5:7]), 1)
            return DateBound(prefix, low, _add_months(low, 1))
        if _DAY.fullmatch(value):
            low = dt.date.fromisoformat(value)
            return DateBound(prefix, low, low + dt.timedelta(days=1))
        if allow_time and _INSTANT.fullmatch(value):
            instant = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            precision = (
                dt.timedelta(seconds=1) if value.count(":") >= 3 else dt.timedelta(minutes=1)
            )
            if "." in value:
                precision = dt.timedelta(microseconds=1)
            return DateBound(prefix, instant, instant + precision)
    except (ValueError, OverflowError):
        raise bad_parameter(name, f"'{value}' is not a real date.") from None
    if allow_time and "T" in value:
        raise bad_parameter(
            name, f"'{value}' is not a date-time with a time zone (e.g. 2026-03-03T09:00:00Z)."
        )
    raise bad_parameter(name, f"'{value}' is not a date (YYYY, YYYY-MM or YYYY-MM-DD).")


def parse_id(name: str, raw: str, *, resource_type: str | None = None) -> int:
    """A numeric id, alone or as a reference (``Patient/5``); out-of-range ids are 400."""
    value = raw
    if resource_type is not None and "/" in raw:
        kind, _, value = raw.rpartition("/")
        if kind.rsplit("/", 1)[-1] != resource_type:
            raise bad_parameter(name, f"'{raw}' is not a reference to a {resource_type}.")
    if not value.isdigit() or len(value) > 10 or not 1 <= int(value) <= MAX_ID:
        raise bad_parameter(name, f"'{value}' is not a {resource_type or 'record'} id.")
    return int(value)


def parse_reference(name: str, raw: str, resource_type: str) -> str:
    """The logical id a reference (``Schedule/chair-3``, or ``chair-3``) names."""
    value = raw
    if "/" in raw:
        kind, _, value = raw.rpartition("/")
        if kind.rsplit("/", 1)[-1] != resource_type:
            raise bad_parameter(name, f"'{raw}' is not a reference to a {resource_type}.")
    if not _ID.fullmatch(value):
        raise bad_parameter(name, f"'{value}' is not a {resource_type} id.")
    return value


def parse_token(name: str, raw: str, *, system: str | None = None) -> str:
    """The code of a token (``system|code`` or ``code``); a foreign system is a 400, as it
    could never match."""
    if "|" in raw:
        given_system, _, code = raw.partition("|")
        if given_system and system is not None and given_system != system:
            raise bad_parameter(name, f"the system must be {system} (or left out).")
        raw = code
    if not raw:
        raise bad_parameter(name, "a code is needed.")
    return raw


def split_values(raw: str) -> list[str]:
    """FHIR's comma means OR; ``\\,`` is a literal comma."""
    parts = re.split(r"(?<!\\),", raw)
    return [part.replace("\\,", ",") for part in parts]


@dataclass(frozen=True, slots=True)
class Paging:
    count: int
    offset: int


class SearchParameters:
    """The request's parameters, checked against those the search understands."""

    def __init__(self, args: MultiDict[str, str], known: Iterable[str]) -> None:
        allowed = set(known) | PAGING_PARAMETERS
        for name, values in args.lists():
            # An unknown parameter is refused rather than ignored (FHIR's strict handling):
            # a misspelt filter would otherwise quietly return everything.
            base = name.split(":", 1)[0]
            if base not in allowed or ":" in name:
                listed = ", ".join(sorted(set(known))) or "none"
                raise FhirError(
                    400,
                    f"Unknown search parameter '{name}'; this search takes: {listed} (and _count).",
                    code="not-supported",
                )
            for value in values:
                if "\x00" in value or len(value) > MAX_VALUE_LENGTH:
                    raise bad_parameter(name, "the value is too long or holds a control character.")
        self.args = args

    def all(self, name: str) -> list[str]:
        return [value for value in self.args.getlist(name) if value != ""]

    def one(self, name: str) -> str | None:
        values = self.all(name)
        if len(values) > 1:
            raise bad_parameter(name, "give it once.")
        return values[0] if values else None

    def paging(self) -> Paging:
        return Paging(
            count=self._integer("_count", DEFAULT_COUNT, low=0, high=MAX_COUNT),
            offset=self._integer("_offset", 0, low=0, high=MAX_OFFSET),
        )

    def _integer(self, name: str, default: int, *, low: int, high: int) -> int:
        raw = self.one(name)
        if raw is None:
            return default
        if not raw.isdigit() or len(raw) > 6:
            raise bad_parameter(name, f"'{raw}' is not a whole number.")
        value = int(raw)
        if name == "_count":
            return min(value, high)  # FHIR: a server may return fewer than asked
        if value > high:
            raise bad_parameter(name, f"page at most {high} results deep; narrow the search.")
        return max(low, value)
