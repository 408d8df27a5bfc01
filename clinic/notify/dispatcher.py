"""The dispatcher: claim due notifications, send them, record the outcome.

Each batch runs in three steps so that no database transaction is open while talking to a
mail server or SMS gateway:

1. **Claim** (a short transaction): one ``UPDATE ... RETURNING`` picks due rows
   (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so any number of workers on any number of
   machines take disjoint rows; on SQLite the IMMEDIATE transaction serialises claimers),
   marks them ``sending`` with ``claimed_at``/``claimed_by`` and returns them; one SELECT
   reads their sessions, and everything the messages need becomes plain data. Stale claims
   go back to the queue first, at the start of every run and then a few times per claim
   timeout.
2. **Send**, outside any transaction, over mail connections kept for the whole run
   (``DISPATCH_CONNECTIONS`` of them, each in a thread of its own). A claimed batch is split
   by patient and streamed to the connections' queues, so sending goes on while the next
   batch is claimed. Each email is built while the server is still working on the previous
   one; only then is that one's confirmation read.
3. **Record**: ``sent``, or back to ``pending`` with an exponential backoff, or ``failed``
   once the attempts are used up or the failure is permanent. Within a run, recording what
   was sent and claiming the next batch share one transaction.

**Order per appointment.** A row is claimed only once every earlier row about the same
appointment on the same channel has been sent or has finally failed (or was withdrawn or
skipped), so a cancellation can never overtake its invitation, across batches, connections,
workers and retries alike. When the patient never got an earlier message about the session
(its invitation failed for good), an update is sent as the invitation it then is (the
current state, as a fresh REQUEST with the wording of a booking) and a cancellation is not
sent at all: it would cancel an event the patient's calendar never had.

A worker that dies between 1 and 3 leaves rows in ``sending``; once their claim is older
than the claim timeout the next batch puts them back in the queue. Delivery is therefore at
least once, and a resent email carries the Message-ID fixed when it was queued.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
import queue
import re
import socket
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

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
    UTCDateTime,
)
from .context import NOTIFICATION_COLUMNS, SESSION_COLUMNS, MessageContext, context_from_rows
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
    patient_id: int = 0  # a batch is split between connections by patient


@dataclass(frozen=True, slots=True)
class Outcome:
    notification_id: int
    attempts: int
    error: DeliveryError | None = None

    @property
    def untried(self) -> bool:
        """Handed back without being tried: the queue gets it back at no cost."""
        return self.error is not None and not self.error.attempted


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
#
# The statements are built once and executed on the session's connection as Core
# statements: building, compiling and running ORM statements cost more than a batch's SQL.


def _utc_parameter(name: str) -> sa.BindParameter[dt.datetime]:
    return sa.bindparam(name, type_=UTCDateTime())


@functools.cache
def _release_statement(*, max_attempts: int) -> sa.Update:
    message = "The worker sending this stopped before finishing"
    out_of_attempts = Notification.attempts >= max_attempts
    stale = aliased(Notification, name="stale")
    return (
        sa.update(Notification)
        .where(
            # Rows another worker is releasing at this moment are left to it: two workers
            # updating the same stale rows in different orders could deadlock.
            Notification.id.in_(
                sa.select(stale.id)
                .where(stale.status == Status.SENDING, stale.claimed_at < _utc_parameter("cutoff"))
                .with_for_update(skip_locked=True, of=stale)
            )
        )
        .values(
            status=sa.case((out_of_attempts, Status.FAILED.value), else_=Status.PENDING.value),
            due_at=_utc_parameter("now"),
            claimed_at=None,
            last_error=sa.case(
                (out_of_attempts, message + "; no attempts left."), else_=message + "."
            ),
        )
    )


def release_stale_claims(session: Session, *, now: dt.datetime, settings: DispatchSettings) -> int:
    """Rows left ``sending`` by a worker that died go back to the queue, due now (or fail,
    when that was their last attempt). Runs inside the claim transaction."""
    result = session.connection().execute(
        _release_statement(max_attempts=settings.max_attempts),
        {"now": now, "cutoff": now - dt.timedelta(seconds=settings.claim_timeout_seconds)},
    )
    return int(result.rowcount or 0)


def _not_worth_sending(row: Any, session_row: Any, now: dt.datetime) -> tuple[Status, str] | None:
    """A reminder is never sent for a session that was cancelled or has already begun."""
    if row.kind is not NotificationKind.REMINDER:
        return None
    if session_row.appointment_status in RELEASED_STATUSES:
        return Status.WITHDRAWN, "The session is no longer booked."
    if session_row.starts_at <= now:
        return Status.SKIPPED, "The session had started before the reminder could be sent."
    return None


def _waiting_for_earlier(row: type[Notification], now: sa.BindParameter[dt.datetime]) -> sa.Exists:
    """An earlier row about the same appointment, on the same channel, is still to be sent:
    pending (a reminder only once it is due: one waiting for its time holds nothing up) or
    being sent by some worker right now."""
    earlier = aliased(Notification, name="earlier")
    return (
        sa.exists()
        .where(
            earlier.appointment_id == row.appointment_id,
            earlier.channel == row.channel,
            earlier.id < row.id,
            sa.or_(
                earlier.status == Status.SENDING,
                sa.and_(
                    earlier.status == Status.PENDING,
                    sa.or_(earlier.kind != NotificationKind.REMINDER, earlier.due_at <= now),
                ),
            ),
        )
        .correlate(row)
    )


@functools.cache
def _claim_statement(*, batch_size: int) -> sa.Update:
    """One UPDATE claims up to ``batch_size`` due rows and returns them. Its subquery walks
    the (status, due_at) index and stops after ``batch_size`` rows however long the queue
    is, locking them ``FOR UPDATE SKIP LOCKED`` on PostgreSQL."""
    now = _utc_parameter("now")
    due = aliased(Notification, name="due")
    picked = (
        sa.select(due.id)
        .where(due.status == Status.PENDING, due.due_at <= now, ~_waiting_for_earlier(due, now))
        .order_by(due.due_at, due.id)
        .limit(batch_size)
        .with_for_update(skip_locked=True, of=due)
    )
    return (
        sa.update(Notification)
        .where(Notification.id.in_(picked))
        .values(
            status=Status.SENDING,
            claimed_at=now,
            claimed_by=sa.bindparam("worker", type_=sa.String()),
            attempts=Notification.attempts + 1,
        )
        .returning(*NOTIFICATION_COLUMNS)
    )


@functools.cache
def _sessions_statement() -> sa.Select[*tuple[Any, ...]]:
    return (
        sa.select(*SESSION_COLUMNS)
        .join(Patient, Appointment.patient_id == Patient.id)
        .join(Location, Appointment.location_id == Location.id)
        .join(TreatmentType, Appointment.treatment_type_id == TreatmentType.id)
        .where(Appointment.id.in_(sa.bindparam("ids", expanding=True)))
    )


@functools.cache
def _first_sent_statement() -> sa.Select[int, Channel, int]:
    return (
        sa.select(Notification.appointment_id, Notification.channel, sa.func.min(Notification.id))
        .where(
            Notification.appointment_id.in_(sa.bindparam("ids", expanding=True)),
            Notification.status == Status.SENT,
        )
        .group_by(Notification.appointment_id, Notification.channel)
    )


@functools.cache
def _unclaim_statement() -> sa.Update:
    """Claimed rows not worth sending: their verdict, and the attempt given back."""
    return (
        sa.update(Notification)
        .where(Notification.id.in_(sa.bindparam("ids", expanding=True)))
        .values(
            status=sa.bindparam("verdict", type_=Notification.status.type),
            last_error=sa.bindparam("reason", type_=sa.String()),
            attempts=Notification.attempts - 1,
            claimed_at=None,
        )
    )


def _announced(connection: sa.Connection, rows: Sequence[Any]) -> set[int]:
    """The ids of those update and cancellation rows whose appointment already had a message
    delivered on the same channel: the patient's calendar has the event."""
    changes = [
        row for row in rows if row.kind in (NotificationKind.UPDATE, NotificationKind.CANCEL)
    ]
    if not changes:
        return set()
    first_sent = {
        (appointment_id, channel): first_id
        for appointment_id, channel, first_id in connection.execute(
            _first_sent_statement(), {"ids": sorted({row.appointment_id for row in changes})}
        )
    }
    return {
        row.id
        for row in changes
        if first_sent.get((row.appointment_id, row.channel), row.id) < row.id
    }


