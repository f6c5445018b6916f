"""The employee's personal page behind the signed link: open invitations answered with
one tap through the WhatsApp answer path, upcoming shifts, the calendar link, in the
employee's language; a bad link is a 404."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.apps import apps
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crewcall.conftest import Agency
from crewcall.events.models import Event
from crewcall.messaging.models import OutboundMessage
from crewcall.people.services import employee_anonymise, employee_archive
from crewcall.staffing.event_lifecycle import event_cancel
from crewcall.staffing.models import Invitation
from crewcall.staffing.placement import assignment_create
from crewcall.staffing.services import invitation_create, invitation_set_status
from crewcall.web.personal import employee_link_token

pytestmark = [pytest.mark.django_db]


def page_url(employee_id: int) -> str:
    return reverse("employee-page", args=[employee_link_token(employee_id)])


def answer_url(employee_id: int, invitation_id: int) -> str:
    return reverse("employee-answer", args=[employee_link_token(employee_id), invitation_id])


def ask(agency: Agency, event: Any, employee: Any) -> Invitation:
    return invitation_create(actor=agency.actor, event_id=event.pk, employee_id=employee.pk)


def answer(client: Client, employee: Any, invitation: Invitation, word: str) -> str:
    """POST an answer, follow the redirect and return the message the page shows."""
    response = client.post(answer_url(employee.pk, invitation.pk), {"answer": word})
    assert response.status_code == 303
    assert response["Location"] == page_url(employee.pk)
    assert response["Cache-Control"] == "private, no-store"
    page = client.get(response["Location"])
    assert page.status_code == 200
    shown = [str(m) for m in page.context["messages"]]
    assert len(shown) == 1, shown
    return shown[0]


def test_the_page_lists_open_invitations_and_booked_shifts_only(agency: Agency, client: Client) -> None:
    emil, olga = agency.employee("Emil Weber", preferred_language="en"), agency.employee("Olga")
    gala = agency.event("Gala", location="Castle")
    bar = agency.area(gala, "Bar", location="Hall 2")
    booked = agency.accepted(gala, emil)
    assignment_create(actor=agency.actor, work_area_id=bar.pk, role_id=agency.bartender.pk,
                      invitation_id=booked.pk)  # fmt: skip
    ask(agency, agency.event("Ball"), emil)
    waiting = ask(agency, agency.event("Brunch"), emil)
    invitation_set_status(actor=agency.actor, invitation_id=waiting.pk, expected_version=waiting.version,
                          status="waitlisted")  # fmt: skip
    no = ask(agency, agency.event("Declined"), emil)
    invitation_set_status(
        actor=agency.actor, invitation_id=no.pk, expected_version=no.version, status="declined"
    )
    ask(agency, agency.event("Past", event_date=timezone.localdate() - dt.timedelta(days=1)), emil)
    called_off = agency.event("Called off")
    agency.accepted(called_off, emil)
    ask(agency, called_off, agency.employee("Paul"))
    event_cancel(
        actor=agency.actor,
        event_id=called_off.pk,
        expected_version=Event.objects.get(pk=called_off.pk).version,
    )
    ask(agency, agency.event("Olga only"), olga)

    response = client.get(page_url(emil.pk))
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store" and response["Referrer-Policy"] == "same-origin"
    assert response["Content-Language"] == "en"
    assert [i.event.title for i in response.context["open_invitations"]] == ["Ball", "Brunch"]
    assert [i.event.title for i in response.context["shifts"]] == ["Gala"]
    html = response.content.decode()
    for absent in ("Declined", "Past", "Called off", "Olga only", 'class="nav', "Log out"):
        assert absent not in html
    assert "Hi Emil" in html and "You are on the waiting list." in html
    assert "Work area: Bar (Hall 2) · Role: Bartender" in html and "Castle" in html
    assert html.count('name="answer" value="yes"') == 2 and html.count("csrfmiddlewaretoken") == 4
    feed = reverse("employee-calendar", args=[employee_link_token(emil.pk)])
    assert re.search(rf'href="webcal://[^"/]+{re.escape(feed)}"', html)
    assert re.search(rf'href="https?://[^"/]+{re.escape(feed)}"', html)
    assert "crewcall/personal.css" in html


def test_yes_accepts_through_the_answer_path_with_method_web(agency: Agency, client: Client) -> None:
    emil = agency.employee("Emil Weber", preferred_language="en")
    gala = agency.event("Gala", employees_needed=2)
    invitation = ask(agency, gala, emil)

    shown = answer(client, emil, invitation, "yes")

    invitation.refresh_from_db()
    assert invitation.status == "accepted" and invitation.response_method == "web"
    assert invitation.responded_at is not None
    history = apps.get_model("staffing", "InvitationHistory")
    last = history.objects.filter(pgh_obj_id=invitation.pk).order_by("pgh_id").last()
    assert last.status == "accepted"
    assert (
        last.pgh_context["source"] == "web"
        and last.pgh_context["action"] == "staffing.invitation_answer_on_page"
    )
    assert shown.startswith("Great, Emil! You are booked for “Gala”")
    # The employee also gets the WhatsApp confirmation, once.
    assert OutboundMessage.objects.filter(invitation=invitation, kind="confirmation").count() == 1
    page = client.get(page_url(emil.pk))
    assert [i.event.title for i in page.context["shifts"]] == ["Gala"]
    assert page.context["open_invitations"] == []


def test_yes_when_full_goes_to_the_waiting_list(agency: Agency, client: Client) -> None:
    emil, olga = agency.employee("Emil", preferred_language="en"), agency.employee("Olga")
    gala = agency.event("Gala", employees_needed=1)
    agency.accepted(gala, olga)
    invitation = ask(agency, gala, emil)

    shown = answer(client, emil, invitation, "yes")

    invitation.refresh_from_db()
    assert invitation.status == "waitlisted" and invitation.response_method == "web"
    assert "is full right now. You are on the waiting list" in shown
    assert not OutboundMessage.objects.filter(invitation=invitation).exists()


def test_a_second_tap_is_harmless_and_no_never_withdraws_from_here(agency: Agency, client: Client) -> None:
    emil = agency.employee("Emil", preferred_language="en")
    invitation = ask(agency, agency.event("Gala"), emil)
    answer(client, emil, invitation, "yes")
    invitation.refresh_from_db()
    version = invitation.version

    assert answer(client, emil, invitation, "yes") == "All set, Emil: we already have your answer for “Gala”."
    assert answer(client, emil, invitation, "no") == "All set, Emil: we already have your answer for “Gala”."
    invitation.refresh_from_db()
    assert invitation.status == "accepted" and invitation.version == version
    assert OutboundMessage.objects.filter(invitation=invitation).count() == 1


def test_no_declines_and_a_closed_request_says_so(agency: Agency, client: Client) -> None:
    emil = agency.employee("Emil", preferred_language="en")
    invitation = ask(agency, agency.event("Gala"), emil)
    assert answer(client, emil, invitation, "no") == "Thanks for letting us know, Emil. Maybe next time!"
    invitation.refresh_from_db()
    assert invitation.status == "declined" and invitation.response_method == "web"

    expired = ask(agency, agency.event("Ball"), emil)
    invitation_set_status(actor=agency.actor, invitation_id=expired.pk, expected_version=expired.version,
                          status="expired")  # fmt: skip
    assert "is no longer open" in answer(client, emil, expired, "yes")
    assert Invitation.objects.get(pk=expired.pk).status == "expired"


def test_german_and_english_wording(agency: Agency, client: Client) -> None:
    gala = agency.event("Gala", event_date=timezone.localdate() + dt.timedelta(days=10))
    jana = agency.employee("Jana", preferred_language="de")
    emil = agency.employee("Emil", preferred_language="en")
    ask(agency, gala, jana)
    ask(agency, gala, emil)

    german = client.get(page_url(jana.pk))
    html = german.content.decode()
    assert '<html lang="de">' in html and german["Content-Language"] == "de"
    assert ">Zusagen</button>" in html and ">Absagen</button>" in html
    assert "Offene Anfragen" in html and "Im Kalender abonnieren" in html and "Hallo Jana" in html
    assert ">Yes</button>" not in html
    assert f"{gala.event_date:%d.%m.%Y}" in html

    english = client.get(page_url(emil.pk)).content.decode()
    assert '<html lang="en">' in english
    assert ">Yes</button>" in english and ">No</button>" in english and "Open requests" in english
    assert "Zusagen" not in english

    invitation = Invitation.objects.get(employee=jana)
    assert answer(client, jana, invitation, "yes").startswith("Super, Jana! Du bist für „Gala“")


def test_bad_links_and_other_peoples_invitations_are_404(agency: Agency, client: Client) -> None:
    emil, olga, gone, erased = (agency.employee(n) for n in ("Emil", "Olga", "Gone", "Erased"))
    invitation = ask(agency, agency.event("Gala"), emil)
    token = employee_link_token(emil.pk)
    gone_token, erased_token = employee_link_token(gone.pk), employee_link_token(erased.pk)
    employee_archive(actor=agency.actor, employee_id=gone.pk, expected_version=gone.version)
    employee_anonymise(actor=agency.actor, employee_id=erased.pk, expected_version=erased.version)

    assert client.get(page_url(emil.pk)).status_code == 200
    forged = token.split(":")[0] + ":" + "x" * 27
    tampered = f"{olga.pk}:" + token.split(":", 1)[1]
    for bad in (forged, tampered, "nonsense", gone_token, erased_token):
        assert client.get(reverse("employee-page", args=[bad])).status_code == 404, bad
        response = client.post(reverse("employee-answer", args=[bad, invitation.pk]), {"answer": "yes"})
        assert response.status_code == 404, bad
    # Olga's link cannot answer Emil's invitation, nor can an unknown answer do anything.
    assert client.post(answer_url(olga.pk, invitation.pk), {"answer": "yes"}).status_code == 404
    assert client.post(answer_url(emil.pk, invitation.pk), {"answer": "maybe"}).status_code == 400
    assert client.get(answer_url(emil.pk, invitation.pk)).status_code == 405
    assert Invitation.objects.get(pk=invitation.pk).status == "asked"


def test_an_answer_needs_the_csrf_token(agency: Agency) -> None:
    emil = agency.employee("Emil")
    invitation = ask(agency, agency.event("Gala"), emil)
    client = Client(enforce_csrf_checks=True)

    refused = client.post(answer_url(emil.pk, invitation.pk), {"answer": "yes"})
    assert refused.status_code == 403
    assert Invitation.objects.get(pk=invitation.pk).status == "asked"

    page = client.get(page_url(emil.pk)).content.decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert csrf is not None
    accepted = client.post(
        answer_url(emil.pk, invitation.pk), {"answer": "yes", "csrfmiddlewaretoken": csrf[1]}
    )
    assert accepted.status_code == 303
    assert Invitation.objects.get(pk=invitation.pk).status == "accepted"


def test_the_page_reads_with_the_same_queries_for_few_and_many_rows(agency: Agency, client: Client) -> None:
    emil = agency.employee("Emil")

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(page_url(emil.pk)).status_code == 200
        return len(queries)

    gala = agency.event("Gala")
    bar = agency.area(gala, "Bar")
    booked = agency.accepted(gala, emil)
    assignment_create(actor=agency.actor, work_area_id=bar.pk, role_id=agency.bartender.pk,
                      invitation_id=booked.pk)  # fmt: skip
    ask(agency, agency.event("Ball"), emil)
    few = count()
    for n in range(4):
        event = agency.event(f"Event {n}")
        area = agency.area(event, "Bar")
        shift = agency.accepted(event, emil)
        assignment_create(actor=agency.actor, work_area_id=area.pk, role_id=agency.bartender.pk,
                          invitation_id=shift.pk)  # fmt: skip
        ask(agency, agency.event(f"Open {n}"), emil)
    response = client.get(page_url(emil.pk))
    assert len(response.context["shifts"]) == 5 and len(response.context["open_invitations"]) == 5
    assert count() == few
