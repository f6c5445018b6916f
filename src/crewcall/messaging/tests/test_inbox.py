"""The dispatchers' inbox: a question or a message nobody could answer waits there, the
header counts it, a dispatcher marks it handled (a viewer may only read), and the history
keeps what it was."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from crewcall.messaging.models import InboundMessage
from crewcall.staffing.services import invitation_create
from crewcall.testing.webhooks import whatsapp_says

pytestmark = pytest.mark.django_db


def test_a_question_waits_in_the_inbox_until_a_dispatcher_handles_it(
    client: Client, agency: Any, bob: Any, carol: Any
) -> None:
    ada = agency.employee("Ada")
    invitation_create(actor=agency.actor, event_id=agency.event("Gala").pk, employee_id=ada.pk)
    question = whatsapp_says(ada.phone_number, "Kann ich erst um 19 Uhr kommen?")
    whatsapp_says(ada.phone_number, "ja")  # answered by itself: not in the inbox
    stranger = whatsapp_says("+4915199999999", "Hallo, sucht ihr noch Leute?")

    client.force_login(carol)
    badge = client.get("/messages/inbox/count").content.decode()
    assert 'data-inbox-count="2"' in badge and '<span class="badge"' in badge
    page = client.get("/messages/inbox/").content.decode()
    assert "Kann ich erst um 19 Uhr kommen?" in page and "Hallo, sucht ihr noch Leute?" in page
    assert page.index("sucht ihr") < page.index("19 Uhr")  # newest first
    assert ">ja<" not in page and "Handled" not in page  # a viewer reads only
    assert client.post(f"/messages/inbox/{question}/handled").status_code == 403

    client.force_login(bob)
    done = client.post(f"/messages/inbox/{question}/handled", follow=True)
    assert done.status_code == 200 and "Marked as handled." in done.content.decode()
    assert 'data-inbox-count="1"' in client.get("/messages/inbox/count").content.decode()
    handled = InboundMessage.objects.get(pk=question)
    assert handled.outcome == "handled"
    outcomes = list(handled.history.order_by("pgh_id").values_list("outcome", "pgh_context__username"))  # type: ignore[attr-defined]
    assert outcomes[-2][0] == "unparseable" and outcomes[-1] == ("handled", "bob")
    # Handled once is enough: the second click is refused, nothing changes.
    again = client.post(f"/messages/inbox/{question}/handled", follow=True)
    assert "not waiting for anyone" in again.content.decode()
    assert stranger in InboundMessage.objects.filter(outcome="unknown_sender").values_list("pk", flat=True)


def test_the_header_loads_the_badge_for_staff_only(client: Client, bob: Any, oscar: Any) -> None:
    client.force_login(bob)
    assert 'hx-get="/messages/inbox/count"' in client.get("/").content.decode()
    client.force_login(oscar)  # an employee's own account
    assert client.get("/messages/inbox/count").status_code == 403