def _claim(
    session: Session,
    *,
    now: dt.datetime,
    worker: str,
    settings: DispatchSettings,
    release: bool = True,
) -> tuple[list[Claimed], DispatchTotals]:
    totals = DispatchTotals()
    connection = session.connection()
    if release:
        totals.released = release_stale_claims(session, now=now, settings=settings)
    rows = sorted(
        connection.execute(
            _claim_statement(batch_size=settings.batch_size), {"now": now, "worker": worker}
        ),
        key=lambda row: (row.due_at, row.id),
    )
    totals.examined = len(rows)
    if not rows:
        return [], totals
    sessions = {
        row.appointment_id: row
        for row in connection.execute(
            _sessions_statement(), {"ids": sorted({row.appointment_id for row in rows})}
        )
    }
    announced = _announced(connection, rows)
    claimed: list[Claimed] = []
    verdicts: dict[tuple[Status, str], list[int]] = {}
    for row in rows:
        session_row = sessions[row.appointment_id]
        verdict = _not_worth_sending(row, session_row, now)
        if verdict is None and row.kind is NotificationKind.CANCEL and row.id not in announced:
            verdict = (
                Status.SKIPPED,
                "Not sent: the patient never received this session's invitation, so their "
                "calendar has nothing to cancel.",
            )
        if verdict is not None:
            verdicts.setdefault(verdict, []).append(row.id)
            continue
        context = context_from_rows(row, session_row, clinic_name=settings.clinic_name)
        if row.kind is NotificationKind.UPDATE and row.id not in announced:
            # Their invitation never arrived: this one is it (a REQUEST with the current
            # time, which a calendar adds as a new event), worded as a booking.
            context = replace(context, kind=NotificationKind.INVITE)
        claimed.append(Claimed(context, attempts=row.attempts, patient_id=session_row.patient_id))
    for (status, reason), ids in verdicts.items():
        connection.execute(_unclaim_statement(), {"ids": ids, "verdict": status, "reason": reason})
        totals.skipped += len(ids)
    return claimed, totals


