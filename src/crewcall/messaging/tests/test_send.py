"""The send job against the real Twilio SDK and the fake server: requests, retries,
permanent failures, the circuit breaker, delivery through the in-process worker."""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import Callable
from typing import Any

import pybreaker
import pytest
from django.db import transaction

from crewcall.messaging import tasks
from crewcall.messaging.models import OutboundMessage
from crewcall.messaging.outbox import message_queue
from crewcall.messaging.providers.twilio import TwilioProvider
from crewcall.messaging.tests.conftest import ACCOUNT_SID, AUTH_TOKEN, WHATSAPP_FROM
from crewcall.messaging.tests.fake_twilio import Fail, FakeTwilio
from crewcall.testing.jobs import run_jobs

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("twilio_settings", "breaker")]

Drain = Callable[..., None]


def queue(employee: Any, key: str, body: str = "Hi, are you in for the Gala?", **kw: Any) -> OutboundMessage:
    with transaction.atomic():
        message, _ = message_queue(employee=employee, kind="invitation", intent_key=key, body=body, **kw)
    return message


def settled(*pks: int) -> Callable[[], bool]:
    return lambda: not OutboundMessage.objects.filter(pk__in=pks, status__in=["queued", "sending"]).exists()


@pytest.fixture
def answers_in_time(settings: Any) -> None:
    """For tests of what the provider answers (429, 400): a client timeout that a loaded
    machine does not reach on loopback. With the suite's 0.4 s, a 429 answered late became
    a read timeout (maybe taken: held, reconciled, resent), and the throttling test once
    counted one 429 retry instead of two; `Fail(status=429, delay=0.6)` reproduces that."""
    settings.MESSAGE_SEND_TIMEOUT_S = 10.0
    settings.MESSAGE_RECONCILE_GRACE_S = 60.0  # more than twice the timeout (reconcile_grace)


def test_sends_text_through_the_sdk(
    agency: Any, fake_twilio: FakeTwilio, drain: Drain, settings: Any
) -> None:
    emil = agency.employee()
    message = queue(emil, "invite:1")
    drain(settled(message.pk))

    [post] = fake_twilio.posts()
    assert post.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert post.form["To"] == f"whatsapp:{emil.phone_number}"
    assert post.form["From"] == f"whatsapp:{WHATSAPP_FROM}"
    assert post.form["Body"] == "Hi, are you in for the Gala?"
    assert "ContentSid" not in post.form
    assert post.form["StatusCallback"] == f"{settings.PUBLIC_URL}/webhooks/twilio/status?m={message.pk}"
    assert post.authorization == "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()

    message.refresh_from_db()
    assert (message.status, message.attempts, message.error_code) == ("sent", 1, "")
    assert message.provider_sid == fake_twilio.messages[0]["sid"] and message.sent_at is not None
    # Every change the job made is in the history as the worker's.
    sources = {e.pgh_context["source"] for e in message.history.filter(pgh_label="update")}  # type: ignore[attr-defined]
    assert sources == {"worker"}


def test_templates_go_out_as_content_with_variables(
    agency: Any, fake_twilio: FakeTwilio, drain: Drain, settings: Any
) -> None:
    settings.TWILIO_CONTENT_SIDS = {**settings.TWILIO_CONTENT_SIDS, "invitation": "HX" + "1" * 32}
    variables = {"1": "Emil", "2": "Gala", "3": "24.12."}
    templated = queue(agency.employee(), "invite:1", template_key="invitation", template_variables=variables)
    plain = queue(agency.employee(), "nudge:1", template_key="nudge", template_variables={"1": "x"})
    drain(settled(templated.pk, plain.pk))

    by_to = {p.form["To"]: p.form for p in fake_twilio.posts()}
    sent = by_to[f"whatsapp:{templated.to_number}"]
    assert sent["ContentSid"] == "HX" + "1" * 32 and "Body" not in sent
    assert json.loads(sent["ContentVariables"]) == variables
    # No content SID configured for this key: plain text.
    assert by_to[f"whatsapp:{plain.to_number}"]["Body"] == plain.body


