"""The simulator pages: who may read and answer, the conversation list with its search
and latest message, the chat with delivery statuses and answer buttons, the errors a
reply can meet, and bounded queries."""

from __future__ import annotations

import itertools
import socket
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crewcall.messaging.models import InboundMessage, OutboundMessage
from crewcall.staffing.services import invitation_create

pytestmark = pytest.mark.django_db
_seq = itertools.count(1)


def sent(
    employee: Any, body: str = "Can you work?", *, event: Any = None, status: str = "queued", **kw: Any
) -> Any:
    n = next(_seq)
    message = OutboundMessage.objects.create(
        employee=employee, event=event, kind=kw.pop("kind", "invitation"), intent_key=f"sim-{n}",
        to_number=employee.phone_number, body=body, provider="simulator", **kw,
    )  # fmt: skip
    path = {"queued": [], "failed": ["failed"], "delivered": ["sending", "sent", "delivered"]}[status]
    for step in path:
        extra = {"provider_sid": f"SM{n:032d}"} if step == "sent" else {}
        # attempts: past queued, a claim counted one (the database holds it)
        OutboundMessage.objects.filter(pk=message.pk).update(status=step, attempts=1, **extra)
    return message


def received(employee: Any, body: str, **kw: Any) -> Any:
    return InboundMessage.objects.create(
        provider_sid=f"IN{next(_seq):032d}",
        from_number=employee.phone_number,
        body=body,
        employee=employee,
        **kw,
    )


def test_a_viewer_reads_the_simulator_but_cannot_answer(client, carol, agency) -> None:
    emil = agency.employee("Emil")
    gala = agency.event("Gala")
    invitation = invitation_create(actor=agency.actor, event_id=gala.pk, employee_id=emil.pk)
    sent(emil, "Gala on Friday?", event=gala, invitation=invitation)
    client.force_login(carol)
    listing = client.get(reverse("simulator"))
    assert listing.status_code == 200 and "Emil" in listing.text and "Gala on Friday?" in listing.text
    page = client.get(reverse("simulator-conversation", args=[emil.pk]))
    assert page.status_code == 200 and "Gala on Friday?" in page.text
    assert f"YES_{invitation.pk}" not in page.text and 'name="body"' not in page.text
    assert "Only dispatchers can answer" in page.text
    refused = client.post(reverse("simulator-reply", args=[emil.pk]), {"payload": f"YES_{invitation.pk}"})
    assert refused.status_code == 403
    assert not InboundMessage.objects.exists()


def test_the_list_shows_the_latest_message_either_way_and_searches_by_name(client, bob, agency) -> None:
    emil, mia, nobody = agency.employee("Emil Meier"), agency.employee("Mia Roth"), agency.employee("Nobody")
    sent(emil, "First question")
    received(emil, "ja klar")
    sent(mia, "Mia, can you?", status="failed")
    client.force_login(bob)
    page = client.get(reverse("simulator"))
    assert page.status_code == 200
    assert "ja klar" in page.text and "First question" not in page.text  # Emil's latest is his reply
    assert "Mia, can you?" in page.text
    assert nobody.name not in page.text  # no message either way: no conversation
    assert page.text.index("Mia Roth") < page.text.index("Emil Meier")  # latest conversation first
    found = client.get(reverse("simulator"), {"q": "mia"})
    assert "Mia Roth" in found.text and "Emil Meier" not in found.text
    none = client.get(reverse("simulator"), {"q": "zzz"})
    assert "No conversation with anyone named" in none.text
    fragment = client.get(reverse("simulator"), {"q": "emil"}, HTTP_HX_REQUEST="true")
    assert fragment.text.lstrip().startswith('<div id="conversation-list"') and "Emil Meier" in fragment.text
    assert 'data-live="messaging_outboundmessage messaging_inboundmessage' in fragment.text


