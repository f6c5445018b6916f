"""Attempt bookkeeping (docs/messaging.md, "Attempts"): a claim that may call the provider
counts one attempt, a take-over counts none, and an attempt is given back only with its
own release, when the provider provably did not take the message. One test per path."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pybreaker
import pytest
from django.db import transaction

from crewcall.messaging import tasks
from crewcall.messaging.integrity import ATTEMPTS_FOLLOW_CLAIMS, ATTEMPTS_RULE_MIGRATION
from crewcall.messaging.models import OutboundMessage
from crewcall.messaging.outbox import message_claim, message_queue
from crewcall.messaging.providers import get_provider
from crewcall.messaging.tests.conftest import WHATSAPP_FROM
from crewcall.messaging.tests.fake_twilio import Fail, FakeTwilio
from crewcall.ops.integrity.registry import run_checks
from crewcall.testing.owner import as_owner, migrate_to
from crewcall.testing.sql import refused, run

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("twilio_settings", "breaker")]

Drain = Callable[..., None]
GRACE = timedelta(seconds=1)


@pytest.fixture
def touchy_breaker(monkeypatch: pytest.MonkeyPatch) -> pybreaker.CircuitBreaker:
    """A breaker that opens on the first failure: every retryable failure is an outage."""
    fresh = tasks.new_breaker(fail_max=1, reset_timeout=0.3)
    monkeypatch.setattr(tasks, "breaker", fresh)
    return fresh


def queue(employee: Any, key: str = "invite:1") -> OutboundMessage:
    with transaction.atomic():
        message, _ = message_queue(employee=employee, kind="invitation", intent_key=key, body="Are you in?")
    return message


def settled(pk: int) -> Callable[[], bool]:
    return lambda: not OutboundMessage.objects.filter(pk=pk, status__in=["queued", "sending"]).exists()


def history(message: OutboundMessage) -> list[tuple[str, int]]:
    return [(e.status, e.attempts) for e in message.history.order_by("pgh_id")]  # type: ignore[attr-defined]


def attempt_findings(message: OutboundMessage) -> list[str]:
    """What the integrity check says about this message's attempts over its history."""
    [result] = run_checks([ATTEMPTS_FOLLOW_CLAIMS])
    return [f.found or "" for f in result.findings if f.object_id == message.pk]


def die_after_claim(message: OutboundMessage) -> None:
    assert message_claim(message_id=message.pk, grace=GRACE, max_attempts=5).action == "send"


# --- A take-over after a lost answer (the measured case: `sent` with attempts = 0).


def test_a_lost_answer_in_an_outage_keeps_its_attempt_when_reconciled(
    agency: Any, fake_twilio: FakeTwilio, drain: Drain, touchy_breaker: pybreaker.CircuitBreaker
) -> None:
    message = queue(agency.employee())
    # Created, but answered after the client's 0.4 s timeout; the failure opens the breaker.
    fake_twilio.script(Fail(status=200, delay=0.8))
    drain(settled(message.pk))

    message.refresh_from_db()
    assert message.status == "sent" and message.provider_sid == fake_twilio.messages[0]["sid"]
    assert len(fake_twilio.posts()) == 1
    # One call was made and it created the message: one attempt, all the way through.
    assert message.attempts == 1
    assert all(attempts == 1 for status, attempts in history(message) if status != "queued")
    assert attempt_findings(message) == []


def test_a_lost_answer_in_an_outage_that_was_not_taken_counts_both_calls(
    agency: Any, fake_twilio: FakeTwilio, drain: Drain, touchy_breaker: pybreaker.CircuitBreaker
) -> None:
    message = queue(agency.employee())
    fake_twilio.script(Fail(status=500))  # maybe taken (it was not); the breaker opens
    drain(settled(message.pk))

    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 2)
    assert len(fake_twilio.posts()) == 2 and len(fake_twilio.messages) == 1
    assert attempt_findings(message) == []


# --- Take-overs after a crash: the dead claim's attempt stands, the take-over adds none.


