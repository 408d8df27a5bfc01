"""The built-in server's request handler: no version in ``Server`` (ASVS 14.3.3).

Werkzeug's handler answers ``Server: Werkzeug/3.1.9 Python/3.11.7``, telling an attacker
which published flaws to try. ``clinic serve`` passes this handler to ``run_simple``; its
access log lines go through ``clinic.redaction`` like every other log line (the "werkzeug"
logger is redacted).
"""

from __future__ import annotations

from werkzeug.serving import WSGIRequestHandler

SERVER_NAME = "clinic"


class ClinicRequestHandler(WSGIRequestHandler):
    @property
    def server_version(self) -> str:  # type: ignore[override]
        return SERVER_NAME

    def version_string(self) -> str:
        return SERVER_NAME
