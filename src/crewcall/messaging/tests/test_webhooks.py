"""The WhatsApp webhooks: signatures, duplicates, replies kept and queued, then applied
and answered by the apply job; statuses only moving forward."""

from __future__ import annotations

import pytest

from crewcall.messaging.models import InboundMessage, OutboundMessage, WebhookRejection
from crewcall.staffing.models import Invitation
from crewcall.staffing.services import invitation_create
from crewcall.staffing.tasks import apply_inbound
from crewcall.testing.webhooks import inbound_params, new_sid, signed_headers

pytestmark = pytest.mark.django_db

INBOUND = "/webhooks/twilio/whatsapp"
STATUS = "/webhooks/twilio/status"


def post(client, path: str, params: dict[str, str], **kw):
    """POST a signed webhook; an inbound message is then applied, as the worker would."""
    response = client.post(path, params, **signed_headers(path, params, **kw))
    if path == INBOUND:
        apply_inbound()
    return response


def invited(agency, event, name: str = "Ida"):
    employee = agency.employee(name=name)
    return invitation_create(actor=agency.actor, event_id=event.pk, employee_id=employee.pk)


def replies_to(invitation: Invitation) -> list[str]:
    return list(
        OutboundMessage.objects.filter(employee=invitation.employee, intent_key__startswith="reply:")
        .order_by("id")
        .values_list("kind", flat=True)
    )


def test_a_forged_request_is_refused_and_only_counted(client, agency) -> None:
    inv = invited(agency, agency.event())
    params = inbound_params(inv.employee.phone_number, "ja")
    response = post(client, INBOUND, params, token="not-the-real-token")
    assert response.status_code == 403
    assert client.post(INBOUND, params).status_code == 403  # no signature at all
    assert not InboundMessage.objects.exists()
    assert WebhookRejection.objects.get(endpoint="whatsapp", reason="bad_signature").count == 2
    inv.refresh_from_db()
    assert inv.status == "asked"


def test_yes_accepts_and_confirms_once_even_when_delivered_twice(client, agency) -> None:
    inv = invited(agency, agency.event())
    params = inbound_params(inv.employee.phone_number, "Ja, bin dabei!")
    first = post(client, INBOUND, params)
    second = post(client, INBOUND, params)
    assert first.status_code == second.status_code == 200
    assert first["Content-Type"].startswith("text/xml")
    inv.refresh_from_db()
    assert (inv.status, inv.response_method) == ("accepted", "whatsapp")
    assert InboundMessage.objects.get().outcome == "applied"
    assert replies_to(inv) == ["confirmation"]


def test_a_button_answers_its_own_invitation(client, agency) -> None:
    gala, fair = agency.event("Gala"), agency.event("Fair")
    inv = invited(agency, gala)
    other = invitation_create(actor=agency.actor, event_id=fair.pk, employee_id=inv.employee.pk)
    post(client, INBOUND, inbound_params(inv.employee.phone_number, "Nein", payload=f"NO_{other.pk}"))
    inv.refresh_from_db()
    other.refresh_from_db()
    assert (inv.status, other.status) == ("asked", "declined")
    assert replies_to(inv) == ["acknowledgement"]


def test_a_quoted_invitation_decides_which_event(client, agency) -> None:
    gala, fair = agency.event("Gala"), agency.event("Fair")
    inv = invited(agency, gala)
    other = invitation_create(actor=agency.actor, event_id=fair.pk, employee_id=inv.employee.pk)
    quoted = OutboundMessage.objects.create(
        employee=inv.employee, invitation=other, event=fair, kind="invitation", intent_key="test:quoted",
        to_number=inv.employee.phone_number, body="Fair?", provider="twilio",
    )  # fmt: skip
    OutboundMessage.objects.filter(pk=quoted.pk).update(status="sending", attempts=1)
    OutboundMessage.objects.filter(pk=quoted.pk).update(status="sent", provider_sid="SMquoted000001")
    post(client, INBOUND, inbound_params(inv.employee.phone_number, "yes", replied_to="SMquoted000001"))
    other.refresh_from_db()
    assert other.status == "accepted"


def test_several_open_invitations_and_plain_words_ask_which(client, agency) -> None:
    gala, fair = agency.event("Gala"), agency.event("Fair")
    inv = invited(agency, gala)
    invitation_create(actor=agency.actor, event_id=fair.pk, employee_id=inv.employee.pk)
    post(client, INBOUND, inbound_params(inv.employee.phone_number, "ja"))
    message = InboundMessage.objects.get()
    assert (
        message.outcome == "ambiguous"
        and "Gala" in message.outcome_detail
        and "Fair" in message.outcome_detail
    )
    assert set(Invitation.objects.filter(employee=inv.employee).values_list("status", flat=True)) == {"asked"}
    assert replies_to(inv) == ["clarify"]