def claim_due(
    session: Session, *, now: dt.datetime, worker: str, settings: DispatchSettings
) -> tuple[list[Claimed], DispatchTotals]:
    """Step 1 on its own, committed: release stale claims, lock up to ``batch_size`` due rows
    (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), mark them claimed and return what their
    messages need."""
    try:
        result = _claim(session, now=now, worker=worker, settings=settings)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return result


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
        # The type only: an exception's message or traceback can carry a patient's address.
        log.error(
            "notification %s could not be built or sent: %s",
            notification_id,
            type(error).__name__,
        )
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


def shares_by_patient(claimed: Sequence[Claimed], count: int) -> list[list[Claimed]]:
    """Split a batch into ``count`` shares of about equal size, keeping each patient's
    messages together and in claim order: one patient's messages never race each other."""
    groups: dict[int, list[Claimed]] = {}
    for item in claimed:
        groups.setdefault(item.patient_id, []).append(item)
    shares: list[list[Claimed]] = [[] for _ in range(count)]
    for group in sorted(groups.values(), key=len, reverse=True):
        min(shares, key=len).extend(group)
    # Each share keeps the batch's order (due time, then id).
    position = {id(item): index for index, item in enumerate(claimed)}
    return [sorted(share, key=lambda item: position[id(item)]) for share in shares]


