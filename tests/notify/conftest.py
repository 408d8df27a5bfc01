"""Fixtures for the notification tests: an SMTP server, a TLS certificate, a dispatcher."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from clinic.notify.dispatcher import Dispatcher, DispatchSettings
from clinic.notify.mail import SmtpEmailBackend
from clinic.notify.sms import FileSmsBackend
from tests.notify.smtp_sink import SmtpSink, make_certificate


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    with SmtpSink() as sink:
        yield sink


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("the openssl tool is needed to make a test certificate")
    return make_certificate(tmp_path_factory.mktemp("tls"))


def smtp_dispatcher(sink: SmtpSink, sms_dir: Path, **settings: int | str) -> Dispatcher:
    return Dispatcher(
        settings=DispatchSettings(**settings),  # type: ignore[arg-type]
        email_backend=SmtpEmailBackend(
            host="127.0.0.1", port=sink.port, security="none", timeout=5,
            envelope_sender="appointments@clinic.example",
        ),
        sms_backend=FileSmsBackend(sms_dir),
        worker="test-worker",
    )  # fmt: skip
