"""The dispatcher: claim due notifications, send them, record the outcome.

Each batch runs in three steps so that no database transaction is open while talking to a
mail server or SMS gateway:

1. **Claim** (one short transaction): return stale claims to the queue, pick due rows
   (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so any number of workers on any number of
   machines take disjoint rows; on SQLite the IMMEDIATE transaction serialises claimers),
   mark them ``sending`` with ``claimed_at``/``claimed_by`` and read everything the message
   needs into plain data.
2. **Send**, outside any transaction, over one mail connection reused for the whole run.
3. **Record** (another short transaction): ``sent``, or back to ``pending`` with an
   exponential backoff, or ``failed`` once the attempts are used up or the failure is
   permanent.

A worker that dies between 1 and 3 leaves rows in ``sending``; once their claim is older
than the claim timeout the next batch puts them back in the queue. Delivery is therefore at
least once, and a resent email carries the Message-ID fixed when it was queued.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import socket
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..models import (
    RELEASED_STATUSES,
    Appointment,
    Channel,
    Location,
    Notification,
    NotificationKind,
    NotificationStatus,
    Patient,
    TreatmentType,
)
from .context import CLAIM_COLUMNS, MessageContext, context_from_row
from .errors import DeliveryError
from .mail import EmailBackend, EmailConnection, OutgoingEmail, build_email
from .render import render_sms
from .sms import SmsBackend, SmsMessage

log = logging.getLogger("clinic.notify.dispatch")
T = TypeVar("T")
R = TypeVar("R")

Status = NotificationStatus


@dataclass(frozen=True, slots=True)
class DispatchSettings:
    batch_size: int = 50
    max_attempts: int = 6
    backoff_seconds: int = 60  # before the first retry; doubles with each further attempt
    claim_timeout_seconds: int = 300
    # Mail connections used side by side: while one waits for the server's answer, another
    # message is being built, and the server works on two sessions at once.
    connections: int = 2
    clinic_name: str = "Ketamine Clinic"
    sender: str = "Ketamine Clinic <appointments@clinic.example>"

    def retry_delay(self, attempts: int) -> dt.timedelta:
        return dt.timedelta(seconds=self.backoff_seconds * 2 ** max(attempts - 1, 0))


def dispatch_settings_from_config(config: Mapping[str, Any]) -> DispatchSettings:
    defaults = DispatchSettings()
    settings = DispatchSettings(
        batch_size=int(config.get("DISPATCH_BATCH_SIZE", defaults.batch_size)),
        max_attempts=int(config.get("DISPATCH_MAX_ATTEMPTS", defaults.max_attempts)),
        backoff_seconds=int(config.get("DISPATCH_BACKOFF_SECONDS", defaults.backoff_seconds)),
        claim_timeout_seconds=int(
            config.get("DISPATCH_CLAIM_TIMEOUT_SECONDS", defaults.claim_timeout_seconds)
        ),
        connections=int(config.get("DISPATCH_CONNECTIONS", defaults.connections)),
        clinic_name=str(config.get("CLINIC_NAME") or defaults.clinic_name),
        sender=str(config.get("MAIL_SENDER") or defaults.sender),
    )
    if min(settings.batch_size, settings.max_attempts, settings.connections) < 1:
        raise ValueError(
            "DISPATCH_BATCH_SIZE, DISPATCH_MAX_ATTEMPTS and DISPATCH_CONNECTIONS must be at least 1"
        )
    if settings.backoff_seconds < 0 or settings.claim_timeout_seconds < 1:
        raise ValueError("DISPATCH_BACKOFF_SECONDS and DISPATCH_CLAIM_TIMEOUT_SECONDS are invalid")
    return settings


def worker_name() -> str:
    """Who holds a claim: host, process and a random suffix (pids are reused)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True, slots=True)
class Claimed:
    context: MessageContext
    attempts: int  # including this one


@dataclass(frozen=True, slots=True)
class Outcome:
    notification_id: int
    attempts: int
    error: DeliveryError | None = None


