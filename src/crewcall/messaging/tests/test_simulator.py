"""The simulator page answers as an employee through the real, signed webhook."""

from __future__ import annotations

import pytest
from django.urls import reverse

from crewcall.messaging.models import InboundMessage, OutboundMessage
from crewcall.staffing.asking import event_ask
from crewcall.staffing.models import Invitation
from crewcall.staffing.tasks import apply_inbound

pytestmark = pytest.mark.django_db(transaction=True)


def test_answering_on_the_simulator_goes_through_the_webhook(
    client, alice, agency, live_server, settings
) -> None:
    settings.PUBLIC_URL = live_server.url
    employee = agency.employee(name="Sim Simone")
    event = agency.event(employees_needed=1, employees_to_ask=1)
    event_ask(actor=agency.actor, event_id=event.pk)
    invitation = Invitation.objects.get(event=event)
    client.force_login(alice)
    page = client.get(reverse("simulator-conversation", args=[employee.pk]))
    assert (
        page.status_code == 200
        and b"Gala" in page.content
        and f"YES_{invitation.pk}".encode() in page.content
    )
    assert client.get(reverse("simulator")).status_code == 200
    response = client.post(
        reverse("simulator-reply", args=[employee.pk]), {"payload": f"YES_{invitation.pk}"}
    )
    assert response.status_code == 302
    assert InboundMessage.objects.get().outcome == "pending"  # kept; the worker applies it
    assert apply_inbound() == 1
    invitation.refresh_from_db()
    assert invitation.status == "accepted"
    inbound = InboundMessage.objects.get()
    assert inbound.button_payload == f"YES_{invitation.pk}" and inbound.outcome == "applied"
    assert OutboundMessage.objects.filter(employee=employee, kind="confirmation").exists()
    timeline = client.get(reverse("simulator-conversation", args=[employee.pk]))
    assert b"You are booked" in timeline.content or b"eingeplant" in timeline.content


def test_the_simulator_needs_a_signed_in_agency_user(client, agency, oscar) -> None:
    employee = agency.employee()
    response = client.get(reverse("simulator-conversation", args=[employee.pk]))
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert client.post(reverse("simulator-reply", args=[employee.pk]), {"body": "ja"}).status_code == 302
    client.force_login(oscar)
    assert client.get(reverse("simulator")).status_code == 403
    assert client.post(reverse("simulator-reply", args=[employee.pk]), {"body": "ja"}).status_code == 403
    assert not InboundMessage.objects.exists()


def test_the_simulator_reports_delivery_through_the_status_webhook(agency, live_server, settings) -> None:
    from crewcall.messaging.simulator import deliver_status
    from crewcall.messaging.tasks import deliver

    settings.PUBLIC_URL = live_server.url
    settings.MESSAGING_PROVIDER = "simulator"
    agency.employee(name="Del Ivery")
    event = agency.event(employees_needed=1, employees_to_ask=1)
    event_ask(actor=agency.actor, event_id=event.pk)
    message = OutboundMessage.objects.get(kind="invitation")
    assert deliver(message.pk) == "sent"
    message.refresh_from_db()
    assert (message.status, message.provider_sid) == ("sent", f"SIM{message.pk:012d}")
    assert message.provider_sid is not None
    assert deliver_status(message_id=message.pk, provider_sid=message.provider_sid) == 204
    message.refresh_from_db()
    assert message.status == "delivered" and message.delivered_at is not None


@pytest.mark.parametrize(
    "page", ["simulator", "simulator-conversation", "simulator-reply"], ids=["list", "conversation", "reply"]
)
def test_with_twilio_configured_the_simulator_is_gone(client, alice, agency, settings, page) -> None:
    """Its replies are signed with the webhook key: with Twilio's auth token, a
    dispatcher could answer for an employee (recorded as a WhatsApp reply)."""
    employee = agency.employee(name="Sim Simone")
    event = agency.event(employees_needed=1, employees_to_ask=1)
    event_ask(actor=agency.actor, event_id=event.pk)
    invitation = Invitation.objects.get(event=event)
    client.force_login(alice)
    url = reverse(page) if page == "simulator" else reverse(page, args=[employee.pk])
    assert client.get("/").content.count(b'href="/simulator/"') == 1  # the control: shown
    settings.MESSAGING_PROVIDER = "twilio"
    if page == "simulator-reply":
        response = client.post(url, {"payload": f"YES_{invitation.pk}"})
    else:
        response = client.get(url)
    assert response.status_code == 404
    assert not InboundMessage.objects.exists()
    assert b'href="/simulator/"' not in client.get("/").content
