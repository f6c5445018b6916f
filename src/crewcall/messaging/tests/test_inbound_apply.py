"""Received, then applied: the webhook keeps the message and queues one apply job; the job
applies each sender's messages in order, side by side with other appliers, and sets
aside a message it cannot apply instead of blocking the sender behind it."""

from __future__ import annotations

import pytest
from django.db import connection

from crewcall.messaging.inbound import inbound_receive
from crewcall.messaging.models import InboundMessage, OutboundMessage
from crewcall.staffing import replies
from crewcall.staffing.models import Invitation
from crewcall.staffing.replies import inbound_apply_next
from crewcall.staffing.services import invitation_create
from crewcall.staffing.tasks import apply_inbound
from crewcall.testing.locks import row_locked_elsewhere
from crewcall.testing.webhooks import inbound_params, new_sid, signed_headers

INBOUND = "/webhooks/twilio/whatsapp"


def apply_jobs_waiting() -> int:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'messaging.apply_inbound'"
            " AND status = 'todo'"
        )
        return int(cur.fetchone()[0])


def receive(phone: str | None, body: str) -> int:
    assert phone is not None
    params = inbound_params(phone, body)
    return inbound_receive(
        provider_sid=params["MessageSid"], from_number=params["From"], body=body, raw=params
    ).message_id


@pytest.mark.django_db
def test_the_webhook_keeps_the_message_and_queues_one_apply_job(client, agency) -> None:
    invitation = invitation_create(
        actor=agency.actor, event_id=agency.event().pk, employee_id=agency.employee().pk
    )
    phone = invitation.employee.phone_number
    assert phone is not None
    for body in ("ja", "nein"):
        params = inbound_params(phone, body)
        assert client.post(INBOUND, params, **signed_headers(INBOUND, params)).status_code == 200
    assert list(InboundMessage.objects.values_list("outcome", flat=True)) == ["pending", "pending"]
    assert apply_jobs_waiting() == 1  # one waiting job takes every pending message
    invitation.refresh_from_db()
    assert invitation.status == "asked"  # nothing applied on the request's path

    assert apply_inbound() == 2
    invitation.refresh_from_db()
    assert invitation.status == "cancelled"  # "ja" first, then "nein" withdraws it: in order
    assert set(InboundMessage.objects.values_list("outcome", flat=True)) == {"applied"}
    assert apply_inbound() == 0


@pytest.mark.django_db
def test_a_message_that_cannot_be_applied_is_set_aside_and_the_next_one_goes_on(agency, monkeypatch) -> None:
    invitation = invitation_create(
        actor=agency.actor, event_id=agency.event().pk, employee_id=agency.employee().pk
    )
    phone = invitation.employee.phone_number
    broken = receive(phone, "kaputt")
    receive(phone, "ja")
    real_parse = replies.parse_reply

    def parse(*, body: str, button_payload: str):
        if body == "kaputt":
            raise ValueError("cannot read this one")
        return real_parse(body=body, button_payload=button_payload)

    monkeypatch.setattr(replies, "parse_reply", parse)
    assert apply_inbound() == 2
    failed = InboundMessage.objects.get(pk=broken)
    assert (failed.outcome, failed.outcome_detail) == ("failed", "ValueError: cannot read this one")
    assert not OutboundMessage.objects.filter(intent_key=f"reply:{broken}").exists()  # nothing half-done
    invitation.refresh_from_db()
    assert invitation.status == "accepted"


@pytest.mark.django_db(transaction=True)
def test_a_senders_later_message_waits_while_an_earlier_one_is_being_applied(agency) -> None:
    first_employee, second_employee = agency.employee(name="First"), agency.employee(name="Second")
    event = agency.event()
    for employee in (first_employee, second_employee):
        invitation_create(actor=agency.actor, event_id=event.pk, employee_id=employee.pk)
    held = receive(first_employee.phone_number, "ja")
    receive(first_employee.phone_number, "nein")
    other = receive(second_employee.phone_number, "ja")

    # Another applier, in the middle of the first message (its row locked).
    with row_locked_elsewhere(InboundMessage, held):
        taken = inbound_apply_next()
        assert taken is not None and taken.message_id == other  # not the first sender's "nein"
        assert inbound_apply_next() is None  # the "nein" waits for the "ja"
    assert apply_inbound() == 2
    assert Invitation.objects.get(employee=first_employee).status == "cancelled"  # yes, then no
    assert Invitation.objects.get(employee=second_employee).status == "accepted"


@pytest.mark.django_db
def test_a_duplicate_webhook_stores_nothing_and_queues_nothing(client, agency) -> None:
    employee = agency.employee()
    params = inbound_params(employee.phone_number, "ja", sid=new_sid())
    for _ in range(3):
        assert client.post(INBOUND, params, **signed_headers(INBOUND, params)).status_code == 200
    assert InboundMessage.objects.count() == 1
    assert apply_jobs_waiting() == 1