@dataclass(slots=True)
class DispatchTotals:
    batches: int = 0
    examined: int = 0  # due rows taken from the queue, including those skipped
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    skipped: int = 0
    released: int = 0  # stale claims returned to the queue

    def add(self, other: DispatchTotals) -> None:
        for item in fields(self):
            setattr(self, item.name, getattr(self, item.name) + getattr(other, item.name))


# --- 1. claim --------------------------------------------------------------------------


def release_stale_claims(session: Session, *, now: dt.datetime, settings: DispatchSettings) -> int:
    """Rows left ``sending`` by a worker that died go back to the queue, due now (or fail,
    when that was their last attempt). Runs inside the claim transaction."""
    message = "The worker sending this stopped before finishing"
    out_of_attempts = Notification.attempts >= settings.max_attempts
    result = cast(
        "sa.CursorResult[Any]",
        session.execute(
            sa.update(Notification)
            .where(
                Notification.status == Status.SENDING,
                Notification.claimed_at
                < now - dt.timedelta(seconds=settings.claim_timeout_seconds),
            )
            .values(
                status=sa.case((out_of_attempts, Status.FAILED.value), else_=Status.PENDING.value),
                due_at=now,
                claimed_at=None,
                last_error=sa.case(
                    (out_of_attempts, message + "; no attempts left."), else_=message + "."
                ),
            )
            .execution_options(synchronize_session=False)
        ),
    )
    return int(result.rowcount or 0)


def _not_worth_sending(row: Any, now: dt.datetime) -> tuple[Status, str] | None:
    """A reminder is never sent for a session that was cancelled or has already begun."""
    if row.kind is not NotificationKind.REMINDER:
        return None
    if row.appointment_status in RELEASED_STATUSES:
        return Status.WITHDRAWN, "The session is no longer booked."
    if row.starts_at <= now:
        return Status.SKIPPED, "The session had started before the reminder could be sent."
    return None


def claim_due(
    session: Session, *, now: dt.datetime, worker: str, settings: DispatchSettings
) -> tuple[list[Claimed], DispatchTotals]:
    """Step 1, in its own transaction (committed here): one joined SELECT that locks the
    notification rows it returns, and one UPDATE that marks them claimed."""
    totals = DispatchTotals()
    try:
        totals.released = release_stale_claims(session, now=now, settings=settings)
        rows = session.execute(
            sa.select(*CLAIM_COLUMNS)
            .join(Appointment, Notification.appointment_id == Appointment.id)
            .join(Patient, Appointment.patient_id == Patient.id)
            .join(Location, Appointment.location_id == Location.id)
            .join(TreatmentType, Appointment.treatment_type_id == TreatmentType.id)
            .where(Notification.status == Status.PENDING, Notification.due_at <= now)
            .order_by(Notification.due_at, Notification.id)
            .limit(settings.batch_size)
            .with_for_update(skip_locked=True, of=Notification)
        ).all()
        totals.examined = len(rows)
        claimed: list[Claimed] = []
        for row in rows:
            verdict = _not_worth_sending(row, now)
            if verdict is not None:
                status, reason = verdict
                session.execute(
                    sa.update(Notification)
                    .where(Notification.id == row.id)
                    .values(status=status, last_error=reason)
                    .execution_options(synchronize_session=False)
                )
                totals.skipped += 1
                continue
            context = context_from_row(row, clinic_name=settings.clinic_name)
            claimed.append(Claimed(context, attempts=row.attempts + 1))
        if claimed:
            session.execute(
                sa.update(Notification)
                .where(Notification.id.in_([c.context.notification_id for c in claimed]))
                .values(
                    status=Status.SENDING,
                    claimed_at=now,
                    claimed_by=worker,
                    attempts=Notification.attempts + 1,
                )
                .execution_options(synchronize_session=False)
            )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return claimed, totals


# --- 2. send ---------------------------------------------------------------------------


