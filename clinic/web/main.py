"""Home page and health check."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify, render_template
from flask_login import login_required
from werkzeug.wrappers import Response

from ..clock import now
from ..extensions import db
from ..models import Location

bp = Blueprint("main", __name__)


@bp.route("/")
@login_required
def home() -> str:
    locations = db.session.scalars(
        sa.select(Location).where(Location.active).order_by(Location.name)
    ).all()
    current = now()
    return render_template(
        "home.html",
        locations=[(location, location.local_today(current)) for location in locations],
    )


@bp.route("/healthz")
def healthz() -> tuple[Response, int]:
    """Liveness for load balancers: can the database be reached? On a connection of its own
    outside the ORM session, so the probe never begins a transaction (on SQLite, a write
    lock) nor waits behind one."""
    try:
        connection = db.engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute("SELECT 1")
            cursor.fetchall()
            cursor.close()
        finally:
            connection.close()  # back to the pool, which rolls back whatever it began
    except Exception as error:  # the driver's own errors too: any failure is an outage
        current_app.logger.warning("health check: database unreachable (%s)", type(error).__name__)
        return jsonify(status="unavailable", database="unreachable"), 503
    return jsonify(status="ok", database="ok"), 200