def test_unclear_and_unknown_messages_are_kept(client, agency) -> None:
    inv = invited(agency, agency.event())
    post(client, INBOUND, inbound_params(inv.employee.phone_number, "Wann genau?"))
    post(client, INBOUND, inbound_params("+4917600000099", "ja"))
    outcomes = dict(InboundMessage.objects.values_list("body", "outcome"))
    assert outcomes == {"Wann genau?": "unparseable", "ja": "unknown_sender"}
    assert replies_to(inv) == ["help"]


def test_yes_after_the_event_is_full_goes_to_the_waitlist(client, agency) -> None:
    event = agency.event(employees_needed=1, employees_to_ask=3)
    first, second = invited(agency, event, "Ann"), invited(agency, event, "Ben")
    post(client, INBOUND, inbound_params(first.employee.phone_number, "yes"))
    post(client, INBOUND, inbound_params(second.employee.phone_number, "yes"))
    first.refresh_from_db()
    second.refresh_from_db()
    event.refresh_from_db()
    assert (first.status, second.status, event.status) == ("accepted", "waitlisted", "staffed")
    assert replies_to(second) == ["waitlist"]
    # Ann withdraws: Ben moves up and is told so.
    post(client, INBOUND, inbound_params(first.employee.phone_number, "nein, leider doch nicht"))
    first.refresh_from_db()
    second.refresh_from_db()
    event.refresh_from_db()
    assert (first.status, second.status, event.status) == ("cancelled", "accepted", "staffed")
    assert OutboundMessage.objects.filter(intent_key=f"promoted:{second.pk}", kind="confirmation").exists()


def _sent_message(agency) -> OutboundMessage:
    inv = invited(agency, agency.event())
    message = OutboundMessage.objects.create(
        employee=inv.employee, invitation=inv, kind="invitation", intent_key=f"test:{inv.pk}",
        to_number=inv.employee.phone_number, body="Hi", provider="twilio",
    )  # fmt: skip
    OutboundMessage.objects.filter(pk=message.pk).update(status="sending", attempts=1)
    return message


def test_status_callbacks_in_any_order_end_at_the_furthest(client, agency) -> None:
    message = _sent_message(agency)
    sid = new_sid()
    OutboundMessage.objects.filter(pk=message.pk).update(status="sent", provider_sid=sid)
    for status in ("read", "sent", "delivered", "queued", "sending", "read", "failed"):
        response = post(client, STATUS, {"MessageSid": sid, "MessageStatus": status})
        assert response.status_code == 204
    message.refresh_from_db()
    assert message.status == "read" and message.read_at is not None


def test_a_status_callback_before_the_worker_recorded_the_sid_ties_them_up(client, agency) -> None:
    message = _sent_message(agency)
    sid = new_sid()
    path = f"{STATUS}?m={message.pk}"
    assert post(client, path, {"MessageSid": sid, "MessageStatus": "delivered"}).status_code == 204
    message.refresh_from_db()
    assert (message.status, message.provider_sid) == ("delivered", sid)


def test_a_forged_status_callback_changes_nothing(client, agency) -> None:
    message = _sent_message(agency)
    response = post(client, STATUS, {"MessageSid": new_sid(), "MessageStatus": "failed"}, token="forged")
    assert response.status_code == 403
    message.refresh_from_db()
    assert message.status == "sending"


@pytest.mark.parametrize(
    "change",
    [
        {"From": "whatsapp:+49151\x0012345"},
        {"ButtonPayload": "YES_\x001"},
        {"From": "whatsapp:+" + "4" * 40},
        {"ButtonPayload": "YES_" + "1" * 200},
        {"OriginalRepliedMessageSid": "SM" + "a" * 70},
        {"To\x00": "x"},
    ],
    ids=["nul-from", "nul-payload", "long-from", "long-payload", "long-replied-to", "nul-name"],
)
def test_a_signed_but_malformed_reply_is_refused_with_400_and_counted(client, agency, change) -> None:
    params = {**inbound_params("+4915112345678", "ja"), **change}
    response = client.post(INBOUND, params, **signed_headers(INBOUND, params))
    assert response.status_code == 400
    assert WebhookRejection.objects.get(endpoint="whatsapp", reason="malformed").count == 1
    assert not InboundMessage.objects.exists()


@pytest.mark.parametrize(
    ("query", "change"),
    [
        ("?m=%C2%B2", {}),  # "²": a digit to str.isdigit(), not to int()
        ("?m=1" + "0" * 30, {}),
        ("", {"ErrorMessage": "bad\x00"}),
        ("", {"MessageStatus": "delivered" * 5}),
    ],
    ids=["superscript-marker", "huge-marker", "nul-error", "long-status"],
)
def test_a_signed_but_malformed_status_callback_is_refused_with_400(client, agency, query, change) -> None:
    message = _sent_message(agency)
    params = {"MessageSid": new_sid(), "MessageStatus": "failed", **change}
    response = client.post(STATUS + query, params, **signed_headers(STATUS + query, params))
    assert response.status_code == 400
    assert WebhookRejection.objects.get(endpoint="status", reason="malformed").count == 1
    message.refresh_from_db()
    assert message.status == "sending"