class SenderPool:
    """``settings.connections`` senders, each with its own mail connection and thread, kept
    for a whole run. Claimed messages stream to them: a batch is split by patient, each
    share queued to the least busy sender, so sending never stops while the next batch is
    claimed or the last one recorded. The work is mostly waiting on sockets, which releases
    the GIL.

    Outcomes pile up here until the dispatcher has something to do with them: ``collect``
    says when to wake it (few messages left to send, or a batch worth of outcomes), and the
    senders wake it only then. Waking it for every message cost more than the SQL."""

    def __init__(
        self, *, email_backend: EmailBackend, sms_backend: SmsBackend, settings: DispatchSettings
    ) -> None:
        self.senders = [
            Sender(email_backend=email_backend, sms_backend=sms_backend, settings=settings)
            for _ in range(settings.connections)
        ]
        self.queues: list[queue.SimpleQueue[tuple[Claimed, dt.datetime] | None]] = [
            queue.SimpleQueue() for _ in self.senders
        ]
        self.load = [0] * len(self.senders)
        self.in_flight = 0  # submitted, outcome not collected yet
        self._results: list[Outcome] = []
        self._ready = threading.Condition()
        self._wake_below = 0  # wake the collector once fewer messages than this are unsent,
        self._wake_at = 0  # or once this many outcomes are waiting (0: no one is waiting)
        self.threads = [
            threading.Thread(target=self._work, args=(index,), name=f"dispatch-send-{index}")
            for index in range(len(self.senders))
        ]
        for thread in self.threads:
            thread.start()

    def submit(self, claimed: list[Claimed], *, now: dt.datetime) -> None:
        with self._ready:
            self.in_flight += len(claimed)
            loads = list(self.load)
        for share in shares_by_patient(claimed, len(self.senders)):
            if not share:
                continue
            target = min(range(len(loads)), key=loads.__getitem__)
            loads[target] += len(share)
            with self._ready:
                self.load[target] += len(share)
            for item in share:
                self.queues[target].put((item, now))

    def collect(
        self, *, wait: float | None = None, below: int = 0, outcomes: int = 1
    ) -> list[Outcome]:
        """The outcomes ready now. With ``wait``, first block up to that long until fewer
        than ``below`` messages are left unsent, ``outcomes`` outcomes are ready, or all
        are done."""
        with self._ready:
            if wait is not None and not self._wanted(below, outcomes):
                self._wake_below, self._wake_at = below, max(outcomes, 1)
                try:
                    self._ready.wait_for(lambda: self._wanted(below, outcomes), timeout=wait)
                finally:
                    self._wake_below = self._wake_at = 0
            ready, self._results = self._results, []
            self.in_flight -= len(ready)
        return ready

    def _wanted(self, below: int, outcomes: int) -> bool:
        unsent = self.in_flight - len(self._results)
        return unsent == 0 or unsent < below or len(self._results) >= outcomes

    def _done(self, index: int, outcome: Outcome) -> None:
        with self._ready:
            self.load[index] -= 1
            self._results.append(outcome)
            if self._wake_at and self._wanted(self._wake_below, self._wake_at):
                self._ready.notify()

    def _work(self, index: int) -> None:
        """One connection's loop: build the next email while the server works on the one
        before; read that one's confirmation before handing the next over, or as soon as
        nothing else is queued."""
        sender, jobs = self.senders[index], self.queues[index]
        awaiting: Claimed | None = None

        def confirm(_: None) -> None:
            sender.email.end()

        def build(job: tuple[Claimed, dt.datetime]) -> OutgoingEmail | SmsMessage:
            return sender.build(job[0].context, now=job[1])

        while True:
            if awaiting is None:
                job = jobs.get()
            else:
                try:
                    job = jobs.get_nowait()
                except queue.Empty:
                    self._done(index, _attempt(awaiting, confirm, None)[1])
                    awaiting = None
                    continue
            if job is None:
                if awaiting is not None:
                    self._done(index, _attempt(awaiting, confirm, None)[1])
                return
            item = job[0]
            message, outcome = _attempt(item, build, job)
            if awaiting is not None:
                self._done(index, _attempt(awaiting, confirm, None)[1])
                awaiting = None
            if message is None:
                self._done(index, outcome)
            elif isinstance(message, OutgoingEmail):
                _, outcome = _attempt(item, sender.email.begin, message)
                if outcome.error is None:
                    awaiting = item
                else:
                    self._done(index, outcome)
            else:
                self._done(index, _attempt(item, sender.sms_backend.send, message)[1])

    def close(self) -> None:
        for jobs in self.queues:
            jobs.put(None)
        for thread in self.threads:
            thread.join()
        for sender in self.senders:
            sender.close()


