"""Asking, waves, nudges, reminders, expiry and cancellation notices — each writes its
messages in the same transaction as the change, once per intent."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.db import transaction
from django.utils import timezone

from crewcall.core.errors import ValidationFailed
from crewcall.messaging.models import OutboundMessage
from crewcall.staffing import automation
from crewcall.staffing.answers import lock_event_for_answers
from crewcall.staffing.asking import ask_wave, event_ask, event_nudge
from crewcall.staffing.event_lifecycle import event_cancel
from crewcall.staffing.models import Invitation
from crewcall.staffing.services import invitation_answer_on_page, invitation_set_status
from crewcall.testing.sql import run

pytestmark = pytest.mark.django_db


def send_jobs() -> set[int]:
    rows = run(
        "SELECT args->>'message_id' FROM procrastinate_jobs WHERE task_name = 'messaging.send_message'"
    )
    return {int(r[0]) for r in rows}


def staff(agency, n: int):
    return [agency.employee(name=f"E{i:02}") for i in range(n)]


def test_asking_writes_invitations_messages_and_send_jobs_together(agency) -> None:
    staff(agency, 6)
    event = agency.event(status="draft", employees_needed=2, employees_to_ask=4)
    result = event_ask(actor=agency.actor, event_id=event.pk)
    assert (result.wave, result.created, len(result.invitations)) == (1, True, 4)
    event.refresh_from_db()
    assert event.status == "recruiting"
    messages = OutboundMessage.objects.filter(event=event, kind="invitation")
    assert {m.invitation_id for m in messages} == {i.pk for i in result.invitations}
    assert all(i.pick_reason for i in result.invitations)
    assert {m.pk for m in messages} <= send_jobs()
    message = messages.first()
    assert message is not None and message.template_variables["yes_payload"] == f"YES_{message.invitation_id}"


def test_a_rolled_back_ask_leaves_neither_invitations_nor_messages_nor_jobs(agency) -> None:
    staff(agency, 3)
    event = agency.event(employees_needed=1, employees_to_ask=3)
    jobs_before = send_jobs()
    with pytest.raises(RuntimeError), transaction.atomic():
        ask_wave(event=lock_event_for_answers(event.pk))
        assert Invitation.objects.filter(event=event).count() == 3
        raise RuntimeError("the caller fails after asking")
    assert not Invitation.objects.filter(event=event).exists()
    assert not OutboundMessage.objects.filter(event=event).exists()
    assert send_jobs() == jobs_before


def test_asking_the_same_wave_twice_doubles_nothing(agency) -> None:
    staff(agency, 8)
    event = agency.event(employees_needed=2, employees_to_ask=3)
    first = event_ask(actor=agency.actor, event_id=event.pk, wave=1)
    again = event_ask(actor=agency.actor, event_id=event.pk, wave=1)
    assert again.created is False
    assert {i.pk for i in again.invitations} == {i.pk for i in first.invitations}
    assert Invitation.objects.filter(event=event).count() == 3
    assert OutboundMessage.objects.filter(event=event).count() == 3
    with pytest.raises(ValidationFailed):
        event_ask(actor=agency.actor, event_id=event.pk, wave=5)


def test_cancelling_tells_everyone_open_or_booked(agency) -> None:
    people = staff(agency, 4)
    event = agency.event(employees_needed=1, employees_to_ask=4)
    event_ask(actor=agency.actor, event_id=event.pk)
    invs = {i.employee_id: i for i in Invitation.objects.filter(event=event)}
    accepted = invs[people[0].pk]
    invitation_set_status(
        actor=agency.actor, invitation_id=accepted.pk, expected_version=accepted.version, status="accepted"
    )
    declined = invs[people[1].pk]
    invitation_set_status(
        actor=agency.actor, invitation_id=declined.pk, expected_version=declined.version, status="declined"
    )
    event.refresh_from_db()
    event_cancel(actor=agency.actor, event_id=event.pk, expected_version=event.version)
    told = set(
        OutboundMessage.objects.filter(event=event, kind="cancellation").values_list("employee_id", flat=True)
    )
    assert told == {people[0].pk, people[2].pk, people[3].pk}


def test_a_nudge_goes_once_a_day_to_those_who_have_not_answered(agency) -> None:
    people = staff(agency, 3)
    event = agency.event(employees_needed=1, employees_to_ask=3)
    event_ask(actor=agency.actor, event_id=event.pk)
    answered = Invitation.objects.get(event=event, employee=people[0])
    invitation_set_status(
        actor=agency.actor, invitation_id=answered.pk, expected_version=answered.version, status="declined"
    )
    assert event_nudge(actor=agency.actor, event_id=event.pk) == 2
    assert event_nudge(actor=agency.actor, event_id=event.pk) == 0
    assert OutboundMessage.objects.filter(event=event, kind="nudge").count() == 2


def test_reminders_go_the_day_before_once(agency) -> None:
    people = staff(agency, 2)
    tomorrow = agency.event("Tomorrow", event_date=timezone.localdate() + timedelta(days=1))
    later = agency.event("Later", event_date=timezone.localdate() + timedelta(days=5))
    for event in (tomorrow, later):
        agency.accepted(event, people[0])
    assert automation.reminders_send() == 1
    assert automation.reminders_send() == 0
    reminder = OutboundMessage.objects.get(kind="reminder")
    assert reminder.event_id == tomorrow.pk and reminder.employee_id == people[0].pk


def test_unanswered_invitations_expire_at_the_reply_deadline(agency) -> None:
    staff(agency, 3)
    event = agency.event(
        employees_needed=2, employees_to_ask=3, reply_deadline=timezone.now() + timedelta(hours=1)
    )
    event_ask(actor=agency.actor, event_id=event.pk)
    assert automation.invitations_expire() == 0
    run("UPDATE events_event SET reply_deadline = now() - interval '1 minute' WHERE id = %s", [event.pk])
    assert automation.invitations_expire() == 3
    assert set(Invitation.objects.filter(event=event).values_list("status", flat=True)) == {"expired"}
    assert automation.invitations_expire() == 0


def test_a_lagging_event_gets_a_follow_up_wave(agency) -> None:
    staff(agency, 10)
    event = agency.event(employees_needed=2, employees_to_ask=3)
    event_ask(actor=agency.actor, event_id=event.pk)
    for invitation in Invitation.objects.filter(event=event):
        invitation_set_status(
            actor=agency.actor,
            invitation_id=invitation.pk,
            expected_version=invitation.version,
            status="declined",
        )
    assert automation.events_lagging() == []  # too soon
    run(
        "UPDATE staffing_invitation SET asked_at = asked_at - interval '3 hours', responded_at = NULL WHERE event_id = %s",
        [event.pk],
    )
    assert automation.events_lagging() == [event.pk]
    result = automation.event_follow_up(event_id=event.pk)
    assert result is not None and result.wave == 2 and len(result.invitations) == 3
    first_wave = set(Invitation.objects.filter(event=event, wave=1).values_list("employee_id", flat=True))
    assert not first_wave & {i.employee_id for i in result.invitations}
    assert automation.event_follow_up(event_id=event.pk) is None  # the new wave is not due yet


def test_every_message_about_a_shift_carries_the_personal_link_that_opens_the_page(agency, client) -> None:
    [ada, ben] = staff(agency, 2)
    event = agency.event(status="draft", employees_needed=1, employees_to_ask=2, location="")
    event_ask(actor=agency.actor, event_id=event.pk)
    invitation = Invitation.objects.get(event=event, employee=ada)
    invitation_answer_on_page(employee_id=ada.pk, invitation_id=invitation.pk, answer="yes")
    sent = {(m.employee_id, m.kind): m for m in OutboundMessage.objects.filter(event=event)}
    invite, confirmation = sent[(ada.pk, "invitation")], sent[(ada.pk, "confirmation")]
    for message in (invite, confirmation, sent[(ben.pk, "invitation")]):
        assert "Deine Einsätze und Antworten: http" in message.body, message.body
        link = message.template_variables["link"]
        assert message.body.endswith(link)
        page = client.get(urlsplit(link).path)
        assert page.status_code == 200
    assert invite.template_variables["link"] != sent[(ben.pk, "invitation")].template_variables["link"]
    # An event without a location says nothing about one (it said "um 18:00 (—)").
    assert "(—)" not in invite.body and "um 18:00," in invite.body
