"""Email: building the message (text + HTML + ``.ics``) and the backends that hand it over.

Backends are chosen in config (``[mail] backend``): ``smtp`` sends through a server
(STARTTLS, SSL or plain, optional login, a timeout); ``file`` writes ``.eml`` files to the
outbox directory (the embedded default). A backend opens a *connection* that is reused for
a whole dispatch run, so a batch of messages costs one SMTP handshake, not one each.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import logging
import os
import re
import smtplib
import ssl
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from email.header import Header
from email.utils import format_datetime, formataddr, parseaddr
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from .context import MessageContext, parse_sender
from .errors import DeliveryError
from .ics import invitation_ics, method_for
from .render import render_email

log = logging.getLogger("clinic.notify.mail")


@dataclass(frozen=True, slots=True)
class OutgoingEmail:
    """A message ready for the wire: RFC 5322 bytes with CRLF line ends, and its envelope."""

    envelope_from: str
    recipients: tuple[str, ...]
    message_id: str
    data: bytes


def build_email(context: MessageContext, *, sender: str, now: dt.datetime) -> OutgoingEmail:
    """``multipart/mixed``: a ``multipart/alternative`` of text, HTML and an inline
    ``text/calendar`` part (which Outlook and Gmail turn into accept/decline buttons), plus
    the same calendar as an ``invite.ics`` attachment for every other client.

    The MIME tree is written directly rather than through ``email.message.EmailMessage``:
    that API costs about 3 ms per message, more than the SMTP exchange itself, and the
    structure here is fixed. The tests parse every message back with the ``email`` package.
    """
    if not context.patient_email:
        raise DeliveryError("The patient has no email address.", permanent=True)
    rendered = render_email(context)
    facts = context.session
    sender_name, sender_address = parse_sender(sender)
    from_address = facts.location_email or sender_address
    message_id = context.message_id or f"<{uuid.uuid4().hex}@clinic.invalid>"
    method = method_for(context.kind)
    # Encoded once, used twice (inline part and attachment).
    ics_body = _encode_calendar(invitation_ics(context, sender=sender))
    boundary = _boundary()
    mixed, alternative = f"{boundary}_m", f"{boundary}_a"

    lines = [
        _address_header("From", _mailbox(context.clinic_name or sender_name, from_address)),
    ]
    if facts.location_email and facts.location_email != sender_address:
        lines.append(_address_header("Sender", _mailbox(sender_name, sender_address)))
    lines += [
        _address_header("To", _mailbox(context.patient_name, context.patient_email)),
        _header("Subject", rendered.subject),
        _header("Date", _date(now)),
        _header("Message-ID", message_id),
        _header("Auto-Submitted", "auto-generated"),
        _header("X-Clinic-Notification", str(context.notification_id)),
        b"MIME-Version: 1.0\r\n",
        f'Content-Type: multipart/mixed; boundary="{mixed}"\r\n\r\n'.encode(),
        f"--{mixed}\r\n".encode(),
        f'Content-Type: multipart/alternative; boundary="{alternative}"\r\n\r\n'.encode(),
        f"--{alternative}\r\n".encode(),
        _part('text/plain; charset="utf-8"', _encode_body(rendered.text)),
        f"--{alternative}\r\n".encode(),
        _part('text/html; charset="utf-8"', _encode_body(rendered.html)),
        f"--{alternative}\r\n".encode(),
        _part(f'text/calendar; charset="utf-8"; method={method}', ics_body),
        f"--{alternative}--\r\n".encode(),
        f"--{mixed}\r\n".encode(),
        _part(
            f'text/calendar; charset="utf-8"; method={method}; name="{_ics_name(method)}"',
            ics_body,
            disposition=f'attachment; filename="{_ics_name(method)}"',
        ),
        f"--{mixed}--\r\n".encode(),
    ]
    return OutgoingEmail(
        envelope_from=sender_address,
        recipients=(context.patient_email,),
        message_id=message_id,
        data=b"".join(lines),
    )


@functools.lru_cache(maxsize=8)
def _date(now: dt.datetime) -> str:
    # A batch of messages is built with one ``now``.
    return format_datetime(now.astimezone(dt.UTC))


def _ics_name(method: str) -> str:
    return "cancel.ics" if method == "CANCEL" else "invite.ics"


def _boundary() -> str:
    # "=_" cannot occur in base64 and is checked against 7bit parts in _part.
    return f"=_clinic_{uuid.uuid4().hex}"


_MAX_LINE = 998  # RFC 5322 hard limit, excluding CRLF


_LONGEST_WORD = 70  # a longer run of text without a space cannot be folded to fit a line


def _plain(text: str) -> bool:
    """ASCII whose every word fits a folded line: it can be written as is."""
    return text.isascii() and max(map(len, text.split()), default=0) <= _LONGEST_WORD


def _header(name: str, value: str) -> bytes:
    """One header field, ASCII only, folded at 78 columns (RFC 5322 2.1.1): other text, and
    words too long to fold (a line may never pass 998 octets), as RFC 2047 encoded words,
    which may be split anywhere. Line breaks in the value are removed, so nothing can
    inject a header."""
    value = " ".join(value.split())
    if value.isascii() and len(name) + len(value) + 2 <= 78:
        return f"{name}: {value}\r\n".encode("ascii")
    charset = "us-ascii" if _plain(value) else "utf-8"
    folded = Header(value, charset, header_name=name).encode(linesep="\r\n")
    return f"{name}: {folded}\r\n".encode("ascii")


def _mailbox(name: str, address: str) -> str:
    """``Name <address>`` for an address field, in ASCII (a non-ASCII name as an encoded
    word). A name too long for one line is written as several encoded words to fold
    between; the address itself is never split."""
    name = " ".join(name.split())
    mailbox = formataddr((name, address), "utf-8")
    if max(map(len, mailbox.split()), default=0) <= _MAX_LINE - 80:
        return mailbox
    words = Header(name, "utf-8").encode(linesep="\r\n").split()
    return f"{' '.join(words)} <{address}>"


def _address_header(name: str, value: str) -> bytes:
    """An address field folds only between words: encoded words must stay whole."""
    value = " ".join(value.split())
    if len(name) + len(value) + 2 <= 78:
        return f"{name}: {value}\r\n".encode("ascii")
    folded = Header(value, "us-ascii", header_name=name).encode(linesep="\r\n")
    return f"{name}: {folded}\r\n".encode("ascii")


def _encode_body(body: str) -> tuple[str, bytes]:
    """(Content-Transfer-Encoding, payload): 7bit for ASCII text with short lines, else
    base64. Either way the text has CRLF line ends (RFC 2046 canonical form, and RFC 5545
    for the calendar part): base64 encodes the CRLFs, so a decoder gets them back."""
    text = body.replace("\r\n", "\n").replace("\r", "\n")
    if not text.endswith("\n"):
        text += "\n"
    canonical = text.replace("\n", "\r\n")
    if text.isascii() and "=_clinic_" not in text and max(map(len, text.split("\n"))) <= _MAX_LINE:
        return "7bit", canonical.encode("ascii")
    return "base64", base64.encodebytes(canonical.encode("utf-8")).replace(b"\n", b"\r\n")


def _encode_calendar(ics: bytes) -> tuple[str, bytes]:
    """:func:`_encode_body` for a calendar file, which ``clinic.notify.ics`` writes with CRLF
    line ends and folded at 75 octets already."""
    if ics.isascii() and b"=_clinic_" not in ics:
        return "7bit", ics
    return "base64", base64.encodebytes(ics).replace(b"\n", b"\r\n")


def _part(content_type: str, body: tuple[str, bytes], *, disposition: str | None = None) -> bytes:
    encoding, payload = body
    headers = f"Content-Type: {content_type}\r\n"
    if disposition:
        headers += f"Content-Disposition: {disposition}\r\n"
    return f"{headers}Content-Transfer-Encoding: {encoding}\r\n\r\n".encode() + payload


# --- backends --------------------------------------------------------------------------


class EmailConnection(Protocol):
    """``begin`` hands a message over; ``end`` waits for the server to confirm it. Between the
    two the caller may build the next message while the server works on this one."""

    def begin(self, message: OutgoingEmail) -> None: ...

    def end(self) -> None: ...

    def send(self, message: OutgoingEmail) -> None: ...

    def close(self) -> None: ...


class EmailBackend(Protocol):
    def open(self) -> EmailConnection: ...


class _Connection:
    def __enter__(self) -> _Connection:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def begin(self, message: OutgoingEmail) -> None:
        raise NotImplementedError

    def end(self) -> None:
        pass

    def send(self, message: OutgoingEmail) -> None:
        self.begin(message)
        self.end()

    def close(self) -> None:
        pass


_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class FileEmailBackend:
    """Writes each message as ``<directory>/<message-id>.eml``; a retry rewrites the same
    file, so the outbox holds each message once."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def open(self) -> FileEmailConnection:
        self.directory.mkdir(parents=True, exist_ok=True)
        return FileEmailConnection(self.directory)


