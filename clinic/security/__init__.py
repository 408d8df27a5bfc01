"""Security in request handling: the login-session check on every request, idle logout,
secure cookies, security headers and log redaction (``web``, installed by :func:`init_app`).

The rules themselves are plain Python elsewhere: passwords, login throttling and login
sessions in ``clinic.accounts``, the audit trail in ``clinic.audit``.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from .web import init_app as init_web

    init_web(app)
