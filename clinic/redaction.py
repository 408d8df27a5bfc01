"""The one redaction of request lines for every log: the app's own, the built-in server's
access log and gunicorn's (``config/gunicorn.conf.py``).

Two kinds of secret travel in URLs and must never reach a log:

- query strings, which carry patient searches (``/patients?q=Jane+Doe``);
- secrets in the path: the calendar feed's token (``/calendar/<token>.ics``) today, patient
  and waitlist-claim links tomorrow. Paths under a prefix in ``SECRET_PATH_PREFIXES`` lose the
  segment after it; and any segment that looks like a random token (long, URL-safe) is
  hidden wherever it appears, so a new secret link is covered before anyone remembers to
  list it.
"""

from __future__ import annotations

import logging
import re

HIDDEN = "[hidden]"
QUERY_HIDDEN = "?[query hidden]"

# Each prefix's next path segment is a secret (its key to the data, like a password).
SECRET_PATH_PREFIXES = ("/calendar/", "/p/", "/claim/", "/waitlist/claim/")

_QUERY = re.compile(r"\?(?!\[query hidden\])[^\s\"']*")
_SECRET_AFTER_PREFIX = re.compile(
    "(" + "|".join(re.escape(prefix) for prefix in SECRET_PATH_PREFIXES) + r")[^/\s\"'?.]+"
)
# secrets.token_urlsafe(16) and longer: 22+ URL-safe characters with a digit or a mixed case
# run, which an ordinary word or path segment never is.
_TOKEN_LIKE = re.compile(r"(?<=/)(?=[A-Za-z0-9_-]{22,})(?=[^/\s]*[0-9_-])[A-Za-z0-9_-]{22,}")


def redact(text: str) -> str:
    """``text`` (a request line, a path, a log message) without query strings or secrets."""
    if not text:
        return text
    text = _QUERY.sub(QUERY_HIDDEN, text)
    text = _SECRET_AFTER_PREFIX.sub(lambda match: match.group(1) + HIDDEN, text)
    return _TOKEN_LIKE.sub(HIDDEN, text)


def redact_record(record: logging.LogRecord) -> None:
    """Rewrite a record's message through :func:`redact` (formatting it now)."""
    try:
        message = record.getMessage()
    except (TypeError, ValueError):
        return  # a malformed record: logging reports it when it is emitted
    cleaned = redact(message)
    if cleaned != message:
        record.msg = cleaned
        record.args = ()


# The loggers that write request lines or may mention one: the app's (and its children:
# "clinic.web"), the built-in server's, gunicorn's access and error logs.
REDACTED_LOGGERS = ("clinic", "werkzeug", "gunicorn")


def _redacted(name: str) -> bool:
    return any(name == root or name.startswith(root + ".") for root in REDACTED_LOGGERS)


def install() -> None:
    """Redact every record of those loggers as it is made, once per process.

    A record factory rather than a logging.Filter: a filter on "clinic" does not see the
    records of "clinic.web", and gunicorn builds its own handlers; every record, whatever
    logger or handler it goes to, is made by the factory. Idempotent (create_app runs once
    per test, and the gunicorn config calls it too).
    """
    previous = logging.getLogRecordFactory()
    if getattr(previous, "clinic_redaction", False):
        return

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if _redacted(record.name):
            redact_record(record)
        return record

    factory.clinic_redaction = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
