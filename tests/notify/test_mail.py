"""Email: the message's shape, and the SMTP and file backends against real endpoints."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from dataclasses import replace

import pytest

from clinic.models import NO_DRIVING_NOTICE, Channel, NotificationKind
from clinic.notify.context import MessageContext, SessionFacts
from clinic.notify.errors import DeliveryError
from clinic.notify.mail import (
    FileEmailBackend,
    SmtpEmailBackend,
    build_email,
    email_backend_from_config,
)
from clinic.notify.render import subject
from tests.builders import NOW
from tests.notify.smtp_sink import PASSWORD, USERNAME, SmtpSink

SENDER = "Ketamine Clinic <appointments@clinic.example>"


def context(kind=NotificationKind.INVITE, *, email="olivia@example.com", notification_id=7):
    facts = SessionFacts(
        calendar_uid="6f1c@clinic",
        calendar_sequence=2,
        starts_at=dt.datetime(2026, 3, 10, 14, 0, tzinfo=dt.UTC),
        ends_at=dt.datetime(2026, 3, 10, 15, 45, tzinfo=dt.UTC),
        tzid="America/New_York",
        treatment_name="IV ketamine infusion",
        treatment_notice=f"{NO_DRIVING_NOTICE} Eat nothing for 4 hours before.",
        location_name="Riverside",
        location_address="120 River Street, Hoboken, NJ 07030",
        location_phone="+12015550100",
        location_email="riverside@clinic.example",
        escort_name="Sam Garcia",
    )
    return MessageContext(
        notification_id=notification_id,
        kind=kind,
        channel=Channel.EMAIL,
        message_id=f"<msg-{notification_id}@clinic.example>",
        calendar_sequence=2,
        created_at=NOW,
        lead_minutes=1440 if kind is NotificationKind.REMINDER else None,
        clinic_name="Ketamine Clinic",
        patient_name="Olivia Garcia",
        patient_email=email,
        patient_phone="+12015550123",
        session=facts,
    )


@pytest.mark.parametrize(
    ("kind", "method"), [(NotificationKind.INVITE, "REQUEST"), (NotificationKind.CANCEL, "CANCEL")]
)
def test_email_has_text_html_and_calendar_parts(kind, method):
    message = build_email(context(kind), sender=SENDER, now=NOW)
    parsed = email.message_from_bytes(message.data, policy=email.policy.default)
    assert parsed.get_content_type() == "multipart/mixed"
    alternative = parsed.get_payload()[0]
    assert alternative.get_content_type() == "multipart/alternative"
    types = [part.get_content_type() for part in alternative.iter_parts()]
    assert types == ["text/plain", "text/html", "text/calendar"]
    assert alternative.get_payload()[2].get_param("method") == method
    attachment = parsed.get_payload()[1]
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_param("method") == method
    assert attachment.get_content_disposition() == "attachment"
    assert attachment.get_filename().endswith(".ics")
    assert f"METHOD:{method}" in attachment.get_content()
    assert parsed["Message-ID"] == "<msg-7@clinic.example>"
    assert parsed["To"] == "Olivia Garcia <olivia@example.com>"
    assert "riverside@clinic.example" in parsed["From"]
    assert parsed["Sender"] == SENDER


@pytest.mark.parametrize(
    "long",
    [
        {"treatment_name": "Ketamine" * 150},  # one 1,200-character word in the subject
        {"location_name": "Ríverside Clinic " * 80},  # non-ASCII, in every part
        {"treatment_notice": f"{NO_DRIVING_NOTICE} " * 40},  # a 4,000-character body line
        {"patient_name": "Zoë " + "N" * 1200},  # a display name with no space to fold at
    ],
    ids=["word", "non-ascii", "body-line", "name"],
)
def test_no_line_passes_998_octets_and_every_part_decodes(long):
    """RFC 5322 2.1.1: a line is at most 998 octets. The message is 7-bit (no 8BITMIME is
    asked for): long or non-ASCII text travels as encoded words or base64 and decodes back
    to what was written."""
    base = context()
    facts = {key: value for key, value in long.items() if key != "patient_name"}
    message_context = replace(
        base,
        patient_name=long.get("patient_name", base.patient_name),
        session=replace(base.session, **facts),
    )
    data = build_email(message_context, sender=SENDER, now=NOW).data
    lines = data.split(b"\r\n")
    assert data.isascii()
    assert data.count(b"\n") == data.count(b"\r\n")
    assert max(len(line) for line in lines) <= 998
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert not parsed.defects
    assert str(parsed["Subject"]) == subject(message_context)
    text = parsed.get_payload()[0].get_payload()[0]
    assert not text.defects
    body = text.get_content()
    for value in long.values():
        if "patient_name" not in long:
            assert " ".join(value.split()) in " ".join(body.split())
    if "patient_name" in long:
        # Mail readers join adjacent encoded words (RFC 2047 6.2); Python's parser keeps a
        # space between them in an address, so compare without spaces.
        (address,) = parsed["To"].addresses
        assert address.display_name.replace(" ", "") == long["patient_name"].replace(" ", "")
        assert address.addr_spec == "olivia@example.com"


def test_email_to_a_patient_without_address_fails_permanently():
    with pytest.raises(DeliveryError) as raised:
        build_email(context(email=None), sender=SENDER, now=NOW)
    assert raised.value.permanent


def test_smtp_backend_delivers_over_one_connection(smtp_sink):
    backend = SmtpEmailBackend(host="127.0.0.1", port=smtp_sink.port, security="none", timeout=5)
    connection = backend.open()
    try:
        for n in range(3):
            connection.send(build_email(context(notification_id=n), sender=SENDER, now=NOW))
    finally:
        connection.close()
    messages = smtp_sink.collector.messages()
    assert [m["Message-ID"] for m in messages] == [f"<msg-{n}@clinic.example>" for n in range(3)]
    assert len(smtp_sink.collector.connections()) == 1
    body = messages[0].get_body(("plain",)).get_content()
    assert NO_DRIVING_NOTICE in body


def test_smtp_backend_with_starttls_and_login(certificate):
    with SmtpSink("starttls", certificate) as sink:
        backend = SmtpEmailBackend(
            host="localhost", port=sink.port, security="starttls", username=USERNAME,
            password=PASSWORD, timeout=5, ca_file=str(certificate[0]),
        )  # fmt: skip
        connection = backend.open()
        connection.send(build_email(context(), sender=SENDER, now=NOW))
        connection.close()
        assert [item.authenticated_as for item in sink.received] == [USERNAME]


def test_smtp_backend_wrong_password_is_reported(certificate):
    with SmtpSink("starttls", certificate) as sink:
        backend = SmtpEmailBackend(
            host="localhost", port=sink.port, security="starttls", username=USERNAME,
            password="wrong", timeout=5, ca_file=str(certificate[0]),
        )  # fmt: skip
        connection = backend.open()
        with pytest.raises(DeliveryError, match="refused the login"):
            connection.send(build_email(context(), sender=SENDER, now=NOW))
        assert sink.received == []


def test_smtp_backend_over_ssl(certificate):
    with SmtpSink("ssl", certificate) as sink:
        backend = SmtpEmailBackend(
            host="localhost", port=sink.port, security="ssl", username=USERNAME,
            password=PASSWORD, timeout=5, ca_file=str(certificate[0]),
        )  # fmt: skip
        connection = backend.open()
        connection.send(build_email(context(), sender=SENDER, now=NOW))
        connection.close()
        assert len(sink.received) == 1


def test_smtp_refused_recipient_is_permanent_and_deferral_is_not(smtp_sink):
    backend = SmtpEmailBackend(host="127.0.0.1", port=smtp_sink.port, security="none", timeout=5)
    smtp_sink.collector.refuse.add("olivia@example.com")
    connection = backend.open()
    with pytest.raises(DeliveryError) as refused:
        connection.send(build_email(context(), sender=SENDER, now=NOW))
    assert refused.value.permanent
    smtp_sink.collector.refuse.clear()
    smtp_sink.collector.defer_all = True
    with pytest.raises(DeliveryError) as deferred:
        connection.send(build_email(context(), sender=SENDER, now=NOW))
    assert not deferred.value.permanent
    connection.close()


def test_unreachable_smtp_server_is_a_retryable_failure():
    from tests.notify.smtp_sink import free_port

    backend = SmtpEmailBackend(host="127.0.0.1", port=free_port(), security="none", timeout=2)
    with pytest.raises(DeliveryError) as raised:
        backend.open().send(build_email(context(), sender=SENDER, now=NOW))
    assert not raised.value.permanent


def test_file_backend_writes_eml_once_per_message(tmp_path):
    backend = FileEmailBackend(tmp_path / "mail")
    connection = backend.open()
    message = build_email(context(), sender=SENDER, now=NOW)
    connection.send(message)
    connection.send(message)  # a retry rewrites the same file
    files = list((tmp_path / "mail").glob("*.eml"))
    assert len(files) == 1
    parsed = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert parsed["Message-ID"] == "<msg-7@clinic.example>"


def test_backend_from_config_uses_outbox_dir_or_instance(tmp_path):
    default = email_backend_from_config({"MAIL_BACKEND": "file"}, instance_path=tmp_path)
    assert isinstance(default, FileEmailBackend)
    assert default.directory == tmp_path / "outbox" / "mail"
    override = email_backend_from_config(
        {"MAIL_BACKEND": "file", "OUTBOX_DIR": str(tmp_path / "elsewhere")}, instance_path=tmp_path
    )
    assert override.directory == tmp_path / "elsewhere" / "mail"
    smtp = email_backend_from_config(
        {
            "MAIL_BACKEND": "smtp",
            "MAIL_SMTP_HOST": "mail.example",
            "MAIL_SMTP_PORT": 465,
            "MAIL_SMTP_SECURITY": "ssl",
            "MAIL_SMTP_TIMEOUT": 7,
            "MAIL_SENDER": SENDER,
        },
        instance_path=tmp_path,
    )
    assert isinstance(smtp, SmtpEmailBackend)
    assert (smtp.host, smtp.port, smtp.security, smtp.timeout) == ("mail.example", 465, "ssl", 7)
    assert smtp.envelope_sender == "appointments@clinic.example"
    with pytest.raises(ValueError, match="MAIL_BACKEND"):
        email_backend_from_config({"MAIL_BACKEND": "pigeon"}, instance_path=tmp_path)
