"""The message timeline per employee on the staffing board, and moving a placed person to
another work area (Django's test client): what each shows or refuses, who may do what,
and bounded queries."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crewcall.conftest import Agency
from crewcall.messaging.models import InboundMessage, OutboundMessage
from crewcall.staffing.models import Assignment
from crewcall.staffing.placement import assignment_create
from crewcall.staffing.services import invitation_create

pytestmark = [pytest.mark.django_db]
HX = {"HX-Request": "true"}


def board_url(event: Any, rest: str = "") -> str:
    return f"/events/{event.pk}/board/{rest}"


def sent(employee: Any, event: Any, body: str, **kw: Any) -> OutboundMessage:
    n = OutboundMessage.objects.count()
    later = {k: kw.pop(k) for k in ("status", "error_code", "error_message") if k in kw}
    message = OutboundMessage.objects.create(
        employee=employee, event=event, kind=kw.pop("kind", "invitation"), intent_key=f"b:{employee.pk}:{n}",
        to_number=employee.phone_number, body=body, provider="simulator", **kw,
    )  # fmt: skip
    if later.get("status") == "delivered":  # statuses only move forward, one by one
        OutboundMessage.objects.filter(pk=message.pk).update(status="sending", attempts=1)  # a claim
        OutboundMessage.objects.filter(pk=message.pk).update(status="sent", provider_sid=f"SMo{message.pk}")
    if later:
        OutboundMessage.objects.filter(pk=message.pk).update(attempts=1, **later)
    return message


def received(employee: Any, invitation: Any, body: str, **kw: Any) -> InboundMessage:
    n = InboundMessage.objects.count()
    return InboundMessage.objects.create(
        provider_sid=f"SMb{employee.pk}x{n}", from_number=employee.phone_number, body=body,
        employee=employee, invitation=invitation, **kw,
    )  # fmt: skip


def test_each_invitation_row_offers_the_messages_loaded_on_open(client, carol, agency: Agency) -> None:
    event = agency.event()
    ada = agency.employee("Ada")
    agency.accepted(event, ada)
    client.force_login(carol)
    page = client.get(board_url(event)).content.decode()
    assert f'hx-get="/events/{event.pk}/board/messages/{ada.pk}" hx-trigger="toggle once"' in page
    assert "<summary>Messages" in page


def test_the_timeline_shows_sent_messages_with_status_and_replies_with_outcome(
    client, carol, agency: Agency
) -> None:
    event, other = agency.event("Gala"), agency.event("Ball")
    ada = agency.employee("Ada")
    inv = invitation_create(actor=agency.actor, event_id=event.pk, employee_id=ada.pk)
    sent(ada, event, "Gala on Friday, can you?", status="delivered")
    received(ada, inv, "ja", outcome="applied")
    sent(ada, event, "You are booked", kind="confirmation", status="failed", error_code="63016")
    sent(ada, other, "Ball, can you?")
    client.force_login(carol)
    response = client.get(board_url(event, f"messages/{ada.pk}"), headers=HX)
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body
    assert body.count('class="msg msg-') == 3 and "Ball, can you?" not in body
    order = [body.index(t) for t in ("Gala on Friday", "ja", "You are booked")]
    assert order == sorted(order)
    assert 'data-direction="out" data-status="delivered"' in body and "Delivered" in body
    assert 'data-direction="in" data-status="applied"' in body
    assert 'data-status="failed"' in body and "63016" in body


def test_a_timeline_without_messages_says_so_and_a_stranger_is_404(client, carol, agency: Agency) -> None:
    event = agency.event()
    ada, zoe = agency.employee("Ada"), agency.employee("Zoe")
    invitation_create(actor=agency.actor, event_id=event.pk, employee_id=ada.pk)
    client.force_login(carol)
    assert (
        "No messages about this event yet."
        in client.get(board_url(event, f"messages/{ada.pk}")).content.decode()
    )
    assert client.get(board_url(event, f"messages/{zoe.pk}")).status_code == 404


def test_the_timeline_reads_in_the_same_number_of_queries_for_2_and_60_messages(
    client, carol, agency: Agency
) -> None:
    def count_for(n: int) -> int:
        event = agency.event(f"E{n}")
        person = agency.employee(f"P{n}")
        inv = invitation_create(actor=agency.actor, event_id=event.pk, employee_id=person.pk)
        for i in range(n):
            if i % 2:
                received(person, inv, f"reply {i}", outcome="applied")
            else:
                sent(person, event, f"message {i}")
        client.force_login(carol)
        with CaptureQueriesContext(connection) as queries:
            body = client.get(board_url(event, f"messages/{person.pk}"), headers=HX).content.decode()
        assert body.count('class="msg msg-') == n
        return len(queries)

    assert count_for(2) == count_for(60)


# ── moving a placed person ──────────────────────────────────────────────────


@pytest.fixture
def placed(agency: Agency) -> dict[str, Any]:
    event = agency.event("Gala", employees_needed=3, employees_to_ask=3)
    bar = agency.area(event, "Bar", capacity=2)
    floor = agency.area(event, "Floor", capacity=1, role_requirements={"waiter": 1})
    ada, ben = agency.employee("Ada"), agency.employee("Ben")
    moves = []
    for person in (ada, ben):
        inv = agency.accepted(event, person)
        moves.append(
            assignment_create(
                actor=agency.actor, invitation_id=inv.pk, work_area_id=bar.pk, role_id=agency.bartender.pk
            )
        )
    return {"event": event, "bar": bar, "floor": floor, "placements": moves}


def test_a_placed_person_offers_a_move_to_the_other_active_areas(client, bob, agency, placed) -> None:
    agency.area(placed["event"], "Closed", is_active=False)
    client.force_login(bob)
    page = client.get(board_url(placed["event"])).content.decode()
    first = placed["placements"][0]
    form = page[page.index(f'id="move-{first.pk}"') :]
    form = form[: form.index("</select>")]
    assert (
        f'value="{placed["floor"].pk}"' in form
        and "Closed" not in form
        and f'value="{placed["bar"].pk}"' not in form
    )


def test_a_full_area_is_not_offered_as_a_move(client, bob, agency, placed) -> None:
    full = agency.area(placed["event"], "Stage", capacity=1)
    cem = agency.employee("Cem")
    assignment_create(actor=agency.actor, invitation_id=agency.accepted(placed["event"], cem).pk,
                      work_area_id=full.pk, role_id=agency.bartender.pk)  # fmt: skip
    client.force_login(bob)
    page = client.get(board_url(placed["event"])).content.decode()
    first = placed["placements"][0]
    form = page[page.index(f'id="move-{first.pk}"') :]
    form = form[: form.index("</select>")]
    assert f'value="{placed["floor"].pk}"' in form and f'value="{full.pk}"' not in form


def test_move_enforces_roles_and_capacity_and_reports_refusals(client, bob, placed) -> None:
    event, floor = placed["event"], placed["floor"]
    ada_place = placed["placements"][0]
    client.force_login(bob)
    # The floor takes one waiter only: a bartender is refused, nothing moves.
    refused = client.post(
        board_url(event, f"placements/{ada_place.pk}/move"),
        {"version": ada_place.version, "work_area": floor.pk},
        follow=True,
    )
    assert "The placement of Ada: The places left for roles other than the required ones are taken" in (
        refused.content.decode()
    )
    assert Assignment.objects.get(pk=ada_place.pk).work_area_id == placed["bar"].pk


def test_move_with_the_version_read_and_refuse_a_stale_one(client, bob, agency, placed) -> None:
    event = placed["event"]
    lounge = agency.area(event, "Lounge", capacity=2)
    ada_place = placed["placements"][0]
    client.force_login(bob)
    done = client.post(
        board_url(event, f"placements/{ada_place.pk}/move"),
        {"version": ada_place.version, "work_area": lounge.pk},
        follow=True,
    )
    assert "Ada moved to Lounge." in done.content.decode()
    assert Assignment.objects.get(pk=ada_place.pk).work_area_id == lounge.pk
    stale = client.post(
        board_url(event, f"placements/{ada_place.pk}/move"),
        {"version": ada_place.version, "work_area": placed["bar"].pk},
        follow=True,
    )
    assert "was changed by someone else meanwhile" in stale.content.decode()
    assert Assignment.objects.get(pk=ada_place.pk).work_area_id == lounge.pk


def test_a_viewer_cannot_move_anyone(client, carol, placed) -> None:
    place = placed["placements"][0]
    client.force_login(carol)
    response = client.post(
        board_url(placed["event"], f"placements/{place.pk}/move"),
        {"version": place.version, "work_area": placed["floor"].pk},
    )
    assert response.status_code == 403
    assert Assignment.objects.get(pk=place.pk).work_area_id == placed["bar"].pk
