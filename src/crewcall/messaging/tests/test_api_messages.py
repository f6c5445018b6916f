"""Messages over the API, read only: outbound with their delivery state, inbound with
what became of each; filters, newest first, keyset pages, fixed query counts."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crewcall.conftest import Agency
from crewcall.messaging.inbound import inbound_receive
from crewcall.messaging.models import OutboundMessage
from crewcall.staffing.asking import event_ask, event_nudge
from crewcall.staffing.replies import inbound_apply
from crewcall.testing.webhooks import inbound_params

pytestmark = pytest.mark.django_db


def receive(phone: str, body: str) -> int:
    params = inbound_params(phone, body)
    message_id = inbound_receive(
        provider_sid=params["MessageSid"], from_number=params["From"], body=body, raw=params
    ).message_id
    inbound_apply(message_id=message_id)
    return message_id


def pages(api: Any, path: str, limit: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    sep = "&" if "?" in path else "?"
    url = f"{path}{sep}limit={limit}"
    while True:
        body = api.get(url).json()
        items += body["items"]
        if body["next"] is None:
            return items
        url = f"{path}{sep}limit={limit}&after={body['next']}"


def test_outbound_messages_filter_and_page_newest_first(agency: Agency, carol: Any, api_as: Any) -> None:
    people = [agency.employee(name=f"E{i}") for i in range(5)]
    gala, fair = agency.event(title="Gala", employees_to_ask=4), agency.event(title="Fair")
    event_ask(actor=agency.actor, event_id=gala.pk, count=4)
    event_ask(actor=agency.actor, event_id=fair.pk, count=1)
    event_nudge(actor=agency.actor, event_id=gala.pk)
    api = api_as(carol)  # a viewer reads messages

    everything = pages(api, "messages", limit=3)
    ids = [m["id"] for m in everything]
    assert len(ids) == OutboundMessage.objects.count() == 9 and len(set(ids)) == 9
    created = [m["created_at"] for m in everything]
    assert created == sorted(created, reverse=True)
    assert [m["id"] for m in pages(api, "messages?sort=id", limit=4)] == sorted(ids)

    nudges = api.get(f"messages?event_id={gala.pk}&kind=nudge").json()["items"]
    assert len(nudges) == 4 and {m["kind"] for m in nudges} == {"nudge"}
    first = nudges[0]
    assert first["status"] == "queued" and first["event_id"] == gala.pk and first["body"]
    assert first["employee_name"] in {p.name for p in people}
    mine = api.get(f"messages?employee_id={first['employee_id']}").json()["items"]
    assert {m["employee_id"] for m in mine} == {first["employee_id"]}
    assert api.get("messages?status=delivered").json()["items"] == []

    r = api.get(f"messages/{first['id']}")
    assert r.status_code == 200 and r["ETag"] == f'"{first["version"]}"' and r.json()["intent_key"]
    assert api.get("messages/999999").status_code == 404
    for query, field in (("kind=spam", "kind"), ("status=lost", "status"), ("sort=body", "sort"),
                         ("employee_id=0", "employee_id"), ("event_id=99999999999999999999", "event_id"),
                         ("after=nope", "after")):  # fmt: skip
        r = api.get(f"messages?{query}")
        assert r.status_code == 422, (query, r.content)
        assert {e["field"] for e in r.json()["errors"]} == {field}, r.json()


def test_inbound_messages_show_their_outcome(agency: Agency, carol: Any, api_as: Any) -> None:
    emil = agency.employee(name="Emil")
    event = agency.event(employees_needed=1, employees_to_ask=1)
    event_ask(actor=agency.actor, event_id=event.pk)
    assert emil.phone_number is not None
    yes = receive(emil.phone_number, "ja")
    stranger = receive("+4917000000009", "hello")
    api = api_as(carol)

    items = api.get("inbound-messages").json()["items"]
    assert [m["id"] for m in items] == [stranger, yes]  # newest first
    assert items[1]["outcome"] == "applied" and items[1]["employee_name"] == "Emil"
    assert items[1]["invitation_id"] is not None and "raw" not in items[1]
    assert items[0]["outcome"] == "unknown_sender" and items[0]["employee_name"] is None
    assert [m["id"] for m in api.get("inbound-messages?outcome=applied").json()["items"]] == [yes]
    assert [m["id"] for m in api.get(f"inbound-messages?employee_id={emil.pk}").json()["items"]] == [yes]
    by_number = api.get("inbound-messages?from_number=%2B4917000000009").json()["items"]
    assert [m["id"] for m in by_number] == [stranger]
    by_whatsapp = api.get("inbound-messages?from_number=whatsapp:%2B4917000000009").json()["items"]
    assert [m["id"] for m in by_whatsapp] == [stranger]
    assert [m["id"] for m in pages(api, "inbound-messages?sort=id", limit=1)] == [yes, stranger]

    r = api.get(f"inbound-messages/{yes}")
    assert r.status_code == 200 and r.json()["raw"]["Body"] == "ja" and r["ETag"]
    assert api.get("inbound-messages/999999").status_code == 404
    for query, field in (("outcome=odd", "outcome"), ("from_number=%00", "from_number"),
                         ("from_number=" + "1" * 41, "from_number"), ("sort=body", "sort")):  # fmt: skip
        r = api.get(f"inbound-messages?{query}")
        assert r.status_code == 422, (query, r.content)
        assert {e["field"] for e in r.json()["errors"]} == {field}, r.json()


def test_message_lists_cost_the_same_queries_for_few_and_many(
    agency: Agency, carol: Any, api_as: Any
) -> None:
    api = api_as(carol)
    api.get("messages")  # the token's first use is recorded once

    def queries(path: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert api.get(path).status_code == 200
        return len(ctx.captured_queries)

    few = (queries("messages"), queries("inbound-messages"))
    people = [agency.employee(name=f"E{i}") for i in range(12)]
    event = agency.event(employees_needed=6, employees_to_ask=12)
    event_ask(actor=agency.actor, event_id=event.pk)
    for person in people:
        receive(person.phone_number, "ja")
    assert (queries("messages"), queries("inbound-messages")) == few
    assert len(api.get("messages").json()["items"]) >= 12