# --- 3. record -------------------------------------------------------------------------

_EMAIL_ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_PHONE_NUMBER = re.compile(r"\+?\d[\d ()-]{6,}\d")


def scrub(text: str) -> str:
    """Error text is shown to staff and logged: keep addresses and numbers out of it."""
    text = _EMAIL_ADDRESS.sub("<address>", text)
    return _PHONE_NUMBER.sub("<number>", text)[:500]


@functools.cache
def _mark_sent_statement() -> sa.Update:
    # Sent is sent, even if a slow batch lost its claim to another worker meanwhile.
    return (
        sa.update(Notification)
        .where(
            Notification.id.in_(sa.bindparam("ids", expanding=True)),
            Notification.status != Status.SENT,
        )
        .values(status=Status.SENT, sent_at=_utc_parameter("now"), claimed_at=None, last_error=None)
    )


def _record(
    session: Session,
    outcomes: list[Outcome],
    *,
    now: dt.datetime,
    worker: str,
    settings: DispatchSettings,
) -> DispatchTotals:
    totals = DispatchTotals()
    connection = session.connection()
    sent_ids = [outcome.notification_id for outcome in outcomes if outcome.error is None]
    if sent_ids:
        connection.execute(_mark_sent_statement(), {"ids": sent_ids, "now": now})
        totals.sent = len(sent_ids)
    for outcome in outcomes:
        if outcome.error is None:
            continue
        give_up = outcome.error.permanent or outcome.attempts >= settings.max_attempts
        values: dict[str, Any] = {"claimed_at": None, "last_error": scrub(outcome.error.message)}
        if outcome.untried:
            # Not tried at all: the attempt counted when it was claimed is given back.
            values.update(
                status=Status.PENDING,
                attempts=Notification.attempts - 1,
                due_at=now + settings.retry_delay(1),
            )
            totals.retrying += 1
        elif give_up:
            values["status"] = Status.FAILED
            totals.failed += 1
        else:
            values["status"] = Status.PENDING
            values["due_at"] = now + settings.retry_delay(outcome.attempts)
            totals.retrying += 1
        connection.execute(
            sa.update(Notification)
            .where(
                Notification.id == outcome.notification_id,
                Notification.status == Status.SENDING,
                Notification.claimed_by == worker,
            )
            .values(**values)
        )
    return totals


def _log_failures(outcomes: list[Outcome], totals: DispatchTotals) -> None:
    failures = [outcome for outcome in outcomes if outcome.error is not None]
    if not failures:
        return
    # Each distinct cause once, with how many it hit and one notification id (no data).
    causes: dict[str, list[int]] = {}
    for outcome in failures:
        assert outcome.error is not None
        causes.setdefault(scrub(outcome.error.message), []).append(outcome.notification_id)
    log.warning(
        "%d of %d messages not delivered (%d to retry, %d failed): %s",
        len(failures),
        len(outcomes),
        totals.retrying,
        totals.failed,
        "; ".join(
            f"{len(ids)} x {cause} (e.g. notification {ids[0]})" for cause, ids in causes.items()
        ),
    )


