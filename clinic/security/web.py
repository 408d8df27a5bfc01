"""The security layer's Flask wiring: login-session checks on every request, the login
redirect, security headers, the reverse-proxy fix and log redaction.

Installed by :func:`clinic.security.init_app` from ``create_app``.
"""

from __future__ import annotations

from flask import (
    Flask,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import logout_user
from werkzeug.exceptions import Unauthorized
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response

from .. import clock
from ..accounts.sessions import SessionPolicy, SessionState, needs_touch, session_state, time_out
from ..audit import guard_append_only
from ..extensions import db, login_manager
from ..models import LoginSession, User

# Where the Flask session keeps the LoginSession id. Flask-Login keeps the user id in
# "_user_id"; both must agree with the row for the request to count as logged in.
SESSION_KEY = "login_session"
FLASK_LOGIN_USER_KEY = "_user_id"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
)
STATIC_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
# One year; only sent over HTTPS, where the browser will honour it.
HSTS = "max-age=31536000"
PROXY_FIX_KEYS = ("x_for", "x_proto", "x_host", "x_port", "x_prefix")


def init_app(app: Flask) -> None:
    apply_proxy_fix(app)
    app.before_request(refuse_nul_characters)
    app.before_request(check_login_session)
    app.after_request(add_security_headers)
    login_manager.unauthorized_handler(unauthorized)
    install_log_redaction()
    guard_append_only()


# --- Input --------------------------------------------------------------------------------

NUL_MESSAGE = (
    "The form contained an invisible control character (NUL) that cannot be saved. "
    "Remove it (retype the text rather than pasting it) and try again."
)


def refuse_nul_characters() -> tuple[str, int] | None:
    """Refuse a NUL in any query or form value, for every page at once.

    PostgreSQL cannot store NUL in text and the driver raises; refusing here gives a clear
    400 instead of a server error, and nothing is saved.
    """
    if request.path.startswith(("/api/", "/fhir/")):
        # The API and FHIR validate their own input (problem documents, OperationOutcomes).
        return None
    values = list(request.args.values())
    if request.method in {"POST", "PUT", "PATCH"} and request.mimetype in {
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    }:
        values += [value for _, value in request.form.items(multi=True)]
        values += list(request.form.keys())
    if not any("\x00" in value for value in values):
        return None
    page = render_template("error.html", code=400, title="Invalid character", message=NUL_MESSAGE)
    return page, 400


# --- Sessions -----------------------------------------------------------------------------


def check_login_session() -> None:
    """Find the request's LoginSession row; end the login if it is over.

    Runs before every view. The row is kept on ``g`` for :func:`load_user` (Flask-Login's
    user loader), which accepts a user only through a live row.
    """
    g.pop("login_session", None)
    g.pop("login_session_ended", None)
    if request.endpoint == "static" or FLASK_LOGIN_USER_KEY not in session:
        return
    policy = SessionPolicy.from_config(current_app.config)
    now = clock.now()
    session_id = session.get(SESSION_KEY)
    row = db.session.get(LoginSession, session_id) if isinstance(session_id, str) else None
    state = session_state(row, user_id=session.get(FLASK_LOGIN_USER_KEY), now=now, policy=policy)
    if state is SessionState.ACTIVE:
        assert row is not None
        g.login_session = row
        if needs_touch(row, now):
            row.last_seen_at = now
            db.session.commit()
        return
    if row is not None and state in (SessionState.IDLE, SessionState.EXPIRED):
        time_out(db.session(), row=row, state=state, source_address=request.remote_addr, now=now)
    logout_user()
    session.clear()
    flash(policy.end_message(state), "info")
    g.login_session_ended = True


def load_user(user_id: str) -> User | None:
    """Flask-Login's user loader: the user of the request's live LoginSession, if any."""
    row: LoginSession | None = g.get("login_session")
    if row is None or str(row.user_id) != user_id:
        return None
    user = db.session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    return user


def unauthorized() -> Response:
    """A page needs a login: the API answers 401; pages redirect to the login form."""
    if request.path.startswith("/api/"):
        raise Unauthorized()
    if not g.get("login_session_ended"):
        flash(login_manager.login_message or "Please log in to continue.", "info")
    next_path = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("auth.login", next=next_path))


# --- Headers ------------------------------------------------------------------------------


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    # Defaults only: a view that sets one of these (the calendar feed's stricter
    # Referrer-Policy: no-referrer, say) keeps its own.
    if "Content-Security-Policy" not in headers:
        headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    for name, value in STATIC_HEADERS.items():
        headers.setdefault(name, value)
    if request.is_secure:
        headers["Strict-Transport-Security"] = HSTS
    if request.endpoint != "static":
        # Pages and API answers carry patient data: no browser or proxy may keep a copy.
        headers["Cache-Control"] = "no-store"
        headers.pop("Expires", None)
    return response


def apply_proxy_fix(app: Flask) -> None:
    """Trust X-Forwarded-* from this many proxies in front of the app (0 = none, default).

    Behind one reverse proxy that terminates TLS, set ``[proxy_fix] x_for = 1`` and
    ``x_proto = 1``: the audit trail then records the client's address, and HTTPS requests
    are recognised (HSTS, Secure cookies). Never set them without a proxy that overwrites
    those headers: clients could forge their address.
    """
    counts = {
        key: int(app.config.get(f"PROXY_FIX_{key.upper()}", 0) or 0) for key in PROXY_FIX_KEYS
    }
    if any(counts.values()):
        app.wsgi_app = ProxyFix(app.wsgi_app, **counts)  # type: ignore[method-assign]


# --- Logs ---------------------------------------------------------------------------------


def install_log_redaction() -> None:
    """Query strings and secrets in paths never reach a log: ``clinic.redaction``."""
    from ..redaction import install

    install()
