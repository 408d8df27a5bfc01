"""The signature a receiver verifies, and the secret kept encrypted at rest."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from clinic.webhooks.signing import (
    SecretUnreadable,
    decrypt_secret,
    encrypt_secret,
    new_secret,
    signature_header,
    verify,
)

SECRET = "whsec_receiver-secret-0123456789abcdef"
BODY = b'{"id":"e1","type":"appointment.booked"}'
T = 1772452800


def test_the_header_is_hmac_sha256_over_timestamp_dot_body():
    header = signature_header(SECRET, timestamp=T, body=BODY)
    expected = hmac.new(SECRET.encode(), f"{T}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert header == f"t={T},v1={expected}"
    assert verify(header, BODY, SECRET, now=T + 10)


@pytest.mark.parametrize(
    ("body", "secret", "now"),
    [
        (BODY + b" ", SECRET, T),  # the body was changed
        (BODY, SECRET + "x", T),  # another secret
        (BODY, SECRET, T + 301),  # replayed too late
    ],
)
def test_a_changed_body_another_secret_or_an_old_timestamp_fails(body, secret, now):
    header = signature_header(SECRET, timestamp=T, body=BODY)
    assert not verify(header, body, secret, now=now)


def test_a_malformed_header_fails():
    for header in ("", "v1=abc", "t=soon,v1=abc", f"t={T}"):
        assert not verify(header, BODY, SECRET, now=T)


def test_the_secret_is_stored_encrypted_and_readable_only_with_the_same_key():
    secret = new_secret()
    assert secret.startswith("whsec_") and len(secret) > 40
    stored = encrypt_secret(secret, app_secret_key="key-one-" + "a" * 40)
    assert secret not in stored
    assert decrypt_secret(stored, app_secret_key="key-one-" + "a" * 40) == secret
    with pytest.raises(SecretUnreadable):
        decrypt_secret(stored, app_secret_key="key-two-" + "a" * 40)
