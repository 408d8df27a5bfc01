"""clinic: scheduling for ketamine infusion clinics."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from .paths import STATIC_DIR, TEMPLATES_DIR

DEFAULT_INSTANCE_FOLDER = "instance"


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: config → extensions → blueprints → error handlers → commands.

    ``config`` overrides every other source (tests use it). Background jobs are not started
    here: ``clinic serve`` and ``clinic worker`` start them, so the app under gunicorn runs
    no scheduler.
    """
    # Where the SQLite file, the generated secret key and the file outboxes live: named, or
    # ./instance in the folder the command runs in. Not Flask's default, which depends on how
    # the package was installed (<venv>/var/clinic-instance for `pip install .`, the
    # checkout's instance/ for `pip install -e .`), so reinstalling for the tests would
    # silently switch a clinic to an empty database (and a deleted venv would take the data).
    instance_path = (
        (config or {}).get("INSTANCE_PATH")
        or os.environ.get("CLINIC_INSTANCE_PATH")
        or DEFAULT_INSTANCE_FOLDER
    )
    app = Flask(
        __name__,
        template_folder=str(TEMPLATES_DIR),
        static_folder=str(STATIC_DIR),
        instance_path=str(Path(instance_path).resolve()),
        instance_relative_config=True,
    )
    from .config import load_config

    load_config(app, config)
    configure_logging(app)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    return app


def configure_logging(app: Flask) -> None:
    level = str(app.config.get("LOG_LEVEL", "INFO")).upper()
    logging.getLogger("clinic").setLevel(level)


def register_extensions(app: Flask) -> None:
    from . import clock
    from .database import configure_engine
    from .extensions import csrf, db, login_manager, migrate
    from .paths import MIGRATIONS_DIR

    clock.init_app(app)
    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            configure_engine(engine)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    from .security import init_app as init_security

    init_security(app)


def register_blueprints(app: Flask) -> None:
    from .web import register_blueprints as register_web

    register_web(app)
    from .fhir import bp as fhir_bp

    app.register_blueprint(fhir_bp)


def register_errorhandlers(app: Flask) -> None:
    from .web.errors import register_errorhandlers as register

    register(app)


def register_commands(app: Flask) -> None:
    from .cli import register_commands as register

    register(app)