def record_outcomes(
    session: Session,
    outcomes: list[Outcome],
    *,
    now: dt.datetime,
    worker: str,
    settings: DispatchSettings,
) -> DispatchTotals:
    """Step 3 on its own, committed: sent, or back in the queue with a backoff, or failed."""
    try:
        totals = _record(session, outcomes, now=now, worker=worker, settings=settings)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    _log_failures(outcomes, totals)
    return totals


# --- running ---------------------------------------------------------------------------


@dataclass
class Dispatcher:
    """Runs batches until the queue holds nothing due, or ``stop`` is set."""

    settings: DispatchSettings
    email_backend: EmailBackend
    sms_backend: SmsBackend
    worker: str = field(default_factory=worker_name)

    def _record(
        self, session: Session, outcomes: list[Outcome], *, now: dt.datetime
    ) -> DispatchTotals:
        if not outcomes:
            return DispatchTotals()
        return _record(session, outcomes, now=now, worker=self.worker, settings=self.settings)

    def run(
        self,
        session: Session,
        *,
        clock: Callable[[], dt.datetime],
        stop: threading.Event | None = None,
        max_batches: int | None = None,
    ) -> DispatchTotals:
        totals = DispatchTotals()
        settings = self.settings
        senders = SenderPool(
            email_backend=self.email_backend, sms_backend=self.sms_backend, settings=settings
        )
        outcomes: list[Outcome] = []  # sent but not yet recorded
        exhausted = False  # the last claim found nothing due
        # Stale claims are looked for at the first claim of a run, then a few times per
        # claim timeout rather than at every batch.
        release_at: dt.datetime | None = None
        release_every = dt.timedelta(seconds=settings.claim_timeout_seconds / 4)
        try:
            while True:
                outcomes += senders.collect(wait=None)
                stopping = (stop is not None and stop.is_set()) or (
                    max_batches is not None and totals.batches >= max_batches
                )
                # Keep one batch queued behind the one being sent. After an empty claim,
                # claim again only once everything in flight is recorded: a message that
                # waited for one of them (its appointment's invitation) is due then.
                claim_more = not stopping and (
                    (not exhausted and senders.in_flight < settings.batch_size)
                    or (exhausted and senders.in_flight == 0 and outcomes)
                )
                record_now = outcomes and (
                    claim_more or senders.in_flight == 0 or len(outcomes) >= settings.batch_size
                )
                if not claim_more and not record_now:
                    if senders.in_flight == 0:
                        break
                    outcomes += senders.collect(
                        wait=1.0,
                        below=0 if exhausted or stopping else settings.batch_size,
                        outcomes=settings.batch_size - len(outcomes),
                    )
                    continue
                now = clock()
                # One transaction records what was sent and claims the next batch: half
                # the commits (each a disk flush on PostgreSQL) of doing them apart.
                claimed: list[Claimed] = []
                try:
                    recorded = self._record(session, outcomes, now=now)
                    if claim_more:
                        release = release_at is None or now >= release_at
                        claimed, claim_totals = _claim(
                            session,
                            now=now,
                            worker=self.worker,
                            settings=settings,
                            release=release,
                        )
                        if release:
                            release_at = now + release_every
                        totals.add(claim_totals)
                        totals.batches += 1 if claim_totals.examined else 0
                        exhausted = claim_totals.examined == 0
                    session.commit()
                except BaseException:
                    session.rollback()
                    # Keep what was sent on record even if claiming went wrong, including
                    # what is still on its way.
                    while senders.in_flight:
                        outcomes += senders.collect(wait=1.0)
                    if outcomes:
                        record_outcomes(
                            session, outcomes, now=clock(), worker=self.worker, settings=settings
                        )
                    raise
                _log_failures(outcomes, recorded)
                totals.add(recorded)
                outcomes = []
                if claimed:
                    senders.submit(claimed, now=now)
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
