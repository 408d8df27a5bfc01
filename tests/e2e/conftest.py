"""A real server and a real Chromium for the browser tests.

The app runs under werkzeug in a thread on a free port, on a migrated SQLite file of its own,
with its clock fixed at ``NOW`` (``live_server.clock``). The browser keeps real time, and so
does Flask when it dates a cookie's expiry, so no cookie looks expired to the browser.
Without Playwright or Chromium the tests skip with the reason, unless CLINIC_REQUIRE_BROWSER=1
(CI), which turns the skip into a failure.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from clinic.clock import FixedClock, set_clock
from tests.builders import NOW
from tests.testapp import base_config, migrate_to_head

CHROMIUM = os.environ.get("CLINIC_BROWSER") or os.environ.get(
    "CLINIC_CHROMIUM", "/usr/bin/chromium"
)
REQUIRE_BROWSER = os.environ.get("CLINIC_REQUIRE_BROWSER") == "1"
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def browser_unavailable_reason() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "browser tests need Playwright (pip install playwright)"
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)"
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    reason = browser_unavailable_reason()
    if reason is not None:
        if REQUIRE_BROWSER:
            pytest.fail(f"CLINIC_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class LiveServer:
    app: Flask
    url: str
    clock: FixedClock


@contextmanager
def serve(folder: Path, now: dt.datetime = NOW) -> Iterator[LiveServer]:
    """The app on a free port, on a migrated SQLite file in ``folder``, its clock at ``now``."""
    from werkzeug.serving import make_server

    from clinic import create_app
    from clinic.extensions import db

    database_url = f"sqlite:///{folder / 'e2e.db'}"
    migrate_to_head(database_url, folder)
    config = base_config(database_url, folder)
    config["TESTING"] = False  # behave as deployed: real CSRF, real sessions
    app = create_app(config)
    clock = FixedClock(now)
    set_clock(app, clock)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(app=app, url=f"http://127.0.0.1:{server.server_port}", clock=clock)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    with serve(tmp_path) as server:
        yield server


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: errors.append(message.text) if message.type == "error" else None,
    )
    yield page
    context.close()
    assert not errors, f"browser errors: {errors}"


# Every page of the app, crawled once per session (tests/e2e/site.py): the layout and the
# accessibility tests walk it.
from tests.e2e.site import site  # noqa: E402, F401
