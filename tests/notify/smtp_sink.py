"""A real SMTP server in this process (aiosmtpd in a thread) that keeps what arrives."""

from __future__ import annotations

import asyncio
import email
import email.policy
import random
import socket
import ssl
import subprocess
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USERNAME = "clinic-mailer"
PASSWORD = "mailer-password-123"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Received:
    peer: Any
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    authenticated_as: str | None

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.raw, policy=email.policy.default)  # type: ignore[return-value]


@dataclass
class Faults:
    """A misbehaving server. ``drop_greetings`` / ``drop_mail``: that many of the next
    EHLO / MAIL commands are answered by hanging up. With ``rate`` > 0, each MAIL, RCPT and
    DATA command is answered 451 with that probability, or the connection is dropped before
    the message is accepted (``drop_rate``), and sometimes dropped just after a message was
    accepted (``drop_after_rate``). Faults never strike after a message was accepted and
    before the 250 is read, so no message arrives twice because of them."""

    drop_greetings: int = 0
    drop_mail: int = 0
    rate: float = 0.0
    drop_rate: float = 0.0
    drop_after_rate: float = 0.0
    seed: int = 11
    struck: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.random = random.Random(self.seed)
        self.lock = threading.Lock()

    def _count(self, what: str) -> None:
        self.struck[what] = self.struck.get(what, 0) + 1

    def decide(self, command: str) -> str | None:
        with self.lock:
            if command == "EHLO" and self.drop_greetings > 0:
                self.drop_greetings -= 1
                self._count("drop EHLO")
                return "drop"
            if command == "MAIL" and self.drop_mail > 0:
                self.drop_mail -= 1
                self._count("drop MAIL")
                return "drop"
            if command in ("MAIL", "RCPT", "DATA") and self.rate:
                roll = self.random.random()
                if roll < self.rate:
                    self._count(f"451 {command}")
                    return "451"
                if roll < self.rate + self.drop_rate:
                    self._count(f"drop {command}")
                    return "drop"
            return None

    def drop_after_accepting(self) -> bool:
        with self.lock:
            if self.drop_after_rate and self.random.random() < self.drop_after_rate:
                self._count("drop after 250")
                return True
            return False


def hang_up(server: Any) -> str:
    server.transport.close()
    return "421 4.4.2 Closing connection"


@dataclass
class Collector:
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    refuse: set[str] = field(default_factory=set)  # recipients answered 550
    defer_all: bool = False  # answer every RCPT with 451
    defer: set[str] = field(default_factory=set)  # recipients answered 451
    delay: float = 0.0  # seconds to spend on each message (a slow server)
    faults: Faults = field(default_factory=Faults)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: ANN001
        if self.faults.decide("EHLO") == "drop":
            return [hang_up(server)]
        session.host_name = hostname
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # noqa: ANN001
        match self.faults.decide("MAIL"):
            case "drop":
                return hang_up(server)
            case "451":
                return "451 4.3.0 Try again later"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: ANN001
        match self.faults.decide("RCPT"):
            case "drop":
                return hang_up(server)
            case "451":
                return "451 4.3.0 Try again later"
        if self.defer_all or address in self.defer:
            return "451 4.3.0 Try again later"
        if address in self.refuse:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001
        match self.faults.decide("DATA"):
            case "drop":
                return hang_up(server)
            case "451":
                return "451 4.3.0 Try again later"
        if self.delay:
            await asyncio.sleep(self.delay)
        auth = session.auth_data
        user = auth.login.decode() if isinstance(auth, LoginPassword) else None
        with self.lock:
            self.received.append(
                Received(
                    session.peer,
                    envelope.mail_from,
                    list(envelope.rcpt_tos),
                    bytes(envelope.original_content or envelope.content),
                    user,
                )
            )
        if self.faults.drop_after_accepting():
            # Hang up once the 250 is on its way: the client finds out at its next command.
            asyncio.get_running_loop().call_soon(server.transport.close)
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        with self.lock:
            return [item.message for item in self.received]

    def connections(self) -> set[Any]:
        with self.lock:
            return {item.peer for item in self.received}


def authenticator(server, session, envelope, mechanism, auth_data):  # noqa: ANN001
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login.decode() == USERNAME
        and auth_data.password.decode() == PASSWORD
    )
    return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


class SmtpSink:
    """``mode``: "none" (plain), "starttls" (STARTTLS required, login offered) or "ssl"."""

    def __init__(self, mode: str = "none", certificate: tuple[Path, Path] | None = None) -> None:
        self.collector = Collector()
        self.port = free_port()
        kwargs: dict[str, Any] = {}
        if mode != "none":
            assert certificate is not None
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(certificate[0]), str(certificate[1]))
            kwargs["authenticator"] = authenticator
            if mode == "starttls":
                kwargs.update(tls_context=context, require_starttls=True)
            else:
                # aiosmtpd does not count implicit TLS as TLS when offering AUTH.
                kwargs.update(ssl_context=context, auth_require_tls=False)
        self.controller = Controller(self.collector, hostname="127.0.0.1", port=self.port, **kwargs)

    def __enter__(self) -> SmtpSink:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    @property
    def received(self) -> list[Received]:
        return self.collector.received


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1/localhost, made with the openssl tool."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key