def test_a_take_over_that_finds_the_message_adds_no_attempt(agency: Any, fake_twilio: FakeTwilio) -> None:
    message = queue(agency.employee())
    die_after_claim(message)
    fake_twilio.create(
        {"To": f"whatsapp:{message.to_number}", "From": f"whatsapp:{WHATSAPP_FROM}", "Body": message.body}
    )

    assert tasks.deliver(message.pk, takeover_after=timedelta(0)) == "reconciled"
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 1)
    assert attempt_findings(message) == []


def test_a_take_over_that_cannot_ask_the_provider_keeps_the_attempt(
    agency: Any, fake_twilio: FakeTwilio
) -> None:
    message = queue(agency.employee())
    die_after_claim(message)
    fake_twilio.script(Fail(status=500, methods=("GET",)))

    assert tasks.deliver(message.pk, takeover_after=timedelta(0)) == "unknown"
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sending", 1)

    # Asked again: nothing there, so a second call under a second attempt.
    assert tasks.deliver(message.pk, takeover_after=timedelta(0)) == "sent"
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 2)
    assert len(fake_twilio.posts()) == 1
    assert attempt_findings(message) == []


def test_a_resend_refused_in_an_outage_gives_back_only_its_own_attempt(
    agency: Any, fake_twilio: FakeTwilio, touchy_breaker: pybreaker.CircuitBreaker
) -> None:
    message = queue(agency.employee())
    die_after_claim(message)  # attempt 1: maybe called, never known
    fake_twilio.script(Fail(status=429))  # the resend (attempt 2) is throttled: not taken

    assert tasks.deliver(message.pk, takeover_after=timedelta(0)) == "retry"
    message.refresh_from_db()
    assert touchy_breaker.current_state == "open"
    assert (message.status, message.attempts) == ("queued", 1)
    assert attempt_findings(message) == []


# --- Releases: a refund only when the provider provably did not take it.


def test_an_outage_refusal_gives_its_attempt_back(
    agency: Any, fake_twilio: FakeTwilio, drain: Drain, touchy_breaker: pybreaker.CircuitBreaker
) -> None:
    message = queue(agency.employee())
    fake_twilio.script(Fail(status=429))

    assert tasks.deliver(message.pk) == "retry"
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("queued", 0)  # the documented refund

    drain(settled(message.pk))
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 1)
    assert history(message)[:4] == [("queued", 0), ("sending", 1), ("queued", 0), ("sending", 1)]
    assert attempt_findings(message) == []


def test_a_refusal_outside_an_outage_keeps_its_attempt(agency: Any, fake_twilio: FakeTwilio) -> None:
    message = queue(agency.employee())
    fake_twilio.script(Fail(status=429))

    assert tasks.deliver(message.pk) == "retry"
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("queued", 1)


def test_a_breaker_that_opened_after_the_claim_gives_the_attempt_back(
    agency: Any, fake_twilio: FakeTwilio, breaker: pybreaker.CircuitBreaker
) -> None:
    message = queue(agency.employee())
    claim = message_claim(message_id=message.pk, grace=GRACE, max_attempts=5)
    assert claim.message is not None and claim.token is not None
    breaker.open()  # another job's failure opened it between our claim and our call

    provider = get_provider(claim.message.provider)
    outcome = tasks._send(provider, claim.message, claim.token, time.monotonic(), GRACE, 5)
    assert outcome == "breaker_open" and fake_twilio.requests == []
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("queued", 0)
    assert attempt_findings(message) == []


def test_an_unknown_outcome_is_never_released(
    agency: Any, fake_twilio: FakeTwilio, touchy_breaker: pybreaker.CircuitBreaker
) -> None:
    message = queue(agency.employee())
    fake_twilio.script(Fail(status=503))

    assert tasks.deliver(message.pk) == "unknown"
    message.refresh_from_db()
    # Held in `sending` for reconciliation, its attempt still counted.
    assert (message.status, message.attempts, message.error_code) == ("sending", 1, "http_503")


# --- What the database holds, what the integrity check finds, and the data fix.


