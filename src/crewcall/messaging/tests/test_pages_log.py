"""The messages log: outbound messages with their delivery, filters, replies with their
outcome (the ones nobody could apply highlighted for dispatchers), bounded queries."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from crewcall.conftest import Agency
from crewcall.messaging.models import InboundMessage, OutboundMessage

pytestmark = [pytest.mark.django_db]
_seq = itertools.count(1)


def sent(
    employee: Any, *, event: Any = None, status: str = "queued", kind: str = "invitation", **kw: Any
) -> Any:
    """A message as the outbox writes it, then moved along the delivery path to `status`."""
    n = next(_seq)
    message = OutboundMessage.objects.create(
        employee=employee, event=event, kind=kind, intent_key=f"test-{n}", to_number=employee.phone_number,
        body="Can you work?", provider="simulator", **kw,
    )  # fmt: skip
    path = {"queued": [], "failed": ["failed"], "delivered": ["sending", "sent", "delivered"]}[status]
    for step in path:
        extra = {"provider_sid": f"SM{n:032d}"} if step == "sent" else {}
        # attempts: past queued, a claim counted one (the database holds it)
        OutboundMessage.objects.filter(pk=message.pk).update(status=step, attempts=1, **extra)
    return message


def received(employee: Any, *, outcome: str, body: str) -> Any:
    return InboundMessage.objects.create(provider_sid=f"IN{next(_seq):032d}", from_number=employee.phone_number,
                                         body=body, employee=employee, outcome=outcome)  # fmt: skip


@pytest.fixture
def log(agency: Agency) -> dict[str, Any]:
    emil, mia = agency.employee("Emil"), agency.employee("Mia")
    gala = agency.event("Gala")
    return {
        "failed": sent(
            emil,
            event=gala,
            status="failed",
            attempts=3,
            error_code="63016",
            error_message="Outside the 24h window",
        ),
        "delivered": sent(mia, event=gala, status="delivered", kind="confirmation", attempts=1),
        "unparsed": received(emil, outcome="unparseable", body="maybe tomorrow?"),
        "applied": received(mia, outcome="applied", body="YES"),
    }


def test_a_viewer_reads_the_log(client: Client, carol: Any, log: dict[str, Any]) -> None:
    client.force_login(carol)
    response = client.get("/messages/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Emil" in body and "Mia" in body and "Gala" in body
    assert "63016" in body and "Outside the 24h window" in body
    assert "Delivered" in body and "Failed" in body
    assert "maybe tomorrow?" in body and "Not understood" in body
    assert f"/history/message/{log['failed'].pk}/" in body
    # Highlighting the replies nobody could apply is for the people who act on them.
    assert "needs a dispatcher" not in body


def test_unparsed_replies_are_highlighted_for_dispatchers(
    client: Client, bob: Any, log: dict[str, Any]
) -> None:
    client.force_login(bob)
    body = client.get("/messages/").content.decode()
    assert body.count("(needs a dispatcher)") == 1
    assert body.count('<tr class="attention">') == 2  # the failed message and the unparsed reply


def test_filters_by_status_kind_and_outcome(client: Client, carol: Any, log: dict[str, Any]) -> None:
    client.force_login(carol)

    def lists(query: str) -> str:
        return client.get(f"/messages/?{query}", headers={"HX-Request": "true"}).content.decode()

    body = lists("status=failed")
    assert "63016" in body and "<td>Confirmation</td>" not in body
    body = lists("kind=confirmation")
    assert "63016" not in body and "<td>Confirmation</td>" in body
    body = lists("outcome=applied")
    assert "YES" in body and "maybe tomorrow?" not in body
    body = lists("status=bogus")  # an unknown choice filters nothing and breaks nothing
    assert "63016" in body and "<td>Confirmation</td>" in body


def test_htmx_gets_the_lists_alone(client: Client, carol: Any, log: dict[str, Any]) -> None:
    client.force_login(carol)
    body = client.get("/messages/?status=failed", headers={"HX-Request": "true"}).content.decode()
    assert body.lstrip().startswith('<div id="message-log"') and "<html" not in body


def test_pages_through_older_messages(client: Client, carol: Any, agency: Agency) -> None:
    emil = agency.employee("Emil")
    first = [sent(emil, error_message=f"err-{i:03d}") for i in range(55)]
    client.force_login(carol)
    response = client.get("/messages/")
    page_one = response.content.decode()
    assert "err-054" in page_one and "err-004" not in page_one
    nxt = response.context["sent_more"]
    assert nxt
    page_two = client.get(f"/messages/?{nxt}").content.decode()
    assert "err-004" in page_two and "err-054" not in page_two
    assert len(first) == 55
    # A cursor the page never gave out starts from the top instead of failing.
    assert client.get("/messages/?after=garbage").status_code == 200


def test_the_same_number_of_queries_for_small_and_large_data(
    client: Client, carol: Any, agency: Agency
) -> None:
    client.force_login(carol)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/messages/").status_code == 200
        return len(queries)

    emil = agency.employee("Emil")
    event = agency.event("Gala")
    sent(emil, event=event)
    received(emil, outcome="applied", body="yes")
    small = count()
    for i in range(60):
        person = agency.employee(f"P{i}")
        sent(person, event=agency.event(f"E{i}") if i % 6 == 0 else event, status="failed")
        received(person, outcome="unparseable", body=f"hm {i}")
    assert count() == small


def test_signed_out_visitors_are_sent_to_sign_in(client: Client, db: Any) -> None:
    assert client.get("/messages/").status_code == 302


def test_an_employee_account_may_not_read_the_log(client: Client, oscar: Any) -> None:
    client.force_login(oscar)
    assert client.get("/messages/").status_code == 403
