"""conversation_timeline: one employee's messages both ways, merged in time order."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crewcall.messaging.models import InboundMessage, OutboundMessage
from crewcall.messaging.selectors import conversation_timeline
from crewcall.staffing.services import invitation_create

# Each message in its own transaction, as in production: the database stamps
# created_at/received_at with the transaction's start, so creation order is time order.
pytestmark = pytest.mark.django_db(transaction=True)


def _sent(employee: Any, body: str, **kw: Any) -> OutboundMessage:
    n = OutboundMessage.objects.count()
    later = {k: kw.pop(k) for k in ("status", "error_code", "error_message") if k in kw}
    message = OutboundMessage.objects.create(
        employee=employee, kind=kw.pop("kind", "invitation"), intent_key=f"t:{employee.pk}:{n}:{body}",
        to_number=employee.phone_number, body=body, provider="simulator", **kw,
    )  # fmt: skip
    if later:
        # attempts: past queued, a claim counted one (the database holds it)
        OutboundMessage.objects.filter(pk=message.pk).update(attempts=1, **later)
    return message


def _received(employee: Any, body: str = "", **kw: Any) -> InboundMessage:
    n = InboundMessage.objects.count()
    return InboundMessage.objects.create(
        provider_sid=f"SMt{employee.pk}x{n}", from_number=employee.phone_number, body=body,
        employee=employee, **kw,
    )  # fmt: skip


def test_the_timeline_merges_both_directions_in_time_order(agency) -> None:
    emma = agency.employee(name="Emma")
    other = agency.employee(name="Otto")
    gala = agency.event(title="Gala")
    ball = agency.event(title="Ball")
    gala_inv = invitation_create(actor=agency.actor, event_id=gala.pk, employee_id=emma.pk)
    _sent(emma, "Gala, can you?", event=gala, invitation=gala_inv)
    _received(emma, button_payload=f"YES_{gala_inv.pk}", invitation=gala_inv, outcome="applied")
    _sent(emma, "You are booked", kind="confirmation", event=gala, status="failed",
          error_code="63016", error_message="outside window")  # fmt: skip
    _sent(emma, "Ball, can you?", event=ball)
    _received(emma, body="what?", outcome="unparseable", outcome_detail="no answer found")
    _sent(other, "not Emma's", event=gala)
    _received(other, body="ja")
    InboundMessage.objects.create(
        provider_sid="SMpending", from_number=emma.phone_number, body="still pending"
    )

    timeline = conversation_timeline(employee_id=emma.pk)

    assert [(e.direction, e.text) for e in timeline] == [
        ("out", "Gala, can you?"),
        ("in", f"YES_{gala_inv.pk}"),
        ("out", "You are booked"),
        ("out", "Ball, can you?"),
        ("in", "what?"),
        ("in", "still pending"),
    ]
    first, answer, failed, _, question, _ = timeline
    assert (first.kind, first.status, first.event_id, first.event_title) == (
        "invitation",
        "queued",
        gala.pk,
        "Gala",
    )
    assert (answer.kind, answer.status, answer.event_id, answer.event_title) == (
        "reply",
        "applied",
        gala.pk,
        "Gala",
    )
    assert failed.status == "failed" and failed.status_label == "Failed" and "63016" in failed.detail
    assert (question.event_id, question.event_title, question.detail) == (None, "", "no answer found")
    assert first.outgoing and not answer.outgoing

    about_gala = conversation_timeline(employee_id=emma.pk, event_id=gala.pk)
    assert [e.text for e in about_gala] == ["Gala, can you?", f"YES_{gala_inv.pk}", "You are booked"]
    assert [e.text for e in conversation_timeline(employee_id=emma.pk, limit=2)] == ["what?", "still pending"]
    assert conversation_timeline(employee_id=emma.pk, event_id=ball.pk)[0].text == "Ball, can you?"


def _conversation(agency: Any, employee: Any, size: int) -> None:
    event = agency.event(title=f"Event {size}")
    inv = invitation_create(actor=agency.actor, event_id=event.pk, employee_id=employee.pk)
    for i in range(size):
        _sent(employee, f"ask {i}", event=event, invitation=inv)
        _received(employee, body=f"reply {i}", invitation=inv if i % 2 else None)


@pytest.mark.parametrize("event_filter", [False, True])
def test_the_timeline_costs_two_queries_whatever_its_length(agency, event_filter: bool) -> None:
    small, large = agency.employee(name="Small"), agency.employee(name="Large")
    _conversation(agency, small, 1)
    _conversation(agency, large, 30)
    counts = []
    for employee in (small, large):
        event_id = (
            OutboundMessage.objects.filter(employee=employee).values_list("event_id", flat=True).first()
            if event_filter
            else None
        )
        with CaptureQueriesContext(connection) as queries:
            timeline = conversation_timeline(employee_id=employee.pk, event_id=event_id)
            texts = [(e.text, e.event_title, e.status_label) for e in timeline]
        counts.append(len(queries))
        assert texts
    assert counts == [2, 2]
    assert len(conversation_timeline(employee_id=large.pk)) == 60
