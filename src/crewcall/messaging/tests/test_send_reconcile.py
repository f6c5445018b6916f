"""After a worker died mid-send: claims, take-over, reconciliation, the safety net, and
statuses that never move back."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from crewcall.messaging import tasks
from crewcall.messaging.models import OutboundMessage
from crewcall.messaging.outbox import message_claim, message_queue, message_record_sent
from crewcall.messaging.tests.conftest import WHATSAPP_FROM
from crewcall.messaging.tests.fake_twilio import FakeTwilio

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("twilio_settings", "breaker")]

GRACE = timedelta(seconds=1)


def queue(employee: Any, key: str, body: str = "Hi, are you in?", **kw: Any) -> OutboundMessage:
    with transaction.atomic():
        message, _ = message_queue(employee=employee, kind="invitation", intent_key=key, body=body, **kw)
    return message


def die_after_claim(message: OutboundMessage) -> None:
    """What a worker killed right after its claim leaves behind: a `sending` row."""
    claim = message_claim(message_id=message.pk, grace=GRACE, max_attempts=5)
    assert claim.action == "send"


def seed_provider(fake: FakeTwilio, message: OutboundMessage, **form: str) -> str:
    """What a worker killed right after its POST left at the provider."""
    fields = {
        "To": f"whatsapp:{message.to_number}",
        "From": f"whatsapp:{WHATSAPP_FROM}",
        "Body": message.body,
    }
    return str(fake.create({**fields, **form})["sid"])


def test_a_sent_message_is_recorded_without_a_second_post(agency: Any, fake_twilio: FakeTwilio) -> None:
    message = queue(agency.employee(), "invite:1")
    die_after_claim(message)
    sid = seed_provider(fake_twilio, message)

    assert tasks.deliver(message.pk, takeover_after=timedelta(0)) == "reconciled"
    message.refresh_from_db()
    assert (message.status, message.provider_sid, message.attempts) == ("sent", sid, 1)
    assert fake_twilio.posts() == []


def test_an_unsent_message_is_sent_after_reconciling(agency: Any, fake_twilio: FakeTwilio) -> None:
    message = queue(agency.employee(), "invite:1")
    die_after_claim(message)
    # Another message to the same number with another text is not this one.
    seed_provider(fake_twilio, message, Body="Something else")

    assert tasks.deliver(message.pk, takeover_after=timedelta(0)) == "sent"
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 2)
    assert len(fake_twilio.posts()) == 1


def test_a_young_claim_is_left_alone(agency: Any, fake_twilio: FakeTwilio, settings: Any) -> None:
    settings.MESSAGE_RECONCILE_GRACE_S = 60.0  # the claim below is far younger
    message = queue(agency.employee(), "invite:1")
    die_after_claim(message)

    assert tasks.deliver(message.pk) == "wait"  # it may still be in flight elsewhere
    assert fake_twilio.requests == []
    message.refresh_from_db()
    assert message.status == "sending"


def test_template_messages_are_matched_by_their_variables(
    agency: Any, fake_twilio: FakeTwilio, settings: Any
) -> None:
    settings.TWILIO_CONTENT_SIDS = {**settings.TWILIO_CONTENT_SIDS, "invitation": "HX" + "2" * 32}
    variables = {"1": "Emil", "2": "Summer Gala", "3": "24.07."}
    message = queue(agency.employee(), "invite:1", template_key="invitation", template_variables=variables)
    die_after_claim(message)
    sid = seed_provider(
        fake_twilio, message, Body="", ContentSid="HX" + "2" * 32, ContentVariables=_json(variables)
    )

    assert tasks.deliver(message.pk, takeover_after=timedelta(0)) == "reconciled"
    message.refresh_from_db()
    assert message.provider_sid == sid and fake_twilio.posts() == []


def test_a_provider_record_already_tied_to_another_message_is_not_reused(
    agency: Any, fake_twilio: FakeTwilio
) -> None:
    emil = agency.employee()
    first = queue(emil, "reminder:1", body="Same text")
    second = queue(emil, "reminder:2", body="Same text")
    die_after_claim(first)
    sid = seed_provider(fake_twilio, first)
    message_record_sent(message_id=first.pk, sid=sid)
    die_after_claim(second)

    assert tasks.deliver(second.pk, takeover_after=timedelta(0)) == "sent"
    assert len(fake_twilio.posts()) == 1
    second.refresh_from_db()
    assert second.provider_sid not in (None, sid)


def test_a_callback_that_came_first_is_not_moved_back(agency: Any, fake_twilio: FakeTwilio) -> None:
    message = queue(agency.employee(), "invite:1")
    die_after_claim(message)
    # The delivery callback overtook the worker's own record of the send.
    OutboundMessage.objects.filter(pk=message.pk).update(status="delivered", provider_sid="SM" + "a" * 32)

    assert message_record_sent(message_id=message.pk, sid="SM" + "a" * 32)
    message.refresh_from_db()
    assert message.status == "delivered" and message.sent_at is not None
    assert tasks.deliver(message.pk, takeover_after=timedelta(0)) == "done"
    assert fake_twilio.requests == []


def test_the_safety_net_requeues_stuck_messages_once(
    agency: Any, fake_twilio: FakeTwilio, drain: Callable[..., None]
) -> None:
    from django.db import connection

    lost = queue(agency.employee(), "invite:1")  # its job is lost below
    stuck = queue(agency.employee(), "invite:2")  # its worker died after the POST
    die_after_claim(stuck)
    sid = seed_provider(fake_twilio, stuck)
    with connection.cursor() as cur:
        cur.execute("DELETE FROM procrastinate_jobs")
    OutboundMessage.objects.filter(pk=stuck.pk).update(claimed_at=timezone.now() - timedelta(minutes=5))

    assert tasks.requeue_stuck_messages(stale_after=timedelta(0)) == 2
    assert tasks.requeue_stuck_messages(stale_after=timedelta(0)) == 0  # one waiting job each
    drain(lambda: set(OutboundMessage.objects.values_list("status", flat=True)) == {"sent"})

    stuck.refresh_from_db()
    assert stuck.provider_sid == sid
    assert fake_twilio.posts_by_to() == {f"whatsapp:{lost.to_number}": 1}


def test_timeout_settings_that_break_the_argument_are_refused(settings: Any) -> None:
    from django.core.exceptions import ImproperlyConfigured

    settings.MESSAGE_SEND_TIMEOUT_S = 1.0
    settings.MESSAGE_RECONCILE_GRACE_S = 1.5
    with pytest.raises(ImproperlyConfigured):
        tasks.reconcile_grace()


def _json(value: dict[str, str]) -> str:
    import json

    return json.dumps(value)