class Sender:
    """Hands messages to the backends over one mail connection, opened on first use."""

    def __init__(
        self, *, email_backend: EmailBackend, sms_backend: SmsBackend, settings: DispatchSettings
    ) -> None:
        self.email_backend = email_backend
        self.sms_backend = sms_backend
        self.settings = settings
        self._email: EmailConnection | None = None

    def build(self, context: MessageContext, *, now: dt.datetime) -> OutgoingEmail | SmsMessage:
        if context.channel is Channel.EMAIL:
            return build_email(context, sender=self.settings.sender, now=now)
        return SmsMessage(
            to=context.patient_phone or "",
            body=render_sms(context),
            reference=f"notification-{context.notification_id}",
        )

    @property
    def email(self) -> EmailConnection:
        if self._email is None:
            self._email = self.email_backend.open()
        return self._email

    def close(self) -> None:
        if self._email is not None:
            self._email.close()
            self._email = None


def _attempt(item: Claimed, step: Callable[[T], R], argument: T) -> tuple[R | None, Outcome]:
    """Run one step for one notification; a failure becomes its outcome, never an exception
    that would stop the rest of the batch."""
    notification_id = item.context.notification_id
    try:
        result = step(argument)
    except DeliveryError as error:
        return None, Outcome(notification_id, item.attempts, error)
    except Exception as error:  # a bug or bad data
        log.exception("notification %s could not be built or sent", notification_id)
        failure = DeliveryError(
            f"The message could not be built ({type(error).__name__}).", permanent=True
        )
        return None, Outcome(notification_id, item.attempts, failure)
    return result, Outcome(notification_id, item.attempts)


def send_claimed(claimed: Iterable[Claimed], *, sender: Sender, now: dt.datetime) -> list[Outcome]:
    """Step 2, with no database access. Each email is built while the server is still
    working on the one before; only then is that one's confirmation read."""
    outcomes: list[Outcome] = []
    awaiting: Claimed | None = None  # handed over, confirmation not read yet

    def build(context: MessageContext) -> OutgoingEmail | SmsMessage:
        return sender.build(context, now=now)

    def confirm(_: None) -> None:
        sender.email.end()

    for item in claimed:
        message, outcome = _attempt(item, build, item.context)
        if awaiting is not None:
            outcomes.append(_attempt(awaiting, confirm, None)[1])
            awaiting = None
        if message is None:
            outcomes.append(outcome)
        elif isinstance(message, OutgoingEmail):
            _, outcome = _attempt(item, sender.email.begin, message)
            if outcome.error is None:
                awaiting = item
            else:
                outcomes.append(outcome)
        else:
            outcomes.append(_attempt(item, sender.sms_backend.send, message)[1])
    if awaiting is not None:
        outcomes.append(_attempt(awaiting, confirm, None)[1])
    return outcomes


class SenderPool:
    """``settings.connections`` senders, each with its own mail connection, kept for a whole
    run. A batch is dealt out between them and sent side by side in threads: the work is
    mostly waiting on sockets, which releases the GIL."""

    def __init__(
        self, *, email_backend: EmailBackend, sms_backend: SmsBackend, settings: DispatchSettings
    ) -> None:
        self.senders = [
            Sender(email_backend=email_backend, sms_backend=sms_backend, settings=settings)
            for _ in range(settings.connections)
        ]
        self.executor = (
            ThreadPoolExecutor(len(self.senders), thread_name_prefix="dispatch-send")
            if len(self.senders) > 1
            else None
        )

    def send_all(self, claimed: list[Claimed], *, now: dt.datetime) -> list[Outcome]:
        if self.executor is None or len(claimed) < 2:
            return send_claimed(claimed, sender=self.senders[0], now=now)
        shares = [claimed[index :: len(self.senders)] for index in range(len(self.senders))]
        futures = [
            self.executor.submit(send_claimed, share, sender=sender, now=now)
            for share, sender in zip(shares, self.senders, strict=True)
            if share
        ]
        return [outcome for future in futures for outcome in future.result()]

    def close(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=True)
        for sender in self.senders:
            sender.close()


# --- 3. record -------------------------------------------------------------------------

_EMAIL_ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_PHONE_NUMBER = re.compile(r"\+?\d[\d ()-]{6,}\d")


def scrub(text: str) -> str:
    """Error text is shown to staff and logged: keep addresses and numbers out of it."""
    text = _EMAIL_ADDRESS.sub("<address>", text)
    return _PHONE_NUMBER.sub("<number>", text)[:500]


