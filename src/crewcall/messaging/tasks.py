"""Jobs of the `messages` queue: send one outbound message, and a safety net; and the
housekeeping of received messages. (Applying them is staffing's job: `apply_inbound`.)

The algorithm and its guarantee are in docs/messaging.md. In short: claim the row in a
short transaction, call the provider with no transaction open, record the outcome in
another short transaction; a claim that died (or ended unclear) is only taken over
after a grace period, and the taker asks the provider (`find_sent`) before sending again.
"""

from __future__ import annotations

import logging
import random
import time
from datetime import datetime, timedelta

import pybreaker
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.models import Q
from django.utils import timezone
from procrastinate import RetryStrategy
from procrastinate.contrib.django import app

from crewcall.core import retention as core_retention
from crewcall.core import telemetry
from crewcall.core.context import request_context
from crewcall.core.stalled_jobs import RETRY, on_stall
from crewcall.messaging import retention
from crewcall.messaging.models import DeliveryStatus, OutboundMessage
from crewcall.messaging.outbox import (
    SEND_QUEUE,
    SEND_TASK,
    defer_send,
    message_begin_resend,
    message_claim,
    message_fail,
    message_hold,
    message_record_sent,
    message_release,
)
from crewcall.messaging.providers import (
    MessagingProvider,
    ProviderError,
    ProviderReceipt,
    get_provider,
    status_callback_url,
)
from crewcall.messaging.providers.base import tunable
from crewcall.messaging.simulator import deliver_status

logger = logging.getLogger(__name__)

# Stuck rows the safety net re-defers per run; the next run takes the rest.
REQUEUE_BATCH = 500


class _OpenedAt(pybreaker.CircuitBreakerListener):
    """Remembers when the breaker opened, to schedule jobs for when it may close."""

    def __init__(self) -> None:
        self.at = 0.0

    def state_change(self, cb: pybreaker.CircuitBreaker, old_state: object, new_state: object) -> None:
        if getattr(new_state, "name", "") == pybreaker.STATE_OPEN:
            self.at = time.monotonic()


class _Metrics(pybreaker.CircuitBreakerListener):
    """Publishes the breaker's state and transitions to /metrics (core/telemetry.py)."""

    def state_change(self, cb: pybreaker.CircuitBreaker, old_state: object, new_state: object) -> None:
        telemetry.breaker_changed(
            cb.name or "breaker",
            getattr(old_state, "name", str(old_state)),
            getattr(new_state, "name", str(new_state)),
            at=time.time(),
        )


SEND = "messaging.send"


def _send_retry_outcome(message: OutboundMessage, result: str, *, retryable: bool = True) -> None:
    """Retries of sends for /metrics: a transient provider failure is a retry attempt; a
    send that ends after an earlier failed attempt (the message carries its error) ends a
    retry: recovered when sent, exhausted when out of attempts, failed otherwise."""
    if result in ("retry", "unknown"):
        telemetry.retry_attempted(SEND)
    elif message.error_code or message.attempts > 1:
        if result == "sent":
            telemetry.retry_ended(SEND, "recovered")
        elif result == "failed":
            telemetry.retry_ended(SEND, "exhausted" if retryable else "failed")


class _TooLate(Exception):
    """The claim is too old to start a provider call under it."""


def _not_the_providers_fault(exc: BaseException) -> bool:
    # A refusal of one message (bad number, template) says nothing about the provider.
    return isinstance(exc, _TooLate) or (isinstance(exc, ProviderError) and not exc.retryable)


def new_breaker(
    *, fail_max: int | None = None, reset_timeout: float | None = None
) -> pybreaker.CircuitBreaker:
    """One breaker per worker process around every provider call (tests build their own).
    pybreaker serialises calls through it: provider calls in one process run one at a
    time, which the default worker concurrency of 1 does anyway."""
    opened = _OpenedAt()
    name = "messaging-provider"
    telemetry.breaker_created(name)  # closed, and its series exist from the start
    return pybreaker.CircuitBreaker(
        fail_max=fail_max or int(tunable("MESSAGE_BREAKER_FAIL_MAX", 5)),
        reset_timeout=reset_timeout or tunable("MESSAGE_BREAKER_RESET_S", 30.0),
        exclude=[_not_the_providers_fault],
        listeners=[opened, _Metrics()],
        # The call that trips the breaker raises its own error: it *did* reach the
        # provider, and a maybe-sent outcome must not be mistaken for "not called".
        throw_new_error_on_trip=False,
        name=name,
    )


breaker = new_breaker()


