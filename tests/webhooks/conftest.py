"""A real HTTP receiver on loopback, endpoints registered through the service, a deliverer.

The app here allows private addresses (``[webhooks] allow_private_addresses``): the receiver
listens on 127.0.0.1. The SSRF tests build their own policy or app without it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from clinic.audit import Actor
from clinic.clock import FixedClock
from clinic.webhooks import endpoints
from clinic.webhooks.addresses import AddressPolicy
from clinic.webhooks.delivery import Deliverer, HttpSender, delivery_settings_from_config
from clinic.webhooks.events import EventType
from clinic.webhooks.signing import SIGNATURE_HEADER, verify
from tests.testapp import base_config

SECRET = "whsec_test-secret-for-the-receiver-0123456789"
ADMIN = Actor(user_id=None, username="test-admin")
LOOPBACK = AddressPolicy(https_only=False, allow_private=True)
ALL_EVENTS = [event.value for event in EventType]


@pytest.fixture
def app_config(database_url, tmp_path):
    config = base_config(database_url, tmp_path)
    config["WEBHOOKS"] = {"allow_private_addresses": True, "timeout_seconds": 5}
    return config


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    signed: bool  # the signature verified with the receiver's secret and clock
    answered: int

    @property
    def event(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.body)
        return document


@dataclass
class Receiver:
    """Answers each POST with the next status of ``answers`` (then 200), and records it.

    Signatures are checked as a receiver would: over the raw bytes, against ``clock``."""

    secret: str
    clock: FixedClock
    answers: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/clinic?source=test"

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length)
        signed = verify(
            handler.headers.get(SIGNATURE_HEADER, ""),
            body,
            self.secret,
            now=int(self.clock().timestamp()),
        )
        with self.lock:
            status = self.answers.pop(0) if self.answers else 200
            self.received.append(
                Received(handler.path, dict(handler.headers.items()), body, signed, status)
            )
        handler.send_response(status)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    def events(self, *, answered: int | None = None) -> list[dict[str, Any]]:
        return [r.event for r in self.received if answered is None or r.answered == answered]


@pytest.fixture
def receiver(clock: FixedClock) -> Iterator[Receiver]:
    state = Receiver(secret=SECRET, clock=clock)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802  (http.server's name)
            state.handle(self)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.server = server
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join()


def register(
    session,
    app,
    url: str,
    *,
    events: list[str] | None = None,
    secret: str = SECRET,
    name: str = "EHR",
) -> int:
    registered = endpoints.register_endpoint(
        session,
        name=name,
        url=url,
        event_types=events or ALL_EVENTS,
        secret=secret,
        actor=ADMIN,
        now=app.extensions["clinic.clock"](),
        policy=LOOPBACK,
        app_secret_key=app.config["SECRET_KEY"],
    )
    return registered.endpoint.id


def make_deliverer(app, **overrides: Any) -> Deliverer:
    config = dict(app.config)
    config.update({f"WEBHOOKS_{key.upper()}": value for key, value in overrides.items()})
    settings = delivery_settings_from_config(config)
    return Deliverer(
        settings=settings,
        sender=HttpSender(settings=settings),
        app_secret_key=app.config["SECRET_KEY"],
        worker="test-worker",
    )
