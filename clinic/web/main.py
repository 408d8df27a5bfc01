"""Home page and health check."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template
from flask_login import login_required
from werkzeug.wrappers import Response

from ..clock import now
from ..database import database_reachable
from ..extensions import db
from ..setup.queries import active_locations

bp = Blueprint("main", __name__)


@bp.route("/")
@login_required
def home() -> str:
    locations = active_locations(db.session())
    current = now()
    return render_template(
        "home.html",
        locations=[(location, location.local_today(current)) for location in locations],
    )


@bp.route("/healthz")
def healthz() -> tuple[Response, int]:
    if not database_reachable(db.engine):
        return jsonify(status="unavailable", database="unreachable"), 503
    return jsonify(status="ok", database="ok"), 200