def breaker_closed_at() -> datetime | None:
    """While the breaker is open: when the next trial call may go; else None."""
    if breaker.current_state != pybreaker.STATE_OPEN:
        return None
    opened = [x for x in breaker.listeners if isinstance(x, _OpenedAt)]
    since = time.monotonic() - opened[0].at if opened else 0.0
    remaining = breaker.reset_timeout - since
    if remaining <= 0:
        return None  # due for its half-open trial
    return timezone.now() + timedelta(seconds=remaining)


def backoff(attempt: int) -> timedelta:
    """Exponential backoff with full jitter: retries of many messages spread out."""
    base = tunable("MESSAGE_RETRY_BASE_S", 5.0)
    cap = tunable("MESSAGE_RETRY_CAP_S", 600.0)
    return timedelta(seconds=random.uniform(0, min(cap, base * 2 ** max(0, attempt - 1))))  # noqa: S311


def reconcile_grace() -> timedelta:
    """How old a claim must be before another job may take it over and reconcile.

    A job only starts its provider call within the first half of the grace period after
    its claim, and the call's timeout is under the other half: so when a claim is older
    than the grace period, its call has finished or died, and `find_sent` tells the truth.
    """
    grace = tunable("MESSAGE_RECONCILE_GRACE_S", 120.0)
    timeout = tunable("MESSAGE_SEND_TIMEOUT_S", 10.0)
    if timeout >= grace / 2:
        raise ImproperlyConfigured("MESSAGE_SEND_TIMEOUT_S must be under half of MESSAGE_RECONCILE_GRACE_S")
    return timedelta(seconds=grace)


@on_stall(RETRY)
@app.task(queue=SEND_QUEUE, name=SEND_TASK)
def send_message(message_id: int) -> str:
    """Send one OutboundMessage (exactly once per intent; see docs/messaging.md)."""
    with request_context(source="worker"):
        try:
            return deliver(message_id)
        finally:
            # Worker threads are pooled, not request-scoped: nothing else closes this.
            if not connection.in_atomic_block:
                connection.close()


def deliver(message_id: int, *, takeover_after: timedelta | None = None) -> str:
    """One pass of the send algorithm; returns what happened (for logs and tests).

    `takeover_after` overrides the grace period for taking over a `sending` claim: only
    for a caller that knows no other worker is alive (tests, repairs).
    """
    grace = reconcile_grace()
    max_attempts = int(settings.MESSAGE_MAX_ATTEMPTS)
    closed_at = breaker_closed_at()
    if closed_at is not None:
        defer_send(message_id, at=closed_at)  # no claim, no attempt used
        return "breaker_open"
    claim = message_claim(
        message_id=message_id,
        grace=grace if takeover_after is None else takeover_after,
        max_attempts=max_attempts,
    )
    if claim.action == "wait":
        defer_send(message_id, at=claim.until)
        return "wait"
    if claim.message is None or claim.token is None:
        return "done"
    claimed = time.monotonic()
    message, token = claim.message, claim.token
    try:
        provider = get_provider(message.provider)
    except ProviderError as exc:  # not configured in this process: nothing was called
        if claim.action == "reconcile":
            message_hold(
                message_id=message_id,
                token=token,
                until=timezone.now() + grace,
                error_code=exc.code,
                error_message=exc.message,
            )
        else:
            retry_at = timezone.now() + backoff(message.attempts)
            message_release(
                message_id=message_id,
                token=token,
                next_attempt_at=retry_at,
                refund_attempt=True,
                error_code=exc.code,
                error_message=exc.message,
            )
        return "not_configured"
    if claim.action == "reconcile":
        try:
            found = breaker.call(provider.find_sent, message)
        except (pybreaker.CircuitBreakerError, ProviderError) as exc:
            message_hold(
                message_id=message_id,
                token=token,
                until=timezone.now() + grace,
                error_code=getattr(exc, "code", "breaker_open"),
                error_message=str(exc),
            )
            return "unknown"
        if found is not None:
            message_record_sent(message_id=message_id, sid=found.sid)
            return "reconciled"
        claim = message_begin_resend(message_id=message_id, token=token, max_attempts=max_attempts)
        if claim.message is None or claim.token is None:
            return "done"
        claimed = time.monotonic()
        message, token = claim.message, claim.token
    return _send(provider, message, token, claimed, grace, max_attempts)


