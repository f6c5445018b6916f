"""The domain rules speak the reader's language: what a service refuses (and what the
database refuses, in the plain words of core/rule_messages.py) reaches a German page in
German and an API client in the language it asks for (Accept-Language, English by
default), while `code` and `errors[].field` stay the same for machines."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from crewcall.conftest import Agency
from crewcall.core.errors import RuleViolation
from crewcall.core.rule_messages import rule_message
from crewcall.people.services import absence_create

pytestmark = pytest.mark.django_db

PAST = timezone.localdate() - dt.timedelta(days=3)


def at(hour: int) -> str:
    return timezone.make_aware(dt.datetime.combine(PAST, dt.time(hour))).isoformat()


def shift(employee_id: int, pause: int = 30) -> dict[str, Any]:
    return {"employee_id": employee_id, "started_at": at(18), "ended_at": at(23), "break_minutes": pause}


def errors_of(response: Any) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for error in response.json()["errors"]:
        found.setdefault(error["field"], []).append(error["message"])
    return found


def test_a_refused_api_write_answers_in_the_language_asked_for(agency: Agency, bob: Any, api_as: Any) -> None:
    event = agency.event(event_date=PAST)
    emil = agency.employee(name="Emil")
    agency.accepted(event, emil)
    api = api_as(bob)
    path = f"events/{event.pk}/work-log"

    english = api.post(path, shift(emil.pk, pause=600))
    german = api.post(path, shift(emil.pk, pause=600), **{"Accept-Language": "de-DE,de;q=0.9"})
    assert english.status_code == german.status_code == 422, german.content
    assert english.json()["code"] == german.json()["code"] == "invalid_value"
    assert errors_of(english) == {"break_minutes": ["The break must be shorter than the shift."]}
    assert errors_of(german) == {"break_minutes": ["Die Pause muss kürzer als die Schicht sein."]}
    assert german.json()["detail"] == "break_minutes: Die Pause muss kürzer als die Schicht sein."
    assert german["Content-Language"] == "de"

    # A message with a value in it: the value is put into the German sentence.
    english = api.post(path, shift(999999))
    german = api.post(path, shift(999999), **{"Accept-Language": "de"})
    assert errors_of(english) == {"employee_id": ["There is no employee 999999."]}
    assert errors_of(german) == {"employee_id": ["Es gibt keinen Mitarbeiter 999999."]}

    # A language nobody translated gets English.
    french = api.post(path, shift(emil.pk, pause=600), **{"Accept-Language": "fr"})
    assert errors_of(french) == {"break_minutes": ["The break must be shorter than the shift."]}


def test_a_constraint_refusal_over_the_api_in_german(agency: Agency, bob: Any, api_as: Any) -> None:
    event = agency.event(event_date=PAST)
    emil = agency.employee(name="Emil")
    agency.accepted(event, emil)
    api = api_as(bob)
    path = f"events/{event.pk}/work-log"
    assert api.post(path, shift(emil.pk)).status_code == 201

    english = api.post(path, shift(emil.pk))
    german = api.post(path, shift(emil.pk), **{"Accept-Language": "de"})
    assert english.status_code == german.status_code == 409, german.content
    assert english.json()["code"] == german.json()["code"] == "rule_violation"
    assert errors_of(english) == {"employee": ["Hours for this employee and event are already recorded."]}
    assert errors_of(german) == {
        "employee": ["Für diesen Mitarbeiter und diese Veranstaltung sind schon Stunden erfasst."]
    }


def absence(starts_on: str, ends_on: str) -> dict[str, str]:
    return {"kind": "vacation", "starts_on": starts_on, "ends_on": ends_on, "note": ""}


def test_a_service_rule_shows_in_german_at_the_field(agency: Agency, as_bob: Client) -> None:
    emil = agency.employee(name="Emil")
    url = reverse("people:absence-add", args=[emil.pk])
    backwards = absence("2030-05-10", "2030-05-01")

    german = as_bob.post(url, backwards, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Die Abwesenheit kann nicht enden, bevor sie beginnt." in german
    assert "The absence cannot end before it starts." not in german
    english = as_bob.post(url, backwards).content.decode()
    assert "The absence cannot end before it starts." in english


def test_a_constraint_refusal_shows_in_german_at_the_field(agency: Agency, bob: Any, as_bob: Client) -> None:
    emil = agency.employee(name="Emil")
    absence_create(
        actor=bob,
        employee_id=emil.pk,
        kind="vacation",
        starts_on=dt.date(2030, 5, 1),
        ends_on=dt.date(2030, 5, 10),
    )
    url = reverse("people:absence-add", args=[emil.pk])
    overlapping = absence("2030-05-05", "2030-05-12")

    german = as_bob.post(url, overlapping, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Diese Abwesenheit überschneidet sich mit einer anderen Abwesenheit dieses Mitarbeiters." in german
    assert "overlaps another absence" not in german
    english = as_bob.post(url, overlapping).content.decode()
    assert "This absence overlaps another absence of this employee." in english


def test_rule_messages_are_text_in_the_active_language() -> None:
    """Lazy in the table, plain str once asked for: JSON answers never see a lazy object."""
    with translation.override("de"):
        named = rule_message("people_absence__starts_on__no_overlap")
        generic = rule_message("events_workarea__name__not_blank")
        unknown = rule_message("some_table__field__odd_rule")
        violation = RuleViolation(field="name", message=generic, constraint="x")
    assert type(named) is str and type(generic) is str and type(unknown) is str
    assert generic == "Dieses Feld ist zwingend erforderlich."
    assert unknown == "Dieser Wert verletzt eine Regel der Daten."
    assert type(violation.errors["name"][0]) is str
    with translation.override("en"):
        assert rule_message("events_workarea__name__not_blank") == "This field is required."
