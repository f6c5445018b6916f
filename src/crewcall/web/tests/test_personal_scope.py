"""The personal page and calendar feed read in the employee's scope: with their own
employee filter removed, PostgreSQL's row-level security still shows employee A's rows
only. The control switches the policies off (as the owner) and B's rows appear."""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

import pytest
from django.db.models import QuerySet
from django.test import Client
from django.urls import reverse

from crewcall.conftest import Agency
from crewcall.staffing.models import Invitation
from crewcall.staffing.services import invitation_create
from crewcall.testing.owner import row_security_off
from crewcall.web import personal, personal_pages
from crewcall.web.personal import employee_link_token

pytestmark = pytest.mark.django_db

TABLES = ("people_employee", "staffing_invitation", "staffing_invitationhistory", "events_assignment")


def page_rows_of_everyone(employee_id: int, today: dt.date) -> tuple[list[Invitation], list[Invitation]]:
    """page_rows with its employee filter forgotten."""
    rows = list(
        Invitation.objects.filter(event__event_date__gte=today).select_related(
            "event", "assignment__work_area", "assignment__role"
        )
    )
    for row in rows:
        row.placement = None  # type: ignore[attr-defined]
    return [r for r in rows if r.status != "accepted"], [r for r in rows if r.status == "accepted"]


def calendar_entries_of_everyone(*, employee_id: int, since: dt.date) -> QuerySet[Invitation]:
    """calendar_entries with its employee filter forgotten."""
    return Invitation.objects.filter(event__event_date__gte=since).select_related(
        "event", "assignment__work_area", "assignment__role"
    )


def a_and_b(agency: Agency) -> tuple[Any, Any]:
    anna, bert = agency.employee("Anna", preferred_language="en"), agency.employee("Bert")
    agency.accepted(agency.event("Anna's gala"), anna)
    invitation_event = agency.event("Anna's brunch")
    invitation_create(actor=agency.actor, event_id=invitation_event.pk, employee_id=anna.pk)
    agency.accepted(agency.event("Bert's ball"), bert)
    invitation_create(actor=agency.actor, event_id=agency.event("Bert's banquet").pk, employee_id=bert.pk)
    return anna, bert


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("protected", [True, False], ids=["policies", "control-policies-off"])
def test_the_page_without_its_filter_still_shows_only_the_employees_rows(
    agency: Agency, monkeypatch: pytest.MonkeyPatch, protected: bool
) -> None:
    anna, _bert = a_and_b(agency)
    monkeypatch.setattr(personal_pages, "page_rows", page_rows_of_everyone)
    with row_security_off(*TABLES) if not protected else contextlib.nullcontext():
        response = Client().get(reverse("employee-page", args=[employee_link_token(anna.pk)]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Anna&#x27;s gala" in page and "Anna&#x27;s brunch" in page
    shows_bert = "Bert&#x27;s ball" in page or "Bert&#x27;s banquet" in page
    assert shows_bert is not protected


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("protected", [True, False], ids=["policies", "control-policies-off"])
def test_the_feed_without_its_filter_still_shows_only_the_employees_rows(
    agency: Agency, monkeypatch: pytest.MonkeyPatch, protected: bool
) -> None:
    anna, _bert = a_and_b(agency)
    monkeypatch.setattr(personal, "calendar_entries", calendar_entries_of_everyone)
    with row_security_off(*TABLES) if not protected else contextlib.nullcontext():
        response = Client().get(reverse("employee-calendar", args=[employee_link_token(anna.pk)]))
    assert response.status_code == 200
    feed = response.content.decode()
    assert "Anna's gala" in feed
    shows_bert = "Bert's ball" in feed or "Bert's banquet" in feed
    assert shows_bert is not protected


def test_the_answer_still_weighs_other_employees_invitations(agency: Agency) -> None:
    """The answer runs outside the scope: a full event sends the next "yes" to the waiting
    list, which it could not know if it saw only this employee's invitations."""
    anna, bert = agency.employee("Anna", preferred_language="en"), agency.employee("Bert")
    gala = agency.event("Gala", employees_needed=1)
    agency.accepted(gala, bert)
    asked = invitation_create(actor=agency.actor, event_id=gala.pk, employee_id=anna.pk)
    url = reverse("employee-answer", args=[employee_link_token(anna.pk), asked.pk])
    assert Client().post(url, {"answer": "yes"}).status_code == 303
    assert Invitation.objects.get(pk=asked.pk).status == "waitlisted"