def _send(
    provider: MessagingProvider,
    message: OutboundMessage,
    token: datetime,
    claimed: float,
    grace: timedelta,
    max_attempts: int,
) -> str:
    pk = message.pk

    def post() -> ProviderReceipt:
        # Checked at the last moment (after any wait for the breaker's lock): past half
        # the grace period, a taker-over may already be reconciling this claim.
        if time.monotonic() - claimed > grace.total_seconds() / 2:
            raise _TooLate
        return provider.send(message, status_callback=status_callback_url(message))

    try:
        receipt = breaker.call(post)
    except _TooLate:
        message_release(message_id=pk, token=token, next_attempt_at=timezone.now(), refund_attempt=True)
        return "stale_claim"
    except pybreaker.CircuitBreakerError:
        retry_at = breaker_closed_at() or timezone.now()
        message_release(message_id=pk, token=token, next_attempt_at=retry_at, refund_attempt=True)
        return "breaker_open"
    except ProviderError as exc:
        logger.warning("message %s: %s (attempt %s)", pk, exc, message.attempts)
        # A definitely-not-taken failure that left the breaker open is the provider's
        # outage, not this message's fault: its attempt is given back on release, so such
        # an outage, however long, never uses up a message's attempts. A maybe-taken one
        # keeps its attempt (the provider may have the message).
        outage = exc.retryable and not exc.maybe_sent and breaker.current_state == pybreaker.STATE_OPEN
        if not exc.retryable or (not exc.maybe_sent and not outage and message.attempts >= max_attempts):
            message_fail(message_id=pk, token=token, error_code=exc.code, error_message=exc.message)
            _send_retry_outcome(message, "failed", retryable=exc.retryable)
            return "failed"
        reopens = breaker_closed_at() or timezone.now()
        if exc.maybe_sent:
            # Like a crash mid-call: reconcile once the call has surely ended.
            message_hold(
                message_id=pk,
                token=token,
                until=max(token + grace + backoff(1), reopens),
                error_code=exc.code,
                error_message=exc.message,
            )
            _send_retry_outcome(message, "unknown")
            return "unknown"
        retry_at = max(timezone.now() + backoff(message.attempts), reopens)
        message_release(
            message_id=pk,
            token=token,
            next_attempt_at=retry_at,
            refund_attempt=outage,
            error_code=exc.code,
            error_message=exc.message,
        )
        _send_retry_outcome(message, "retry")
        return "retry"
    message_record_sent(message_id=message.pk, sid=receipt.sid)
    _send_retry_outcome(message, "sent")
    if message.provider == "simulator":
        simulate_delivery.configure(schedule_in={"seconds": 2}).defer(message_id=message.pk, sid=receipt.sid)
    return "sent"


@on_stall(RETRY)
@app.task(
    queue="messages",
    name="messaging.simulate_delivery",
    retry=RetryStrategy(max_attempts=5, exponential_wait=2),
)
def simulate_delivery(message_id: int, sid: str) -> int:
    """The simulator's 'delivered' report, sent like Twilio's through the status webhook
    (so the same forward-only code applies it). Retried while the web server is away."""
    return deliver_status(message_id=message_id, provider_sid=sid)


def requeue_stuck_messages(*, stale_after: timedelta | None = None) -> int:
    """Re-defer a job for every message that should be moving and may have none: queued
    and due for a while, or claimed longer ago than the grace period (the job will take
    the claim over and reconcile). Idempotent: one waiting job per message at most."""
    now = timezone.now()
    stale = (
        stale_after if stale_after is not None else timedelta(seconds=tunable("MESSAGE_STUCK_AFTER_S", 60))
    )
    ids = list(
        OutboundMessage.objects.filter(
            Q(status=DeliveryStatus.QUEUED, next_attempt_at__lte=now - stale)
            | Q(status=DeliveryStatus.QUEUED, next_attempt_at__isnull=True, created_at__lte=now - stale)
            | Q(status=DeliveryStatus.SENDING, claimed_at__lte=now - reconcile_grace())
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:REQUEUE_BATCH]
    )
    return sum(defer_send(pk) for pk in ids)


@on_stall(RETRY)
@app.periodic(cron="* * * * *", periodic_id="requeue_stuck")
@app.task(queue="messages", name="messaging.requeue_stuck", queueing_lock="messaging.requeue_stuck")
def requeue_stuck(timestamp: int) -> int:
    with request_context(source="worker"):
        try:
            count = requeue_stuck_messages()
        finally:
            if not connection.in_atomic_block:
                connection.close()
    if count:
        logger.info("re-deferred %d stuck messages", count)
    return count


@on_stall(RETRY)
@app.periodic(cron="29 * * * *", periodic_id="prune-inbound-raw")
@app.task(
    queue="housekeeping", name="messaging.prune_inbound_raw", queueing_lock="messaging.prune_inbound_raw"
)
def prune_inbound_raw(timestamp: int) -> int:
    """Drop the provider's raw request of inbound messages older than INBOUND_RAW_KEEP_DAYS."""
    cutoff = core_retention.days_ago(settings.INBOUND_RAW_KEEP_DAYS)
    return core_retention.housekeeping("inbound_raw", lambda: retention.inbound_raw_prune(older_than=cutoff))
