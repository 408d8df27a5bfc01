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
    from . import admin, board, monitoring, patients, series

    for blueprint in (board.bp, patients.bp, series.bp, monitoring.bp, admin.bp):
        app.register_blueprint(blueprint)
    register_template_helpers(app)


# The main navigation: (endpoint, label, permission). An entry shows only when its blueprint
# is registered and the user's role grants the permission.
NAVIGATION = [
    ("board.day", "Day board", "view_schedule"),
    ("patients.index", "Patients", "view_patients"),
    ("series.new", "Book a series", "book"),
    ("record.forms_due", "REMS forms", "clinical_status"),
    ("notifications.index", "Messages", "manage_notifications"),
    ("admin.index", "Admin", "configure"),
    ("audit.index", "Audit trail", "view_audit"),
    ("reports.index", "Reports", "view_reports"),
]


def register_template_helpers(app: Flask) -> None:
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

        return {"nav_items": nav_items, "user_can": user_can, "Permission": Permission}
