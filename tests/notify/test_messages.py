"""Every message kind, on every channel, carries the no-driving notice and the escort request."""

from __future__ import annotations

import datetime as dt

import icalendar
import pytest

from clinic.models import NO_DRIVING_NOTICE, Channel, NotificationKind
from clinic.notify.ics import invitation_ics
from clinic.notify.render import render_email, render_sms, when_text
from tests.notify.test_mail import SENDER, context

KINDS = [
    (NotificationKind.INVITE, None),
    (NotificationKind.UPDATE, None),
    (NotificationKind.CANCEL, None),
    (NotificationKind.REMINDER, 72 * 60),
    (NotificationKind.REMINDER, 24 * 60),
    (NotificationKind.REMINDER, 2 * 60),
]


def with_kind(kind, lead_minutes, channel=Channel.EMAIL):
    from dataclasses import replace

    return replace(context(kind), lead_minutes=lead_minutes, channel=channel)


@pytest.mark.parametrize(("kind", "lead_minutes"), KINDS)
def test_every_message_kind_carries_the_no_driving_notice(kind, lead_minutes):
    email_context = with_kind(kind, lead_minutes)
    rendered = render_email(email_context)
    sms = render_sms(with_kind(kind, lead_minutes, Channel.SMS))
    calendar = icalendar.Calendar.from_ical(invitation_ics(email_context, sender=SENDER))
    description = str(calendar.walk("VEVENT")[0]["DESCRIPTION"])
    flat_html = " ".join(rendered.html.split())
    for text in (rendered.text, flat_html, sms, description):
        assert NO_DRIVING_NOTICE in text
    # The escort request: the notice asks for one; email and calendar name who is on file.
    assert "Please bring an adult who can take you home." in sms
    for text in (rendered.text, flat_html, description):
        assert "Sam Garcia" in text
    # The treatment's own instructions travel with the full notice.
    for text in (rendered.text, flat_html, description):
        assert "Eat nothing for 4 hours before." in text


def test_messages_show_local_time_place_and_what_changed():
    invite = render_email(with_kind(NotificationKind.INVITE, None))
    assert "Tuesday 10 March 2026, 10:00 AM to 11:45 AM EDT" in invite.text
    assert "120 River Street" in invite.text
    assert invite.subject == "Booked: IV ketamine infusion on Tue 10 Mar at 10:00 AM"
    assert render_email(with_kind(NotificationKind.CANCEL, None)).subject.startswith("Cancelled")
    reminder = render_email(with_kind(NotificationKind.REMINDER, 24 * 60))
    assert reminder.subject.startswith("Reminder: IV ketamine infusion tomorrow")
    sms = render_sms(with_kind(NotificationKind.REMINDER, 120, Channel.SMS))
    assert "in 2 hours, Tue 10 Mar 10:00 AM at Riverside, 120 River Street" in sms
    # A locked phone screen shows the text: it does not name the treatment.
    assert "infusion" not in sms.lower()


def test_html_body_escapes_what_it_shows():
    from dataclasses import replace

    unsafe = replace(context(), patient_name="<script>alert(1)</script>")
    html = render_email(unsafe).html
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_local_time_follows_daylight_saving():
    from dataclasses import replace

    winter = context()
    summer_facts = replace(
        winter.session,
        starts_at=dt.datetime(2026, 3, 6, 15, 0, tzinfo=dt.UTC),
        ends_at=dt.datetime(2026, 3, 6, 16, 45, tzinfo=dt.UTC),
    )
    # 15:00 UTC is 10:00 EST on 6 March and 11:00 EDT on 10 March (DST began 8 March).
    assert when_text(summer_facts).startswith("Friday 6 March 2026, 10:00 AM")
    assert when_text(summer_facts).endswith("EST")
    assert when_text(winter.session).endswith("EDT")
