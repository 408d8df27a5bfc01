"""Home page and health check."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, jsonify, render_template
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
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        # Nothing to undo: the request's session is discarded when the request ends.
        return jsonify(status="unavailable", database="unreachable"), 503
    return jsonify(status="ok", database="ok"), 200
