"""The outbox: queue a message with the change that needs it (docs/messaging.md).

`message_queue` runs inside the caller's transaction: the OutboundMessage row and its send
job are committed together or not at all, and the unique `intent_key` makes one intent one
message, however often or concurrently it is asked for. Sending is the job's business
(`crewcall.messaging.tasks`, deferred here by its name so this module does not import it);
see docs/messaging.md for the exactly-once argument. What a message says is the caller's:
it passes the text, and the event and invitation it is about as plain ids.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal, cast

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from procrastinate.contrib.django import app
from procrastinate.contrib.django.django_connector import DjangoConnector
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.manager import JobManager

from crewcall.core.errors import ValidationFailed
from crewcall.core.transactions import service
from crewcall.messaging.models import DeliveryStatus, MessageKind, OutboundMessage

if TYPE_CHECKING:
    from procrastinate.tasks import ConfigureTaskOptions

    from crewcall.people.models import Employee

logger = logging.getLogger(__name__)

# The send job (crewcall.messaging.tasks.send_message), deferred by name.
SEND_TASK = "messaging.send_message"
SEND_QUEUE = "messages"


def message_queue(
    *,
    employee: Employee,
    kind: str,
    intent_key: str,
    body: str,
    template_key: str = "",
    template_variables: dict[str, str] | None = None,
    event_id: int | None = None,
    invitation_id: int | None = None,
) -> tuple[OutboundMessage, bool]:
    """Queue one message for one intent; returns (message, created).

    A second call with the same `intent_key` (a retried request, a concurrent dispatcher)
    returns the first row unchanged and defers nothing: the intent is already on its way.
    """
    # Not a @service on purpose: it must share the caller's transaction, or a rollback of
    # the caller could leave a message for a change that never happened.
    assert transaction.get_connection().in_atomic_block, "message_queue runs inside a transaction"  # noqa: S101
    if kind not in MessageKind.values:
        raise ValidationFailed.single("kind", f"Unknown message kind {kind!r}.")
    if not intent_key:
        raise ValidationFailed.single("intent_key", "A message needs an intent key.")
    if not body.strip():
        raise ValidationFailed.single("body", "A message needs a text.")
    if not employee.phone_number or employee.anonymised_at is not None:
        raise ValidationFailed.single("employee", "This employee has no phone number to message.")

    existing = OutboundMessage.objects.filter(intent_key=intent_key).first()
    if existing is not None:
        return existing, False
    try:
        # A savepoint: if a concurrent transaction inserted the same intent first, the
        # unique index makes this insert wait for it and then fail; only the savepoint
        # is rolled back, and the caller's transaction carries on with the winner's row.
        with transaction.atomic():
            message = OutboundMessage.objects.create(
                employee=employee,
                event_id=event_id,
                invitation_id=invitation_id,
                kind=kind,
                intent_key=intent_key,
                to_number=employee.phone_number,
                body=body,
                template_key=template_key,
                template_variables=dict(template_variables or {}),
                provider=settings.MESSAGING_PROVIDER,
            )
    except IntegrityError:
        # Read committed: this statement sees the row the other transaction committed.
        winner = OutboundMessage.objects.filter(intent_key=intent_key).first()
        if winner is None:
            raise  # another rule refused the row, not the unique intent
        return winner, False

    # In this transaction: a rollback removes the job with the row, a commit makes both
    # visible at once.
    defer_send(message.pk, priority=send_priority(kind))
    return message, True


# Answers to someone who has just written (booked, waitlisted, which event?, help) go
# before the sends of an ask: procrastinate takes the highest priority first, so a
# 1,000-person ask being sent does not hold back "you are booked". Retries and
# re-deferred sends keep the default (the message waited its turn once already).
ANSWER_KINDS = frozenset(
    {
        MessageKind.CONFIRMATION,
        MessageKind.ACKNOWLEDGEMENT,
        MessageKind.WAITLIST,
        MessageKind.CLARIFY,
        MessageKind.HELP,
    }
)
ANSWER_PRIORITY = 10


def send_priority(kind: str) -> int:
    return ANSWER_PRIORITY if kind in ANSWER_KINDS else 0


def defer_send(message_id: int, *, at: datetime | None = None, priority: int = 0) -> bool:
    """Defer the send job for a message on Django's own connection, so it joins the
    transaction in progress (if any); False if a job for it is already waiting.

    Inside the worker, procrastinate's app runs on its own connection pool: a plain
    `defer()` there would commit the job at once, apart from the row. Deferring through
    a Django connector keeps "row and job commit together" true in every process.
    """
    options: ConfigureTaskOptions = {
        "queue": SEND_QUEUE,
        "queueing_lock": f"message:{message_id}",
        "priority": priority,
    }
    if at is not None:
        options["schedule_at"] = at
    job = app.configure_task(SEND_TASK, **options).make_new_job(message_id=message_id)
    try:
        # A savepoint: a refused duplicate must not abort the caller's transaction.
        with transaction.atomic():
            JobManager(DjangoConnector()).defer_job(job)
    except AlreadyEnqueued:
        return False  # one waiting job per message is enough: it reads the row when it runs
    return True


# --- The send job's state changes. Each is one short transaction (no network inside),
# with history source "worker" taken from the job's request context.


@dataclass(frozen=True)
class Claim:
    """What the send job may do with a message now.

    send: the job owns a fresh claim (token = claimed_at) and may call the provider.
    reconcile: an earlier claim died or ended unclear; ask the provider first.
    wait: not yet (backoff pending, or another claim may still be in flight) until `until`.
    done: nothing left to do (sent, failed, gone).
    """

    action: Literal["send", "reconcile", "wait", "done"]
    message: OutboundMessage | None = None
    token: datetime | None = None
    until: datetime | None = None


def _db_now() -> datetime:
    # One clock for every claim: the database's, whichever host the worker runs on.
    with connection.cursor() as cur:
        cur.execute("SELECT now()")
        row = cur.fetchone()
    assert row is not None  # noqa: S101
    return cast(datetime, row[0])


def _locked(message_id: int) -> OutboundMessage | None:
    return OutboundMessage.objects.select_for_update().filter(pk=message_id).first()


def _holds(message: OutboundMessage, token: datetime) -> bool:
    """Still ours: in `sending` under the claim this job took (not one taken over since)."""
    return message.status == DeliveryStatus.SENDING and message.claimed_at == token


@service
def message_claim(*, message_id: int, grace: timedelta, max_attempts: int) -> Claim:
    message = _locked(message_id)
    if message is None:
        return Claim("done")
    now = _db_now()
    if message.status == DeliveryStatus.QUEUED:
        if message.next_attempt_at is not None and message.next_attempt_at > now:
            return Claim("wait", message, until=message.next_attempt_at)
        if message.attempts >= max_attempts:
            # Only reachable after a release; every attempt so far was definitely not taken.
            _fail(message, "max_attempts", "Gave up after the maximum number of attempts.")
            return Claim("done")
        message.attempts += 1
        action: Literal["send", "reconcile"] = "send"
    elif message.status == DeliveryStatus.SENDING:
        if message.claimed_at is not None and message.claimed_at + grace > now:
            # Another worker may be talking to the provider right now: never guess.
            return Claim("wait", message, until=message.claimed_at + grace)
        action = "reconcile"  # taken over; the attempt is counted only if we send again
    else:
        return Claim("done")
    message.status = DeliveryStatus.SENDING
    message.claimed_at = now
    message.next_attempt_at = None
    message.save(update_fields=["status", "attempts", "claimed_at", "next_attempt_at"])
    return Claim(action, message, token=now)


@service
def message_begin_resend(*, message_id: int, token: datetime, max_attempts: int) -> Claim:
    """After reconciliation found nothing: count a new attempt under a fresh claim, or
    give up if the attempts are used up."""
    message = _locked(message_id)
    if message is None or not _holds(message, token):
        return Claim("done")
    if message.attempts >= max_attempts:
        _fail(message, message.error_code or "max_attempts", message.error_message or "Gave up.")
        return Claim("done")
    now = _db_now()
    message.attempts += 1
    message.claimed_at = now
    message.save(update_fields=["attempts", "claimed_at"])
    return Claim("send", message, token=now)


@service
def message_record_sent(*, message_id: int, sid: str) -> bool:
    """The provider took the message: store its id. Runs even if this job's claim was
    taken over meanwhile (the send happened; saying so is what stops a second one), and
    never moves a status back that a delivery callback already moved forward."""
    message = _locked(message_id)
    if message is None:
        return False
    if message.provider_sid not in (None, sid):
        logger.error(
            "message %s: provider id %s already stored, got %s", message_id, message.provider_sid, sid
        )
        return False
    fields = {"provider_sid"}
    message.provider_sid = sid
    if message.sent_at is None:
        message.sent_at = _db_now()
        fields.add("sent_at")
    if message.status == DeliveryStatus.QUEUED:
        # A stale claim sent after another attempt released the row: go through sending.
        message.status = DeliveryStatus.SENDING
        message.save(update_fields=["status"])
    if message.status == DeliveryStatus.SENDING:
        message.status = DeliveryStatus.SENT
        message.error_code = message.error_message = ""
        fields |= {"status", "error_code", "error_message"}
    elif message.status == DeliveryStatus.FAILED:
        logger.error("message %s was given up but the provider took it as %s", message_id, sid)
    message.save(update_fields=sorted(fields))
    return True


@service
def message_release(
    *,
    message_id: int,
    token: datetime,
    next_attempt_at: datetime,
    refund_attempt: bool,
    error_code: str = "",
    error_message: str = "",
) -> bool:
    """Back to `queued`: the provider did not take it (or was never called).

    `refund_attempt` gives back the attempt this claim counted, and only that one: for a
    call never started, or refused as not taken in an outage (docs/messaging.md,
    "Attempts"). The holder of a claim always counted one, so the count stays >= 0.
    """
    message = _locked(message_id)
    if message is None or not _holds(message, token):
        return False
    message.status = DeliveryStatus.QUEUED
    message.next_attempt_at = next_attempt_at
    if refund_attempt:
        message.attempts -= 1
    if error_code:
        message.error_code, message.error_message = error_code[:40], error_message
    message.save(update_fields=["status", "next_attempt_at", "attempts", "error_code", "error_message"])
    defer_send(message_id, at=next_attempt_at)
    return True


@service
def message_hold(
    *,
    message_id: int,
    token: datetime,
    until: datetime,
    error_code: str,
    error_message: str,
) -> bool:
    """Outcome unknown (timeout, 5xx, reconciliation impossible): stay in `sending` — a
    delivery callback may still arrive — and reconcile once the claim is old enough.

    The attempt stays counted, outage or not: the provider may have the message, and
    a take-over that finds it records it as sent under this very attempt."""
    message = _locked(message_id)
    if message is None or not _holds(message, token):
        return False
    message.error_code, message.error_message = error_code[:40], error_message
    message.save(update_fields=["error_code", "error_message"])
    defer_send(message_id, at=until)
    return True


@service
def message_fail(*, message_id: int, token: datetime, error_code: str, error_message: str) -> bool:
    message = _locked(message_id)
    if message is None or not _holds(message, token):
        return False
    _fail(message, error_code, error_message)
    return True


def _fail(message: OutboundMessage, error_code: str, error_message: str) -> None:
    message.status = DeliveryStatus.FAILED
    message.failed_at = _db_now()
    message.error_code, message.error_message = error_code[:40], error_message
    message.save(update_fields=["status", "failed_at", "error_code", "error_message"])
