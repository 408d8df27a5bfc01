"""Server-rendered web UI: one blueprint per area (auth, main, board, patients, series,
admin, audit, notifications, calendar, tokens); ``series`` and ``admin`` are packages of
small view modules. ``answers`` is the one path from a domain error to a page, ``fields``
and ``forms`` turn form input into the typed input each service takes."""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from . import auth, main
    from .converters import register_converters

    register_converters(app)

    app.register_blueprint(auth.bp)
    app.register_blueprint(main.bp)
    from . import audit

    app.register_blueprint(audit.bp)
    from . import calendar, notifications

    app.register_blueprint(calendar.bp)
    app.register_blueprint(notifications.bp)
    from ..api import register_api
    from . import tokens

    register_api(app)
    app.register_blueprint(tokens.bp)
    from . import lockouts

    app.register_blueprint(lockouts.bp)
    from . import reports

    app.register_blueprint(reports.bp)
    from . import admin, board, monitoring, patients, rebooking, series

    for blueprint in (board.bp, patients.bp, series.bp, monitoring.bp, admin.bp, rebooking.bp):
        app.register_blueprint(blueprint)
    register_template_helpers(app)


# The main navigation: (endpoint, label, permission). An entry shows only when its blueprint
# is registered and the user's role grants the permission.
NAVIGATION = [
    ("board.day", "Day board", "view_schedule"),
    ("patients.index", "Patients", "view_patients"),
    ("series.new", "Book a series", "book"),
    ("rebooking.index", "Needs rebooking", "book"),
    ("record.forms_due", "REMS forms", "clinical_status"),
    ("notifications.index", "Messages", "manage_notifications"),
    ("admin.index", "Admin", "configure"),
    ("audit.index", "Audit trail", "view_audit"),
    ("reports.index", "Reports", "view_reports"),
]


# Pages whose menu entry is not the one their first path segment names: a session's pages
# belong to the day board (their breadcrumb leads there), a series' page to Patients, and
# booking one session to booking. Checked in order against the matched URL rule.
NAV_SECTIONS = (
    ("/sessions/new", "series.new"),
    ("/sessions/", "board.day"),
    ("/series/new", "series.new"),
    ("/series/", "patients.index"),
)


def current_nav_endpoint(rule: str | None, items: list[tuple[str, str]]) -> str | None:
    """The menu entry to mark as the current page for a URL rule, from the menu's
    (endpoint, url) pairs: a listed section, else the entry whose URL starts with the same
    path segment (so /admin/api-tokens is Admin)."""
    if rule is None:
        return None
    endpoints = {endpoint for endpoint, _url in items}
    for prefix, endpoint in NAV_SECTIONS:
        if rule.startswith(prefix):
            return endpoint if endpoint in endpoints else None
    segment = _first_segment(rule)
    if not segment:
        return None
    return next((endpoint for endpoint, url in items if _first_segment(url) == segment), None)


def _first_segment(path: str) -> str:
    return path.strip("/").split("/", 1)[0]


def register_template_helpers(app: Flask) -> None:
    from flask import request, url_for

    from ..permissions import Permission
    from .access import user_can

    @app.context_processor
    def navigation() -> dict[str, object]:
        def nav_items() -> list[tuple[str, str]]:
            return [
                (endpoint, label)
                for endpoint, label, permission in NAVIGATION
                if endpoint in app.view_functions and user_can(Permission(permission))
            ]

        def nav_current(items: list[tuple[str, str]]) -> str | None:
            rule = request.url_rule.rule if request.url_rule is not None else None
            return current_nav_endpoint(
                rule, [(endpoint, url_for(endpoint)) for endpoint, _label in items]
            )

        return {
            "nav_items": nav_items,
            "nav_current": nav_current,
            "user_can": user_can,
            "Permission": Permission,
        }
