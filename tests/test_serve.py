"""The quick start, as a new user runs it: ``clinic serve --demo`` on a fresh database, then
again on the same (now seeded and used) instance folder, each a real process on a free port.

The second start is the one that used to break: the emptiness check left its transaction
open, SQLite's write lock with it, so /healthz answered 503 and every job logged
"database is locked".
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from clinic.demo import DEMO_USERS

pytestmark = pytest.mark.slow
CLINIC = os.path.join(os.path.dirname(sys.executable), "clinic")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Browser:
    """Just enough of a browser: cookies, and the CSRF token of the last form seen."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def get(self, path: str) -> tuple[int, str]:
        with self.opener.open(self.base + path, timeout=10) as response:
            return response.status, response.read().decode()

    def post(self, path: str, fields: dict[str, str]) -> tuple[int, str]:
        data = urllib.parse.urlencode(fields).encode()
        with self.opener.open(self.base + path, data=data, timeout=10) as response:
            return response.status, response.read().decode()

    def log_in(self, username: str, password: str) -> str:
        _, page = self.get("/login")
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        assert token, "no CSRF token on the login page"
        status, home = self.post(
            "/login",
            {"csrf_token": token.group(1), "username": username, "password": password},
        )
        assert status == 200
        return home


def serve(instance: Path) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("CLINIC_")}
    env.update(
        CLINIC_INSTANCE_PATH=str(instance),
        CLINIC_DATABASE_URL=f"sqlite:///{instance / 'clinic.db'}",
        CLINIC_DISPATCH_INTERVAL_SECONDS="1",
    )
    process = subprocess.Popen(
        [CLINIC, "serve", "--port", str(port), "--demo"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=5) as response:
                assert response.status == 200
                return process, base
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise AssertionError(process.communicate()[0]) from None
            time.sleep(0.2)


def stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGINT)
    try:
        return process.communicate(timeout=20)[0]
    except subprocess.TimeoutExpired:
        process.kill()
        return process.communicate()[0]


def use_the_clinic(base: str, instance: Path) -> None:
    """Health, a login (a write), the pages a receptionist opens; the dispatcher's output."""
    browser = Browser(base)
    username, _, password = DEMO_USERS[1]  # the receptionist
    home = browser.log_in(username, password)
    assert "Log out" in home or "logout" in home.lower()
    pages = {
        "/": "Riverside",
        "/board/": "IV 1",
        "/board/week": "IV",
        "/patients/?q=Garcia": "Olivia",
    }
    for path, expected in pages.items():
        status, page = browser.get(path)
        assert status == 200, path
        assert expected in page, path
    with urllib.request.urlopen(base + "/healthz", timeout=5) as response:
        assert response.status == 200
    # The in-process dispatcher delivered the demo invitations (it could take the lock).
    mail = instance / "outbox" / "mail"
    deadline = time.monotonic() + 30
    while not list(mail.glob("*.eml")):
        assert time.monotonic() < deadline, "the dispatcher sent nothing"
        time.sleep(0.2)


def test_serve_demo_works_on_a_fresh_then_a_seeded_and_used_database(tmp_path):
    outputs = []
    for run in range(2):
        process, base = serve(tmp_path)
        try:
            use_the_clinic(base, tmp_path)
            time.sleep(1.5)  # a dispatch run and the other jobs have run meanwhile
        finally:
            outputs.append(stop(process))
        if run == 0:
            sent = len(list((tmp_path / "outbox" / "mail").glob("*.eml")))
    first, second = outputs
    assert "Demo clinic loaded" in first
    assert "Demo clinic loaded" not in second  # nothing seeded twice
    for output in outputs:
        assert "database is locked" not in output, output
        assert "Traceback" not in output, output
        assert "unreachable" not in output, output
    assert sent > 0
    # Where the data is, first; the logins only once the port is listening.
    assert first.index(f"Data folder: {tmp_path}") < first.index("Clinic is running at")
    assert first.index("Clinic is running at") < first.index("demo login (admin)")
