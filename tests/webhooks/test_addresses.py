"""The server-side request forgery guard: https in production, public addresses only, the
name resolved again at delivery (DNS rebinding) and the checked address the one connected."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from clinic.webhooks.addresses import (
    AddressPolicy,
    AddressRefused,
    check_registration,
    check_url,
    resolve,
)
from clinic.webhooks.delivery import (
    Claimed,
    DeliverySettings,
    HttpSender,
    delivery_settings_from_config,
    send_one,
)
from clinic.webhooks.signing import encrypt_secret
from tests.builders import NOW

PRODUCTION = AddressPolicy(https_only=True, allow_private=False)
DEVELOPMENT = AddressPolicy(https_only=False, allow_private=False)
PUBLIC_IP = "93.184.215.14"


def dns(*addresses: str):
    """A stand-in for DNS: every name resolves to ``addresses``."""

    def resolver(host, port, **_kwargs):
        family = {True: socket.AF_INET6, False: socket.AF_INET}
        return [(family[":" in a], socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]

    return resolver


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hooks",
        "https://127.1.2.3/hooks",
        "https://10.0.0.5/hooks",
        "https://172.16.0.1/hooks",
        "https://192.168.1.20/hooks",
        "https://169.254.169.254/latest/meta-data",  # cloud metadata (link-local)
        "https://100.64.0.1/hooks",  # carrier-grade NAT
        "https://0.0.0.0/hooks",
        "https://224.0.0.1/hooks",  # multicast
        "https://[::1]/hooks",
        "https://[fe80::1]/hooks",
        "https://[fd00::1]/hooks",
        "https://[ff02::1]/hooks",
        "https://[::ffff:127.0.0.1]/hooks",  # IPv4-mapped loopback
        "https://localhost/hooks",
        "https://api.localhost/hooks",
    ],
)
def test_private_loopback_link_local_and_multicast_addresses_are_refused(url):
    with pytest.raises(AddressRefused) as refused:
        check_registration(url, PRODUCTION, resolver=dns(PUBLIC_IP))
    assert "public addresses only" in refused.value.fields["url"]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://ehr.example.org/hooks", "must start with https://"),
        ("ftp://ehr.example.org/hooks", "must start with https://"),
        ("https://user:pw@ehr.example.org/hooks", "no user name or password"),
        ("https:///hooks", "must name a host"),
        ("https://ehr.example.org:99999/hooks", "not a valid URL"),
        ("https://ehr.example.org/hooks#x", "fragment"),
        ("", "Enter the receiver's URL"),
        ("https://ehr.example.org/" + "a" * 500, "under 500 characters"),
    ],
)
def test_production_urls_must_be_plain_https(url, message):
    with pytest.raises(AddressRefused) as refused:
        check_url(url, PRODUCTION)
    assert message in refused.value.fields["url"]


def test_a_name_resolving_to_any_private_address_is_refused():
    with pytest.raises(AddressRefused):
        resolve("https://ehr.example.org/x", PRODUCTION, resolver=dns(PUBLIC_IP, "10.1.1.1"))
    target = resolve("https://ehr.example.org:8443/x?a=1", PRODUCTION, resolver=dns(PUBLIC_IP))
    assert (target.address, target.port, target.path) == (PUBLIC_IP, 8443, "/x?a=1")


def test_http_is_accepted_outside_production_and_an_unknown_name_at_registration():
    def nowhere(*_args, **_kwargs):
        raise socket.gaierror("no such name")

    assert check_registration("http://ehr.example.org/x", DEVELOPMENT, resolver=nowhere)
    with pytest.raises(AddressRefused, match="could not be found"):
        resolve("http://ehr.example.org/x", DEVELOPMENT, resolver=nowhere)


def test_production_ignores_the_flag_that_allows_private_addresses():
    production = delivery_settings_from_config(
        {"PRODUCTION": True, "WEBHOOKS_ALLOW_PRIVATE_ADDRESSES": True}
    )
    assert production.policy == PRODUCTION
    testing = delivery_settings_from_config({"WEBHOOKS_ALLOW_PRIVATE_ADDRESSES": True})
    assert testing.policy == AddressPolicy(https_only=False, allow_private=True)
    with pytest.raises(ValueError, match="WEBHOOKS_MAX_ATTEMPTS"):
        delivery_settings_from_config({"WEBHOOKS_MAX_ATTEMPTS": 0})


class _Counting(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_POST(self) -> None:  # noqa: N802
        self.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_args) -> None:
        pass


def test_dns_rebinding_to_loopback_is_refused_at_delivery():
    """The name looked public when saved; at delivery it resolves to a loopback address where
    a server listens. Nothing reaches that server."""
    _Counting.hits = []
    server = HTTPServer(("127.0.0.1", 0), _Counting)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        url = f"http://rebind.example.org:{port}/hooks"
        assert check_registration(url, DEVELOPMENT, resolver=dns(PUBLIC_IP)) == url
        key = "app-secret-key-for-this-test-0123456789abcdef"
        item = Claimed(
            delivery_id=1,
            attempts=1,
            url=url,
            secret_encrypted=encrypt_secret("whsec_" + "k" * 30, app_secret_key=key),
            event_id="0b5b1b3c-1111-4f63-9a3c-2f0b8d3e7a10",
            event_type="appointment.booked",
            body=b"{}",
        )
        settings = DeliverySettings(policy=DEVELOPMENT, timeout_seconds=2)
        rebound = HttpSender(settings=settings, resolver=dns("127.0.0.1"))
        outcome = send_one(item, sender=rebound, app_secret_key=key, now=NOW)
        assert not outcome.delivered and "public addresses only" in (outcome.error or "")
        assert _Counting.hits == []
        # The same server, allowed (tests): the connection goes to the checked address.
        allowed = HttpSender(
            settings=DeliverySettings(policy=AddressPolicy(False, True), timeout_seconds=2),
            resolver=dns("127.0.0.1"),
        )
        assert send_one(item, sender=allowed, app_secret_key=key, now=NOW).delivered
        assert _Counting.hits == ["/hooks"]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
