"""https deliveries: the certificate is checked against the URL's host name while the
connection goes to the address that was checked (the pinned address)."""

from __future__ import annotations

import shutil
import ssl
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from clinic.webhooks.addresses import AddressPolicy
from clinic.webhooks.delivery import DeliveryFailed, DeliverySettings, HttpSender
from tests.notify.smtp_sink import make_certificate
from tests.webhooks.test_addresses import dns

ALLOWED = DeliverySettings(policy=AddressPolicy(https_only=True, allow_private=True))


@pytest.fixture(scope="module")
def tls_receiver(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("the openssl tool is needed to make a test certificate")
    cert, key = make_certificate(tmp_path_factory.mktemp("webhook-tls"))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_args) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], cert
    server.shutdown()
    server.server_close()
    thread.join()


def test_https_to_a_trusted_certificate_for_the_url_host_is_delivered(tls_receiver):
    port, cert = tls_receiver
    sender = HttpSender(
        settings=ALLOWED,
        resolver=dns("127.0.0.1"),
        tls_context=ssl.create_default_context(cafile=str(cert)),
    )
    assert sender.post(f"https://localhost:{port}/hooks", b"{}", {}) == 204


def test_a_certificate_for_another_name_or_an_untrusted_one_is_refused(tls_receiver):
    port, cert = tls_receiver
    trusting = ssl.create_default_context(cafile=str(cert))
    for url, context in (
        (f"https://ehr.example.org:{port}/hooks", trusting),  # the name is not on it
        (f"https://localhost:{port}/hooks", ssl.create_default_context()),  # not trusted
    ):
        sender = HttpSender(settings=ALLOWED, resolver=dns("127.0.0.1"), tls_context=context)
        with pytest.raises(DeliveryFailed, match="TLS failed"):
            sender.post(url, b"{}", {})