class FileEmailConnection(_Connection):
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def begin(self, message: OutgoingEmail) -> None:
        name = _SAFE_NAME.sub("_", message.message_id.strip("<>"))[:180] or uuid.uuid4().hex
        path = self.directory / f"{name}.eml"
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        try:
            temporary.write_bytes(message.data)
            os.replace(temporary, path)
        except OSError as error:
            raise DeliveryError(f"Could not write to the mail outbox: {error.strerror}") from error


class SmtpEmailBackend:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        security: str = "starttls",
        username: str = "",
        password: str = "",
        timeout: float = 30,
        envelope_sender: str = "",
        ca_file: str | None = None,
    ) -> None:
        if security not in ("starttls", "ssl", "none"):
            raise ValueError("MAIL_SMTP_SECURITY must be 'starttls', 'ssl' or 'none'")
        self.host = host
        self.port = port
        self.security = security
        self.username = username
        self.password = password
        self.timeout = timeout
        self.envelope_sender = envelope_sender
        self.ca_file = ca_file

    def tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file or None)

    def connect(self) -> smtplib.SMTP:
        try:
            client: smtplib.SMTP
            if self.security == "ssl":
                client = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=self.tls_context()
                )
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            try:
                client.ehlo_or_helo_if_needed()
                if self.security == "starttls":
                    client.starttls(context=self.tls_context())
                    client.ehlo()
                if self.username:
                    client.login(self.username, self.password)
            except BaseException:
                client.close()
                raise
        except smtplib.SMTPAuthenticationError as error:
            raise DeliveryError(
                f"The mail server refused the login ({error.smtp_code})."
            ) from error
        except (smtplib.SMTPException, OSError) as error:
            raise DeliveryError(
                f"Could not connect to the mail server {self.host}:{self.port}: "
                f"{type(error).__name__}"
            ) from error
        return client

    def open(self) -> SmtpEmailConnection:
        return SmtpEmailConnection(self)