def test_the_conversation_shows_bubbles_statuses_and_buttons_per_open_invitation(client, bob, agency) -> None:
    emil = agency.employee("Emil")
    gala, ball = agency.event("Gala"), agency.event("Ball")
    open_one = invitation_create(actor=agency.actor, event_id=gala.pk, employee_id=emil.pk)
    sent(emil, "Gala on Friday?", event=gala, invitation=open_one, status="delivered")
    received(emil, "", button_payload=f"YES_{open_one.pk}", invitation=open_one, outcome="applied")
    sent(emil, "Ball?", event=ball, status="failed", error_code="63016", error_message="Outside the window")
    client.force_login(bob)
    page = client.get(reverse("simulator-conversation", args=[emil.pk]))
    assert page.status_code == 200
    text = page.text
    assert text.count('class="sim-bubble sim-out"') == 2 and text.count('class="sim-bubble sim-in"') == 1
    assert (
        "delivered ✓✓" in text
        and "failed" in text
        and "63016 Outside the window" in text
        and "applied" in text
    )
    assert f'value="YES_{open_one.pk}"' in text and f'value="NO_{open_one.pk}"' in text
    assert 'name="body"' in text and 'for="id_body"' in text
    assert (
        'data-live="messaging_outboundmessage messaging_inboundmessage' in text and "data-live-since" in text
    )
    part = client.get(
        reverse("simulator-conversation", args=[emil.pk]), {"part": "timeline"}, HTTP_HX_REQUEST="true"
    )
    assert part.text.lstrip().startswith('<div id="conversation-timeline"') and "Gala on Friday?" in part.text
    answers = client.get(
        reverse("simulator-conversation", args=[emil.pk]), {"part": "answers"}, HTTP_HX_REQUEST="true"
    )
    assert (
        answers.text.lstrip().startswith('<div id="conversation-answers"')
        and f"YES_{open_one.pk}" in answers.text
    )


def test_an_empty_reply_is_refused_next_to_the_text_field(client, bob, agency, settings) -> None:
    settings.PUBLIC_URL = "http://127.0.0.1:9"  # never reached: the form stops it first
    emil = agency.employee("Emil")
    client.force_login(bob)
    response = client.post(reverse("simulator-reply", args=[emil.pk]), {"body": "   "})
    assert response.status_code == 200
    field = response.text[response.text.index('data-field="body"') :]
    field = field[: field.index("</div>")]
    assert "Type a reply or tap a button." in field and 'aria-invalid="true"' in field
    bad_button = client.post(reverse("simulator-reply", args=[emil.pk]), {"payload": "MAYBE_1"})
    assert bad_button.status_code == 200 and 'id="reply-errors"' in bad_button.text
    assert not InboundMessage.objects.exists()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_webhook_is_shown_and_the_text_kept(client, bob, agency, settings) -> None:
    settings.PUBLIC_URL = f"http://127.0.0.1:{_closed_port()}"
    emil = agency.employee("Emil")
    client.force_login(bob)
    response = client.post(reverse("simulator-reply", args=[emil.pk]), {"body": "vielleicht"})
    assert response.status_code == 200
    errors = response.text[response.text.index('id="reply-errors"') :]
    assert "could not be reached" in errors[: errors.index("</div>")]
    assert 'value="vielleicht"' in response.text
    assert not InboundMessage.objects.exists()


def _people(agency: Any, count: int, start: int) -> None:
    event = agency.event(f"Event {start}")
    for n in range(count):
        employee = agency.employee(f"Person {start + n}")
        invitation = invitation_create(actor=agency.actor, event_id=event.pk, employee_id=employee.pk)
        sent(employee, f"ask {n}", event=event, invitation=invitation)
        received(employee, f"reply {n}", invitation=invitation, outcome="applied")


def test_the_list_costs_the_same_queries_for_few_and_many(client, bob, agency) -> None:
    client.force_login(bob)
    counts = []
    for count, start in ((1, 0), (25, 100)):
        _people(agency, count, start)
        with CaptureQueriesContext(connection) as queries:
            page = client.get(reverse("simulator"))
        assert page.status_code == 200 and f"Person {start}" in page.text
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_the_conversation_costs_the_same_queries_for_short_and_long(client, bob, agency) -> None:
    client.force_login(bob)
    counts = []
    for size in (1, 30):
        employee = agency.employee(f"Talker {size}")
        for n in range(size):
            event = agency.event(f"Event {size}-{n}")
            invitation = invitation_create(actor=agency.actor, event_id=event.pk, employee_id=employee.pk)
            sent(employee, f"ask {n}", event=event, invitation=invitation, status="delivered")
            received(employee, f"reply {n}", invitation=invitation, outcome="applied")
        with CaptureQueriesContext(connection) as queries:
            page = client.get(reverse("simulator-conversation", args=[employee.pk]))
        assert page.status_code == 200 and page.text.count("sim-bubble sim-in") == size
        assert page.text.count('name="payload" value="YES_') == size
        counts.append(len(queries))
    assert counts[0] == counts[1]
