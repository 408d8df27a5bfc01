"""Security: login sessions, login throttling, password policy, headers, log redaction.

``passwords``, ``sessions`` and ``throttle`` are plain Python (session and clock as
arguments); ``web`` wires them into Flask and is installed by :func:`init_app`.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from .web import init_app as init_web

    init_web(app)