def test_server_errors_are_retried_after_reconciling_and_sent_once(
    agency: Any, fake_twilio: FakeTwilio, drain: Drain
) -> None:
    message = queue(agency.employee(), "invite:1")
    fake_twilio.script(Fail(status=500), Fail(status=503))
    drain(settled(message.pk))

    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 3)
    assert len(fake_twilio.posts()) == 3
    assert len(fake_twilio.messages) == 1  # the two 5xx created nothing, the third did
    # A 5xx may have been taken: each retry asked the provider first.
    assert len([r for r in fake_twilio.requests if r.method == "GET"]) == 2


def test_a_5xx_that_was_in_fact_taken_is_not_sent_again(
    agency: Any, fake_twilio: FakeTwilio, drain: Drain
) -> None:
    message = queue(agency.employee(), "invite:1")
    fake_twilio.script(Fail(status=500, created=True))
    drain(settled(message.pk))

    message.refresh_from_db()
    assert message.status == "sent" and message.provider_sid == fake_twilio.messages[0]["sid"]
    assert len(fake_twilio.posts()) == 1 and len(fake_twilio.messages) == 1


def test_a_timeout_is_reconciled_not_resent(agency: Any, fake_twilio: FakeTwilio, drain: Drain) -> None:
    message = queue(agency.employee(), "invite:1")
    # Answered after the client's 0.4 s timeout: the message exists, the client never heard.
    fake_twilio.script(Fail(status=200, delay=0.8))
    drain(settled(message.pk))

    message.refresh_from_db()
    assert message.status == "sent" and message.provider_sid == fake_twilio.messages[0]["sid"]
    assert len(fake_twilio.posts()) == 1 and len(fake_twilio.messages) == 1
    assert message.attempts == 1


@pytest.mark.usefixtures("answers_in_time")
def test_throttling_backs_off_and_sends_once(agency: Any, fake_twilio: FakeTwilio, drain: Drain) -> None:
    message = queue(agency.employee(), "invite:1")
    fake_twilio.script(Fail(status=429), Fail(status=429))
    drain(settled(message.pk))

    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 3)
    assert len(fake_twilio.posts()) == 3 and len(fake_twilio.messages) == 1
    # Each 429 put it back in the queue with a time to try again (not immediately blind).
    retries = [e for e in message.history.order_by("pgh_id") if e.status == "queued" and e.next_attempt_at]  # type: ignore[attr-defined]
    assert len(retries) == 2 and all(e.error_code == "http_429" for e in retries)


@pytest.mark.usefixtures("answers_in_time")
def test_a_refusal_fails_at_once_with_twilios_code(
    agency: Any, fake_twilio: FakeTwilio, drain: Drain
) -> None:
    message = queue(agency.employee(), "invite:1")
    fake_twilio.script(Fail(status=400, code=63016))
    drain(settled(message.pk))
    drain(lambda: True)  # nothing else is waiting to run

    message.refresh_from_db()
    assert (message.status, message.error_code, message.attempts) == ("failed", "63016", 1)
    assert message.failed_at is not None and message.provider_sid is None
    assert len(fake_twilio.posts()) == 1


