"""Completing an event is guarded (not before it has ended, asked first on its page) and
can be taken back within CREWCALL_EVENT_REOPEN_DAYS; both ways are in the history."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

import pytest
from django.apps import apps
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from crewcall.conftest import Agency
from crewcall.core.errors import ValidationFailed
from crewcall.events.models import Event
from crewcall.staffing.event_lifecycle import event_transition
from crewcall.staffing.models import Invitation
from crewcall.staffing.services import invitation_create
from crewcall.testing.sql import run

pytestmark = pytest.mark.django_db

YESTERDAY = timezone.localdate() - timedelta(days=1)


def statuses(event: Event) -> list[str]:
    return sorted(Invitation.objects.filter(event=event).values_list("status", flat=True))


def test_a_future_event_cannot_be_completed_by_any_door(
    agency: Agency, as_bob: Client, api_as: Any, bob
) -> None:
    event = agency.event(event_date=timezone.localdate() + timedelta(days=21))
    with pytest.raises(ValidationFailed) as refused:
        event_transition(actor=bob, event_id=event.pk, expected_version=event.version, to_status="completed")
    assert set(refused.value.errors) == {"status"} and "once it has ended" in str(refused.value)

    r = api_as(bob).post(
        f"events/{event.pk}/transition", {"to_status": "completed"}, **{"If-Match": f'"{event.version}"'}
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_value", r.content

    page = as_bob.get(reverse("events:detail", args=[event.pk])).content.decode()
    assert (
        "Can be completed once it has ended" in page
        and reverse("events:complete", args=[event.pk]) not in page
    )
    posted = as_bob.post(reverse("events:complete", args=[event.pk]), {"version": event.version}, follow=True)
    assert "once it has ended" in posted.content.decode()
    event.refresh_from_db()
    assert event.status == "recruiting" and event.completed_at is None


def test_an_ended_event_is_completed_after_a_question_and_reopened_within_the_window(
    agency: Agency, as_bob: Client, bob
) -> None:
    event = agency.event(event_date=YESTERDAY, employees_needed=1, employees_to_ask=2)
    agency.accepted(event, agency.employee("Emil"))
    invitation_create(actor=bob, event_id=event.pk, employee_id=agency.employee("Olga").pk)
    event.refresh_from_db()
    detail = reverse("events:detail", args=[event.pk])
    complete = reverse("events:complete", args=[event.pk])
    assert complete in as_bob.get(detail).content.decode()

    asked = as_bob.get(complete)  # the question, nothing done yet
    assert (
        "Mark “Gala” completed?" in asked.content.decode()
        and "requests still open expire" in asked.content.decode()
    )
    event.refresh_from_db()
    assert event.status == "staffed"
    assert as_bob.post(complete, {"version": event.version}).status_code == 302
    event.refresh_from_db()
    assert event.status == "completed" and event.completed_at is not None
    assert statuses(event) == ["completed", "expired"]

    page = as_bob.get(detail).content.decode()
    assert "Reopen" in page
    reopened = as_bob.post(
        reverse("events:transition", args=[event.pk]), {"version": event.version, "to_status": "recruiting"}
    )
    assert reopened.status_code == 302
    event.refresh_from_db()
    # Back as its acceptances say (one needed, one accepted); the expired request stays.
    assert event.status == "staffed" and event.completed_at is None
    assert statuses(event) == ["accepted", "expired"]
    history = apps.get_model("events", "EventHistory").objects.filter(pgh_obj_id=event.pk).order_by("pgh_id")
    changes = [(row.status, row.pgh_context["user"]) for row in history if row.pgh_context]
    assert changes[-2:] == [("completed", bob.pk), ("staffed", bob.pk)]


def test_after_the_window_a_completed_event_stays_completed(
    agency: Agency, as_bob: Client, bob, settings
) -> None:
    event = agency.event(event_date=YESTERDAY - timedelta(days=30), end_time=time(23, 0))
    event = event_transition(
        actor=bob, event_id=event.pk, expected_version=event.version, to_status="completed"
    )
    run("UPDATE events_event SET completed_at = now() - interval '15 days' WHERE id = %s", [event.pk])
    event.refresh_from_db()
    settings.EVENT_REOPEN_DAYS = 14
    assert "Reopen" not in as_bob.get(reverse("events:detail", args=[event.pk])).content.decode()
    with pytest.raises(ValidationFailed, match="reopened for 14 days"):
        event_transition(actor=bob, event_id=event.pk, expected_version=event.version, to_status="recruiting")
    settings.EVENT_REOPEN_DAYS = 30
    reopened = event_transition(
        actor=bob, event_id=event.pk, expected_version=event.version, to_status="recruiting"
    )
    assert reopened.status == "recruiting"
