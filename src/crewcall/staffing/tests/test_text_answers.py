"""Text answers without buttons: an answer naming a date or an event is matched; with two
open requests and nothing to tell them apart, a numbered list that a number answers;
accepted shifts are not "open" while a request waits; questions reach a person."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from crewcall.messaging.models import InboundMessage, OutboundMessage
from crewcall.staffing.models import Invitation
from crewcall.staffing.services import invitation_create
from crewcall.testing.webhooks import whatsapp_says

pytestmark = pytest.mark.django_db


def say(person: Any, body: str) -> InboundMessage:
    return InboundMessage.objects.get(pk=whatsapp_says(person.phone_number, body))


def last_reply(person: Any) -> str:
    return OutboundMessage.objects.filter(employee=person).order_by("-pk").values_list("body", flat=True)[0]


@pytest.fixture
def two_requests(agency: Any) -> tuple[Any, Invitation, Invitation]:
    ada = agency.employee("Ada")
    soon = timezone.localdate() + dt.timedelta(days=5)
    gala = agency.event("Gala", event_date=soon)
    wedding = agency.event("Repro Wedding", event_date=soon + dt.timedelta(days=1))
    first = invitation_create(actor=agency.actor, event_id=gala.pk, employee_id=ada.pk)
    second = invitation_create(actor=agency.actor, event_id=wedding.pk, employee_id=ada.pk)
    return ada, first, second


def status(invitation: Invitation) -> str:
    return Invitation.objects.get(pk=invitation.pk).status


def test_an_answer_naming_the_date_answers_that_request(two_requests) -> None:
    ada, gala, wedding = two_requests
    day = wedding.event.event_date
    said = say(ada, f"ja {day:%d.%m.}")
    assert said.outcome == "applied" and said.invitation_id == wedding.pk
    assert (status(gala), status(wedding)) == ("asked", "accepted")


def test_an_answer_naming_the_event_answers_that_request(two_requests) -> None:
    ada, gala, wedding = two_requests
    assert say(ada, "Ja, repro wedding").invitation_id == wedding.pk
    assert say(ada, "Nein für die Gala leider").invitation_id == gala.pk
    assert (status(gala), status(wedding)) == ("declined", "accepted")


def test_a_plain_answer_gets_a_numbered_list_and_a_number_answers_it(two_requests) -> None:
    ada, gala, wedding = two_requests
    first = say(ada, "ja")
    assert first.outcome == "ambiguous"
    asked = last_reply(ada)
    assert f"1 = Gala am {gala.event.event_date:%d.%m.}" in asked and "2 = Repro Wedding am" in asked
    assert "„1 ja“" in asked
    assert say(ada, "2").invitation_id == wedding.pk  # the "ja" we asked about, for number 2
    assert (status(gala), status(wedding)) == ("asked", "accepted")
    # Now only the gala waits for an answer: the accepted wedding is not "open".
    assert say(ada, "nein").invitation_id == gala.pk
    assert status(gala) == "declined"


def test_a_number_with_an_answer_needs_no_earlier_message(two_requests) -> None:
    ada, gala, wedding = two_requests
    assert say(ada, "1 nein").invitation_id == gala.pk
    assert (status(gala), status(wedding)) == ("declined", "asked")


def test_a_lone_number_without_a_question_asked_is_not_an_answer(two_requests) -> None:
    ada, gala, wedding = two_requests
    said = say(ada, "2")
    assert said.outcome == "unparseable" and (status(gala), status(wedding)) == ("asked", "asked")


def test_a_question_reaches_a_person_and_the_employee_is_told(two_requests) -> None:
    ada, gala, wedding = two_requests
    said = say(ada, "Kann ich erst um 19 Uhr kommen?")
    assert said.outcome == "unparseable"
    assert "Deine Nachricht ist bei der Disposition angekommen" in last_reply(ada)
    # A yes inside a question is not taken for an answer either.
    assert say(ada, "Ja, aber erst ab 19 Uhr, geht das?").outcome == "unparseable"
    assert (status(gala), status(wedding)) == ("asked", "asked")


def test_with_only_accepted_shifts_a_no_still_withdraws(agency: Any) -> None:
    ada = agency.employee("Ada")
    shift = agency.accepted(agency.event("Gala"), ada)
    assert say(ada, "nein").invitation_id == shift.pk
    assert status(shift) == "cancelled"
