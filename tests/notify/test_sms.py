"""SMS: E.164 numbers, the HTTP gateway (against a local server) and the file outbox."""

from __future__ import annotations

import base64
import json
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from clinic.notify.errors import DeliveryError
from clinic.notify.phone import InvalidPhoneNumber, is_valid_e164, normalise_e164
from clinic.notify.sms import (
    FileSmsBackend,
    HttpSmsBackend,
    SmsMessage,
    sms_backend_from_config,
)

MESSAGE = SmsMessage(to="+12015550123", body="Your session is booked.", reference="notification-9")


class Gateway:
    """A local HTTP server that records each POST and answers with ``status``."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.status = 200
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                gateway.requests.append(
                    {
                        "path": self.path,
                        "headers": dict(self.headers),
                        "body": self.rfile.read(length),
                    }
                )
                self.send_response(gateway.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"id": "abc"}')

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/send"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Gateway:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    with Gateway() as server:
        yield server


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("+12015550123", "+12015550123"), ("+44 20 7946 0958", "+442079460958")],
)
def test_phone_numbers_are_normalised_to_e164(raw, expected):
    assert normalise_e164(raw) == expected


@pytest.mark.parametrize("raw", ["2015550123", "+1555", "+12015550123999", "call me", ""])
def test_invalid_phone_numbers_are_refused(raw):
    with pytest.raises(InvalidPhoneNumber):
        normalise_e164(raw)
    assert not is_valid_e164(raw)


def test_gateway_form_body_with_basic_auth(gateway):
    backend = HttpSmsBackend(
        url=gateway.url, username="clinic", password="s3cret", body="form", sender="Clinic"
    )
    backend.send(MESSAGE)
    (request,) = gateway.requests
    assert request["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    fields = dict(urllib.parse.parse_qsl(request["body"].decode()))
    assert fields == {
        "to": "+12015550123",
        "from": "Clinic",
        "body": "Your session is booked.",
        "reference": "notification-9",
    }
    auth = request["headers"]["Authorization"]
    assert base64.b64decode(auth.removeprefix("Basic ")) == b"clinic:s3cret"


def test_gateway_json_body(gateway):
    HttpSmsBackend(url=gateway.url, body="json", sender="Clinic").send(MESSAGE)
    (request,) = gateway.requests
    assert request["headers"]["Content-Type"] == "application/json"
    assert json.loads(request["body"])["to"] == "+12015550123"
    assert "Authorization" not in request["headers"]


@pytest.mark.parametrize(("status", "permanent"), [(400, True), (429, False), (503, False)])
def test_gateway_errors_are_classified(gateway, status, permanent):
    gateway.status = status
    with pytest.raises(DeliveryError) as raised:
        HttpSmsBackend(url=gateway.url).send(MESSAGE)
    assert raised.value.permanent is permanent


def test_unreachable_gateway_is_retryable():
    from tests.notify.smtp_sink import free_port

    backend = HttpSmsBackend(url=f"http://127.0.0.1:{free_port()}/send", timeout=2)
    with pytest.raises(DeliveryError) as raised:
        backend.send(MESSAGE)
    assert not raised.value.permanent


def test_an_invalid_number_never_reaches_the_gateway(gateway):
    with pytest.raises(DeliveryError) as raised:
        HttpSmsBackend(url=gateway.url).send(
            SmsMessage(to="555-0123", body="x", reference="notification-1")
        )
    assert raised.value.permanent
    assert gateway.requests == []


def test_file_backend_writes_one_file_per_message(tmp_path):
    backend = FileSmsBackend(tmp_path / "sms", sender="Clinic")
    backend.send(MESSAGE)
    backend.send(MESSAGE)
    (written,) = (tmp_path / "sms").glob("*.txt")
    assert written.read_text() == "To: +12015550123\nFrom: Clinic\n\nYour session is booked.\n"


def test_backend_from_config(tmp_path):
    file_backend = sms_backend_from_config({}, instance_path=tmp_path)
    assert isinstance(file_backend, FileSmsBackend)
    assert file_backend.directory == tmp_path / "outbox" / "sms"
    http = sms_backend_from_config(
        {
            "SMS_BACKEND": "http",
            "SMS_HTTP_URL": "https://gw.example/send",
            "SMS_HTTP_BODY": "json",
            "SMS_HTTP_USERNAME": "u",
        },
        instance_path=tmp_path,
    )
    assert isinstance(http, HttpSmsBackend)
    assert (http.url, http.body, http.username) == ("https://gw.example/send", "json", "u")
    with pytest.raises(ValueError, match="SMS_HTTP_URL"):
        sms_backend_from_config({"SMS_BACKEND": "http"}, instance_path=tmp_path)
