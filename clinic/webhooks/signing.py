"""Endpoint secrets (made, kept encrypted at rest) and the signature every delivery carries.

The signature header is ``Clinic-Signature: t=<unix seconds>,v1=<hex>``, where ``<hex>`` is
HMAC-SHA256 with the endpoint's secret over ``"<t>.<raw body>"``. A receiver recomputes it
over the bytes it received (before parsing the JSON), compares in constant time, and refuses
a ``t`` more than a few minutes from its own clock (a replayed request). ``verify`` is that
check, for receivers written in Python and for the tests.

The secret must be readable to sign, so it cannot be hashed like an API token. It is
encrypted with Fernet (AES-128-CBC and HMAC-SHA256) under a key derived from the app's
``SECRET_KEY``: a copy of the database alone does not give the secrets away. Changing
``SECRET_KEY`` makes them unreadable; deliveries then fail saying so, and an admin sets a new
secret on the endpoint page.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SIGNATURE_HEADER = "Clinic-Signature"
SECRET_PREFIX = "whsec_"
MIN_SECRET_LENGTH = 24
MAX_SECRET_LENGTH = 200
HINT_CHARACTERS = 4
DEFAULT_TOLERANCE_SECONDS = 300


class SecretUnreadable(Exception):
    """The stored secret was encrypted under another SECRET_KEY."""


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def secret_hint(secret: str) -> str:
    """Enough to tell two secrets apart (the prefix and four characters), too little to help
    anyone guess one."""
    prefix = SECRET_PREFIX if secret.startswith(SECRET_PREFIX) else ""
    return secret[: len(prefix) + HINT_CHARACTERS]


def _fernet(app_secret_key: str) -> Fernet:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"clinic webhook secrets"
    ).derive(app_secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt_secret(secret: str, *, app_secret_key: str) -> str:
    return _fernet(app_secret_key).encrypt(secret.encode()).decode("ascii")


def decrypt_secret(stored: str, *, app_secret_key: str) -> str:
    try:
        return _fernet(app_secret_key).decrypt(stored.encode("ascii")).decode()
    except (InvalidToken, ValueError) as error:
        raise SecretUnreadable from error


def signature(secret: str, *, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, *, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={signature(secret, timestamp=timestamp, body=body)}"


def verify(
    header: str,
    body: bytes,
    secret: str,
    *,
    now: int,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """Whether ``header`` is a valid signature of ``body`` made within the tolerance."""
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance_seconds:
        return False
    expected = signature(secret, timestamp=timestamp, body=body)
    return any(hmac.compare_digest(expected, given) for given in parts.get("v1", []))