def test_past_queued_a_message_has_counted_an_attempt(agency: Any) -> None:
    message = queue(agency.employee())
    for status in ("sending", "failed"):
        refused(
            "UPDATE messaging_outboundmessage SET status = %s WHERE id = %s",
            [status, message.pk],
            rule="messaging_outboundmessage__attempts__past_queued",
        )
    die_after_claim(message)  # attempts 1
    refused(
        "UPDATE messaging_outboundmessage SET attempts = 0 WHERE id = %s",
        [message.pk],
        rule="messaging_outboundmessage__attempts__past_queued",
    )
    # Released back to `queued` with its refund: 0 is allowed there.
    run("UPDATE messaging_outboundmessage SET status = 'queued', attempts = 0 WHERE id = %s", [message.pk])


def test_attempts_changed_outside_a_claim_or_a_release_are_found(agency: Any) -> None:
    refunded_while_held, jumped, counted_at_birth, fine = (
        queue(agency.employee(), f"k:{i}") for i in range(4)
    )
    for message in (refunded_while_held, jumped, fine):
        die_after_claim(message)
    # What the old outage refund did: one less while the claim stays in `sending`.
    run(
        "UPDATE messaging_outboundmessage SET attempts = 2, claimed_at = now() WHERE id = %s",
        [refunded_while_held.pk],
    )
    run("UPDATE messaging_outboundmessage SET attempts = 1 WHERE id = %s", [refunded_while_held.pk])
    run("UPDATE messaging_outboundmessage SET attempts = 3, claimed_at = now() WHERE id = %s", [jumped.pk])
    run("UPDATE messaging_outboundmessage SET attempts = 1 WHERE id = %s", [counted_at_birth.pk])
    # A release with its refund, and a take-over (new claim, no attempt): both by the rule.
    run("UPDATE messaging_outboundmessage SET status = 'queued', attempts = 0 WHERE id = %s", [fine.pk])
    die_after_claim(fine)
    run("UPDATE messaging_outboundmessage SET claimed_at = now() - interval '1 s' WHERE id = %s", [fine.pk])

    [result] = run_checks([ATTEMPTS_FOLLOW_CLAIMS])
    found = {f.object_id: f.found for f in result.findings}
    assert found == {
        refunded_while_held.pk: "version 4: sending 2 -> sending 1",
        jumped.pk: "version 3: sending 1 -> sending 3",
        counted_at_birth.pk: "version 2: queued 0 -> queued 1",
    }


def test_the_data_fix_counts_one_attempt_for_messages_past_queued(agency: Any) -> None:
    """Migration 0005 on rows the old code wrote: `sent` and `sending` with attempts = 0."""
    sent_at_zero, held_at_zero, waiting = (queue(agency.employee(), f"k:{i}") for i in range(3))
    before, fix = ("messaging", "0004_inbound_raw_retention"), ATTEMPTS_RULE_MIGRATION
    migrate_to([before])
    try:
        for message in (sent_at_zero, held_at_zero):
            run("UPDATE messaging_outboundmessage SET status = 'sending' WHERE id = %s", [message.pk])
        run(
            "UPDATE messaging_outboundmessage SET status = 'sent', provider_sid = 'SMold' WHERE id = %s",
            [sent_at_zero.pk],
        )
    finally:
        migrate_to([fix])

    rows = dict(OutboundMessage.objects.values_list("pk", "attempts"))
    assert rows == {sent_at_zero.pk: 1, held_at_zero.pk: 1, waiting.pk: 0}
    last = sent_at_zero.history.order_by("-pgh_id").first()  # type: ignore[attr-defined]
    assert (last.status, last.attempts, last.pgh_context) == ("sent", 1, {"source": "repair"})
    # The check reads the data fix as the repair it is, even where clocks put it after the
    # migration's record.
    shift = "UPDATE django_migrations SET applied = applied {} interval '1 hour' WHERE app = %s AND name = %s"
    as_owner(shift.format("-"), fix)
    try:
        assert attempt_findings(sent_at_zero) == attempt_findings(held_at_zero) == []
    finally:
        as_owner(shift.format("+"), fix)
        migrate_to()  # the migrations after the fix, too
