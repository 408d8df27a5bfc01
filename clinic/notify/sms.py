"""SMS backends: an HTTP gateway (form or JSON body, basic auth) and a file outbox.

Numbers are checked as E.164 before anything leaves. The file backend writes one ``.txt``
per message to ``<outbox>/sms`` and logs only the notification reference, never the number
or text: logs must not carry patient details.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from .errors import DeliveryError
from .mail import outbox_root
from .phone import InvalidPhoneNumber, normalise_e164

log = logging.getLogger("clinic.notify.sms")


@dataclass(frozen=True, slots=True)
class SmsMessage:
    to: str
    body: str
    reference: str  # stable per notification: gateways may use it to drop duplicates


class SmsBackend(Protocol):
    def send(self, message: SmsMessage) -> None: ...


def checked_number(raw: str | None) -> str:
    if not raw:
        raise DeliveryError("The patient has no mobile number.", permanent=True)
    try:
        return normalise_e164(raw)
    except InvalidPhoneNumber as error:
        raise DeliveryError(error.args[0], permanent=True) from error


_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class FileSmsBackend:
    def __init__(self, directory: Path, *, sender: str = "") -> None:
        self.directory = directory
        self.sender = sender

    def send(self, message: SmsMessage) -> None:
        to = checked_number(message.to)
        name = _SAFE_NAME.sub("_", message.reference) or "sms"
        path = self.directory / f"{name}.txt"
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            temporary.write_text(f"To: {to}\nFrom: {self.sender}\n\n{message.body}\n")
            os.replace(temporary, path)
        except OSError as error:
            raise DeliveryError(f"Could not write to the SMS outbox: {error.strerror}") from error
        log.info("sms %s written to the outbox", message.reference)


class HttpSmsBackend:
    """POSTs ``to``, ``from``, ``body`` and ``reference`` to a gateway URL.

    A 2xx answer is delivery; 4xx (other than 408 and 429) is a permanent refusal; anything
    else, including a timeout, is retried later.
    """

    def __init__(
        self,
        *,
        url: str,
        username: str = "",
        password: str = "",
        body: str = "form",
        sender: str = "",
        timeout: float = 15,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError("SMS_HTTP_URL must be an http:// or https:// address")
        if body not in ("form", "json"):
            raise ValueError("SMS_HTTP_BODY must be 'form' or 'json'")
        self.url = url
        self.username = username
        self.password = password
        self.body = body
        self.sender = sender
        self.timeout = timeout

    def request(self, message: SmsMessage) -> urllib.request.Request:
        fields = {
            "to": checked_number(message.to),
            "from": self.sender,
            "body": message.body,
            "reference": message.reference,
        }
        headers = {"Accept": "application/json, text/plain, */*"}
        if self.body == "json":
            data = json.dumps(fields).encode()
            headers["Content-Type"] = "application/json"
        else:
            data = urllib.parse.urlencode(fields).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.username or self.password:
            token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        return urllib.request.Request(self.url, data=data, headers=headers, method="POST")

    def send(self, message: SmsMessage) -> None:
        request = self.request(message)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except urllib.error.HTTPError as error:
            error.close()
            permanent = 400 <= error.code < 500 and error.code not in (408, 429)
            raise DeliveryError(
                f"The SMS gateway refused the message (HTTP {error.code}).", permanent=permanent
            ) from error
        except (urllib.error.URLError, OSError) as error:
            raise DeliveryError(
                f"The SMS gateway could not be reached: {type(error).__name__}"
            ) from error


def sms_backend_from_config(config: Mapping[str, Any], *, instance_path: str | Path) -> SmsBackend:
    backend = str(config.get("SMS_BACKEND", "file")).lower()
    sender = str(config.get("SMS_SENDER") or "")
    if backend == "file":
        return FileSmsBackend(outbox_root(config, instance_path) / "sms", sender=sender)
    if backend == "http":
        return HttpSmsBackend(
            url=str(config.get("SMS_HTTP_URL") or ""),
            username=str(config.get("SMS_HTTP_USERNAME") or ""),
            password=str(config.get("SMS_HTTP_PASSWORD") or ""),
            body=str(config.get("SMS_HTTP_BODY", "form")).lower(),
            sender=sender,
            timeout=float(config.get("SMS_HTTP_TIMEOUT", 15)),
        )
    raise ValueError(f"Unknown SMS_BACKEND {backend!r}: use 'http' or 'file'")