def _dot_stuffed(data: bytes) -> bytes:
    """The DATA payload (RFC 5321 4.5.2): leading dots doubled, ended by CRLF . CRLF."""
    data = _LEADING_DOT.sub(b"..", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


_LEADING_DOT = re.compile(rb"(?m)^\.")


class SmtpEmailConnection(_Connection):
    """One SMTP session, opened on first use and reopened whenever it was lost.

    ``begin`` runs MAIL, RCPT and DATA and sends the content; ``end`` reads the server's
    final answer. The dispatcher builds the next message in between, so its own work
    overlaps the server's instead of adding to it.

    A failure costs an attempt only to the message it hit: the next message gets a fresh
    connection. Only after ``GIVE_UP_AFTER`` connects in a row have failed are the rest of
    the run's messages handed back untried (``attempted=False``), so a server that is down
    is not hammered and no message loses attempts to another's failure.
    """

    GIVE_UP_AFTER = 2

    def __init__(self, backend: SmtpEmailBackend) -> None:
        self.backend = backend
        self.client: smtplib.SMTP | None = None
        self.awaiting_reply = False
        self.failed_connects = 0
        self.last_connect_error = ""

    def _connect(self) -> smtplib.SMTP:
        if self.failed_connects >= self.GIVE_UP_AFTER:
            raise DeliveryError(
                f"Not tried: the mail server could not be reached just before "
                f"({self.last_connect_error}).",
                attempted=False,
            )
        try:
            client = self.backend.connect()
        except DeliveryError as error:
            self.failed_connects += 1
            self.last_connect_error = error.message
            raise
        self.failed_connects = 0
        return client

    def begin(self, message: OutgoingEmail) -> None:
        if self.awaiting_reply:
            self.end()
        for attempt in (1, 2):
            if self.client is None:
                self.client = self._connect()
            try:
                self._hand_over(self.client, message)
            except smtplib.SMTPServerDisconnected as error:
                # The server hung up (an idle session it dropped, or a restart): one fresh
                # connection for this message, then give up on it.
                self._drop()
                if attempt == 2:
                    raise DeliveryError(
                        f"The mail server closed the connection ({type(error).__name__})."
                    ) from error
                continue
            except (smtplib.SMTPException, OSError) as error:
                self._drop()
                raise DeliveryError(
                    f"Sending to the mail server failed: {type(error).__name__}"
                ) from error
            self.awaiting_reply = True
            return

    def _hand_over(self, client: smtplib.SMTP, message: OutgoingEmail) -> None:
        code, _ = client.mail(self.backend.envelope_sender or message.envelope_from)
        if code != 250:
            self._reset()
            raise DeliveryError(
                f"The mail server refused the sender ({code}).", permanent=code >= 500
            )
        for recipient in message.recipients:
            code, _ = client.rcpt(recipient)
            if code not in (250, 251):
                self._reset()
                raise DeliveryError(
                    f"The mail server refused the recipient ({code}).", permanent=code >= 500
                )
        code, _ = client.docmd("DATA")
        if code != 354:
            self._reset()
            raise DeliveryError(
                f"The mail server refused the message ({code}).", permanent=code >= 500
            )
        client.send(_dot_stuffed(message.data))

    def end(self) -> None:
        if not self.awaiting_reply or self.client is None:
            return
        self.awaiting_reply = False
        try:
            code, _ = self.client.getreply()
        except (smtplib.SMTPException, OSError) as error:
            self._drop()
            raise DeliveryError(
                f"The mail server did not confirm the message ({type(error).__name__}); "
                "it will be sent again."
            ) from error
        if code != 250:
            raise DeliveryError(
                f"The mail server refused the message ({code}).", permanent=code >= 500
            )

    def _reset(self) -> None:
        """Abandon the current mail transaction; drop the session if even that fails."""
        try:
            if self.client is not None:
                self.client.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()

    def _drop(self) -> None:
        self.awaiting_reply = False
        if self.client is not None:
            try:
                self.client.close()
            finally:
                self.client = None

    def close(self) -> None:
        if self.client is None:
            return
        try:
            self.end()
            self.client.quit()
        except (DeliveryError, smtplib.SMTPException, OSError):
            pass
        finally:
            self._drop()


def outbox_root(config: Mapping[str, Any], instance_path: str | Path) -> Path:
    """``OUTBOX_DIR`` if set, else ``<instance>/outbox``."""
    configured = config.get("OUTBOX_DIR")
    return Path(configured) if configured else Path(instance_path) / "outbox"


def email_backend_from_config(
    config: Mapping[str, Any], *, instance_path: str | Path
) -> EmailBackend:
    backend = str(config.get("MAIL_BACKEND", "file")).lower()
    if backend == "file":
        return FileEmailBackend(outbox_root(config, instance_path) / "mail")
    if backend == "smtp":
        sender = str(config.get("MAIL_SENDER", ""))
        return SmtpEmailBackend(
            host=str(config.get("MAIL_SMTP_HOST", "localhost")),
            port=int(config.get("MAIL_SMTP_PORT", 587)),
            security=str(config.get("MAIL_SMTP_SECURITY", "starttls")).lower(),
            username=str(config.get("MAIL_SMTP_USERNAME") or ""),
            password=str(config.get("MAIL_SMTP_PASSWORD") or ""),
            timeout=float(config.get("MAIL_SMTP_TIMEOUT", 30)),
            envelope_sender=parseaddr(sender)[1],
            ca_file=config.get("MAIL_SMTP_CA_FILE") or None,
        )
    raise ValueError(f"Unknown MAIL_BACKEND {backend!r}: use 'smtp' or 'file'")