def record_outcomes(
    session: Session,
    outcomes: list[Outcome],
    *,
    now: dt.datetime,
    worker: str,
    settings: DispatchSettings,
) -> DispatchTotals:
    """Step 3, in its own transaction (committed here)."""
    totals = DispatchTotals()
    sent_ids = [outcome.notification_id for outcome in outcomes if outcome.error is None]
    try:
        if sent_ids:
            # Sent is sent, even if a slow batch lost its claim to another worker meanwhile.
            session.execute(
                sa.update(Notification)
                .where(Notification.id.in_(sent_ids), Notification.status != Status.SENT)
                .values(status=Status.SENT, sent_at=now, claimed_at=None, last_error=None)
                .execution_options(synchronize_session=False)
            )
            totals.sent = len(sent_ids)
        for outcome in outcomes:
            if outcome.error is None:
                continue
            give_up = outcome.error.permanent or outcome.attempts >= settings.max_attempts
            values: dict[str, Any] = {
                "claimed_at": None,
                "last_error": scrub(outcome.error.message),
            }
            if give_up:
                values["status"] = Status.FAILED
                totals.failed += 1
            else:
                values["status"] = Status.PENDING
                values["due_at"] = now + settings.retry_delay(outcome.attempts)
                totals.retrying += 1
            session.execute(
                sa.update(Notification)
                .where(
                    Notification.id == outcome.notification_id,
                    Notification.status == Status.SENDING,
                    Notification.claimed_by == worker,
                )
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            log.debug(
                "notification %s attempt %s failed (%s): %s",
                outcome.notification_id,
                outcome.attempts,
                "giving up" if give_up else "will retry",
                values["last_error"],
            )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    failures = [outcome for outcome in outcomes if outcome.error is not None]
    if failures:
        first = failures[0]
        assert first.error is not None
        log.warning(
            "%d of %d messages not delivered (%d to retry, %d failed), e.g. notification %s: %s",
            len(failures),
            len(outcomes),
            totals.retrying,
            totals.failed,
            first.notification_id,
            scrub(first.error.message),
        )
    return totals


# --- running ---------------------------------------------------------------------------


def dispatch_batch(
    session: Session,
    *,
    now: dt.datetime,
    worker: str,
    settings: DispatchSettings,
    senders: SenderPool,
    clock: Callable[[], dt.datetime] | None = None,
) -> DispatchTotals:
    claimed, totals = claim_due(session, now=now, worker=worker, settings=settings)
    if claimed:
        outcomes = senders.send_all(claimed, now=now)
        finished_at = clock() if clock else now
        totals.add(
            record_outcomes(session, outcomes, now=finished_at, worker=worker, settings=settings)
        )
    totals.batches = 1
    return totals


@dataclass
class Dispatcher:
    """Runs batches until the queue holds nothing due, or ``stop`` is set."""

    settings: DispatchSettings
    email_backend: EmailBackend
    sms_backend: SmsBackend
    worker: str = field(default_factory=worker_name)

    def run(
        self,
        session: Session,
        *,
        clock: Callable[[], dt.datetime],
        stop: threading.Event | None = None,
        max_batches: int | None = None,
    ) -> DispatchTotals:
        totals = DispatchTotals()
        senders = SenderPool(
            email_backend=self.email_backend, sms_backend=self.sms_backend, settings=self.settings
        )
        try:
            while not (stop is not None and stop.is_set()):
                result = dispatch_batch(
                    session,
                    now=clock(),
                    worker=self.worker,
                    settings=self.settings,
                    senders=senders,
                    clock=clock,
                )
                totals.add(result)
                if result.examined < self.settings.batch_size:
                    break
                if max_batches is not None and totals.batches >= max_batches:
                    break
        finally:
            senders.close()
        if totals.examined or totals.released:
            log.info(
                "dispatch: %d sent, %d retrying, %d failed, %d skipped, %d stale claims released",
                totals.sent,
                totals.retrying,
                totals.failed,
                totals.skipped,
                totals.released,
            )
        return totals
