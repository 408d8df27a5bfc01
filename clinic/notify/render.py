"""Message text: email subject, plain-text and HTML bodies, SMS text, calendar DESCRIPTION.

Every patient-facing text carries the no-driving notice (the treatment type's full notice in
email and calendar files; the short one in SMS) and asks for the escort. Email bodies are
Jinja templates under ``templates/notifications/email``; SMS text is kept short and leaves
out the treatment name, which would show on a locked phone screen.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

import jinja2

from ..models import NO_DRIVING_NOTICE, NotificationKind
from ..paths import TEMPLATES_DIR
from .context import MessageContext, SessionFacts

EMAIL_TEMPLATES = TEMPLATES_DIR / "notifications" / "email"


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(EMAIL_TEMPLATES)),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        # Templates ship with the code: no stat() of the file on every message.
        auto_reload=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


# --- times as the patient reads them -------------------------------------------------------


def clock_time(moment: dt.datetime) -> str:
    hour = moment.hour % 12 or 12
    return f"{hour}:{moment:%M} {'AM' if moment.hour < 12 else 'PM'}"


def long_date(moment: dt.datetime) -> str:
    return f"{moment:%A} {moment.day} {moment:%B %Y}"


def short_date(moment: dt.datetime) -> str:
    return f"{moment:%a} {moment.day} {moment:%b}"


def when_text(facts: SessionFacts) -> str:
    """``Tuesday 10 March 2026, 9:00 AM to 10:45 AM EDT`` in the location's time zone.

    Plain ASCII on purpose, here and in the calendar summary: a message whose text is all
    ASCII travels as 7bit, smaller and cheaper to build than base64."""
    start, end = facts.local_start, facts.local_end
    return f"{long_date(start)}, {clock_time(start)} to {clock_time(end)} {start.tzname()}"


def lead_text(lead_minutes: int | None) -> str:
    if not lead_minutes:
        return "soon"
    if lead_minutes % (24 * 60) == 0:
        days = lead_minutes // (24 * 60)
        return "tomorrow" if days == 1 else f"in {days} days"
    if lead_minutes % 60 == 0:
        hours = lead_minutes // 60
        return "in 1 hour" if hours == 1 else f"in {hours} hours"
    return f"in {lead_minutes} minutes"


def escort_text(facts: SessionFacts) -> str:
    if facts.escort_name:
        return (
            f"We have {facts.escort_name} down as the adult taking you home. "
            "If that changes, please let us know before your session."
        )
    return (
        "Please tell us before your session who will take you home: "
        "we cannot discharge you without an escort."
    )


# --- email -----------------------------------------------------------------------------


def subject(context: MessageContext) -> str:
    facts = context.session
    start = facts.local_start
    when = f"{short_date(start)} at {clock_time(start)}"
    match context.kind:
        case NotificationKind.INVITE:
            return f"Booked: {facts.treatment_name} on {when}"
        case NotificationKind.UPDATE:
            return f"Changed: your {facts.treatment_name} is now on {when}"
        case NotificationKind.CANCEL:
            return f"Cancelled: {facts.treatment_name} on {when}"
        case _:
            return f"Reminder: {facts.treatment_name} {lead_text(context.lead_minutes)}, {when}"


def headline(context: MessageContext) -> str:
    treatment = context.session.treatment_name
    match context.kind:
        case NotificationKind.INVITE:
            return f"Your {treatment} is booked."
        case NotificationKind.UPDATE:
            return f"Your {treatment} has moved to a new time."
        case NotificationKind.CANCEL:
            return f"Your {treatment} has been cancelled."
        case _:
            return f"A reminder: your {treatment} is {lead_text(context.lead_minutes)}."


def calendar_note(kind: NotificationKind) -> str:
    if kind is NotificationKind.CANCEL:
        return "The attached calendar file removes this session from your calendar."
    if kind is NotificationKind.UPDATE:
        return "The attached calendar file moves this session in your calendar."
    return "The attached calendar file adds this session to your calendar."


def render_email(context: MessageContext) -> RenderedEmail:
    facts = context.session
    values = {
        "clinic_name": context.clinic_name,
        "patient_name": context.patient_name,
        "headline": headline(context),
        "cancelled": context.kind is NotificationKind.CANCEL,
        "when": when_text(facts),
        "facts": facts,
        "notice": facts.treatment_notice,
        "escort": escort_text(facts),
        "calendar_note": calendar_note(context.kind),
    }
    text, html = _email_templates()
    return RenderedEmail(
        subject=subject(context), text=_render(text, values), html=_render(html, values)
    )


@functools.cache
def _email_templates() -> tuple[jinja2.Template, jinja2.Template]:
    environment = _environment()
    return environment.get_template("message.txt"), environment.get_template("message.html")


def _render(template: jinja2.Template, values: dict[str, object]) -> str:
    """``template.render(values)`` without copying the environment's globals (``range``,
    ``lipsum``...) into a fresh context for every message, which was half the time of
    rendering one; the email templates use none of them."""
    return "".join(template.root_render_func(template.new_context(values, shared=True)))


# --- SMS -------------------------------------------------------------------------------


def render_sms(context: MessageContext) -> str:
    facts = context.session
    start = facts.local_start
    when = f"{short_date(start)} {clock_time(start)}"
    place = facts.location_name
    if facts.location_address:
        place += f", {facts.location_address}"
    call = f" Questions: {facts.location_phone}." if facts.location_phone else ""
    match context.kind:
        case NotificationKind.INVITE:
            text = f"{context.clinic_name}: your session is booked for {when} at {place}."
        case NotificationKind.UPDATE:
            text = f"{context.clinic_name}: your session has moved to {when} at {place}."
        case NotificationKind.CANCEL:
            text = (
                f"{context.clinic_name}: your session on {when} at {place} is cancelled."
                " For every session:"
            )
        case _:
            text = (
                f"{context.clinic_name} reminder: your session is "
                f"{lead_text(context.lead_minutes)}, {when} at {place}."
            )
    return f"{text} {NO_DRIVING_NOTICE}{call}"


# --- calendar --------------------------------------------------------------------------


def calendar_summary(facts: SessionFacts, *, clinic_name: str) -> str:
    return f"{facts.treatment_name} at {clinic_name}"


def calendar_description(facts: SessionFacts, *, cancelled: bool = False) -> str:
    lines = []
    if cancelled:
        lines += ["This session has been cancelled.", ""]
    lines += [facts.treatment_notice, "", escort_text(facts)]
    if facts.location_phone:
        lines += ["", f"To change or cancel, call {facts.location_phone}."]
    return "\n".join(lines)