def test_gives_up_after_max_attempts(
    agency: Any, fake_twilio: FakeTwilio, drain: Drain, settings: Any
) -> None:
    settings.MESSAGE_MAX_ATTEMPTS = 2
    message = queue(agency.employee(), "invite:1")
    fake_twilio.script(*[Fail(status=429)] * 5)
    drain(settled(message.pk))

    message.refresh_from_db()
    assert (message.status, message.error_code, message.attempts) == ("failed", "http_429", 2)
    assert len(fake_twilio.posts()) == 2


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_provider_down_opens_the_breaker_and_loses_nothing(
    agency: Any,
    fake_twilio: FakeTwilio,
    drain: Drain,
    settings: Any,
    breaker: pybreaker.CircuitBreaker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings.MESSAGE_MAX_ATTEMPTS = 2  # fewer than the outage's failed calls below
    messages = [queue(agency.employee(), f"invite:{i}") for i in range(8)]
    calls: list[str] = []
    real_send = TwilioProvider.send

    def spy(self: TwilioProvider, message: OutboundMessage, *, status_callback: str) -> Any:
        calls.append(breaker.current_state)
        return real_send(self, message, status_callback=status_callback)

    monkeypatch.setattr(TwilioProvider, "send", spy)
    settings.TWILIO_API_BASE = f"http://127.0.0.1:{_closed_port()}"  # nothing listens: refused

    run_jobs()
    # Three refused connections (fail_max) opened it; the other jobs did not call.
    assert breaker.current_state == "open"
    assert calls == ["closed"] * 3
    rows = OutboundMessage.objects.filter(pk__in=[m.pk for m in messages])
    assert set(rows.values_list("status", flat=True)) == {"queued"}
    # Waiting used no attempt, and the failure that opened the breaker was given back.
    assert sum(rows.values_list("attempts", flat=True)) == 2
    assert fake_twilio.posts() == []

    # Still down: each half-open trial fails and reopens it; nobody else calls.
    drain(lambda: len(calls) >= 6, timeout=10)
    assert set(calls) == {"closed", "half-open"} and breaker.current_state == "open"

    settings.TWILIO_API_BASE = fake_twilio.url  # the provider is back
    drain(settled(*[m.pk for m in messages]))
    assert "open" not in calls  # never called while open
    assert set(rows.values_list("status", flat=True)) == {"sent"}  # no attempts used up
    assert sorted(fake_twilio.posts_by_to().values()) == [1] * 8
    assert breaker.current_state == "closed"


@pytest.mark.usefixtures("answers_in_time")
def test_breaker_ignores_refusals_of_single_messages(
    agency: Any, fake_twilio: FakeTwilio, drain: Drain, breaker: pybreaker.CircuitBreaker
) -> None:
    messages = [queue(agency.employee(), f"invite:{i}") for i in range(5)]
    fake_twilio.script(*[Fail(status=400, code=21211)] * 4)
    drain(settled(*[m.pk for m in messages]))
    assert breaker.current_state == "closed" and breaker.fail_counter == 0
    statuses = sorted(OutboundMessage.objects.values_list("status", flat=True))
    assert statuses == ["failed"] * 4 + ["sent"]


def test_simulator_sends_without_network(
    agency: Any, drain: Drain, settings: Any, fake_twilio: FakeTwilio
) -> None:
    settings.MESSAGING_PROVIDER = "simulator"
    message = queue(agency.employee(), "invite:1")
    drain(settled(message.pk))
    message.refresh_from_db()
    assert (message.status, message.provider_sid) == ("sent", f"SIM{message.pk:012d}")
    assert fake_twilio.requests == []


def test_breaker_state_is_checked_before_claiming(agency: Any, breaker: pybreaker.CircuitBreaker) -> None:
    message = queue(agency.employee(), "invite:1")
    breaker.open()
    assert tasks.deliver(message.pk) == "breaker_open"
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("queued", 0)


def test_a_claim_too_old_to_send_under_is_released_unsent(
    agency: Any, fake_twilio: FakeTwilio, monkeypatch: pytest.MonkeyPatch
) -> None:
    message = queue(agency.employee(), "invite:1")

    class SlowClock:  # the worker stalls 10 s between each step (a GC pause, a frozen VM)
        now = 0.0

        def monotonic(self) -> float:
            self.now += 10.0
            return self.now

    monkeypatch.setattr(tasks, "time", SlowClock())
    assert tasks.deliver(message.pk) == "stale_claim"
    assert fake_twilio.requests == []
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("queued", 0)


def test_a_worker_without_twilio_settings_calls_nothing(agency: Any, settings: Any) -> None:
    message = queue(agency.employee(), "invite:1")
    settings.TWILIO_AUTH_TOKEN = ""
    assert tasks.deliver(message.pk) == "not_configured"
    message.refresh_from_db()
    assert (message.status, message.attempts, message.error_code) == ("queued", 0, "not_configured")
