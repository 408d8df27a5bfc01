"""gunicorn settings for the clinic's web processes.

    gunicorn -c config/gunicorn.conf.py 'clinic:create_app()'

Every access and error log line goes through ``clinic.redaction``, the one redaction the
app's own log and the built-in server's use too: query strings (patient searches) and
secrets in paths (the calendar feed's token, patient and claim links) never reach the log,
whatever ``access_log_format`` is set to. Override any setting on the command line
(``-b``, ``-w``); keep ``logger_class``.
"""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

from clinic.redaction import QUERY_HIDDEN, install, redact

# Redact gunicorn's own records (errors name the request line) from the first one on;
# workers are forked from this process and inherit it.
install()

bind = "127.0.0.1:8000"  # behind the TLS proxy (README: production checklist)
workers = 4
accesslog = "-"
# No referrer or user agent: a referrer can carry another page's address and query.
access_log_format = '%(h)s %(t)s "%(r)s" %(s)s %(b)s %(M)sms'

# Environment atoms that hold the query string on its own, without its "?".
_BARE_QUERY_ATOMS = ("q", "{query_string}e")


class RedactingLogger(Logger):
    """gunicorn's logger with every request atom redacted before any format sees it."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        for key, value in atoms.items():
            if isinstance(value, str):
                atoms[key] = redact(value)
        for key in _BARE_QUERY_ATOMS:
            if atoms.get(key):
                atoms[key] = QUERY_HIDDEN.lstrip("?")
        return atoms


logger_class = RedactingLogger
