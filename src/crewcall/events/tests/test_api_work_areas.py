"""Work areas over the API: their load, versions, strict role requirements."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crewcall.conftest import Agency
from crewcall.events.models import WorkArea
from crewcall.people import services as people
from crewcall.staffing.placement import assignment_create
from crewcall.testing.api import error_fields

pytestmark = pytest.mark.django_db


def match(version: int) -> dict[str, str]:
    return {"If-Match": f'"{version}"'}


def test_a_work_area_round_trips_with_its_version(agency: Agency, bob: Any, api_as: Any) -> None:
    people.skill_create(actor=agency.actor, key="cocktails", name="Cocktails")
    people.skill_create(actor=agency.actor, key="first_aid", name="First aid")
    api = api_as(bob)
    event = agency.event(status="draft")
    r = api.post(
        f"events/{event.pk}/work-areas",
        {
            "name": "Bar",
            "max_capacity": 3,
            "role_requirements": {"bartender": 2},
            "required_skills": ["cocktails"],
            "priority": "high",
            "color_theme": "amber",
        },
    )
    assert r.status_code == 201, r.content
    area = r.json()
    assert r["ETag"] == '"1"' and r["Location"] == f"/api/v1/work-areas/{area['id']}"
    assert (area["assigned"], area["required_skills"], area["role_requirements"]) == (
        0,
        ["cocktails"],
        {"bartender": 2},
    )
    path = f"work-areas/{area['id']}"
    assert api.get(path)["ETag"] == '"1"'
    assert api.patch(path, {"max_capacity": 4}).status_code == 428
    r = api.patch(path, {"max_capacity": 4, "role_requirements": {"bartender": 1, "waiter": 2}}, **match(1))
    assert r.status_code == 200 and r["ETag"] == '"2"', r.content
    assert r.json()["role_requirements"] == {"bartender": 1, "waiter": 2}
    # Changing only the skills is a change of the work area: its version moves.
    r = api.patch(path, {"required_skills": ["first_aid", "cocktails"]}, **match(2))
    assert r.status_code == 200 and r["ETag"] == '"3"', r.content
    assert r.json()["required_skills"] == ["cocktails", "first_aid"]
    r = api.patch(path, {"name": "Lost"}, **match(2))
    assert r.status_code == 412 and r.json()["current"]["max_capacity"] == 4 and r["ETag"] == '"3"'
    assert api.delete(path).status_code == 428
    assert api.delete(path, **match(2)).status_code == 412
    assert api.delete(path, **match(3)).status_code == 204
    assert not WorkArea.objects.exists()
    assert api.get(path).status_code == 404


def test_the_list_shows_the_load_in_position_order(agency: Agency, carol: Any, api_as: Any) -> None:
    event = agency.event()
    door = agency.area(event, "Door", capacity=2, position_order=2)
    bar = agency.area(event, "Bar", capacity=3, position_order=1)
    for name in ("Ada", "Ben"):
        invitation = agency.accepted(event, agency.employee(name))
        assignment_create(
            actor=agency.actor, invitation_id=invitation.pk, work_area_id=bar.pk, role_id=agency.bartender.pk
        )
    agency.area(agency.event("Other"), "Bar")
    api = api_as(carol)
    items = api.get(f"events/{event.pk}/work-areas").json()["items"]
    assert [(a["name"], a["assigned"]) for a in items] == [("Bar", 2), ("Door", 0)]
    page = api.get(f"events/{event.pk}/work-areas?sort=-name&limit=1").json()
    assert [a["id"] for a in page["items"]] == [door.pk] and page["next"]
    rest = api.get(f"events/{event.pk}/work-areas?sort=-name&limit=1&after={page['next']}").json()
    assert [a["id"] for a in rest["items"]] == [bar.pk] and rest["next"] is None
    assert api.get("events/999999/work-areas").status_code == 404


def test_the_list_costs_the_same_queries_for_3_rows_as_for_60(
    agency: Agency, carol: Any, api_as: Any
) -> None:
    skills = [people.skill_create(actor=agency.actor, key=f"s{i}", name=f"Skill {i}") for i in range(3)]
    event = agency.event(employees_needed=5, employees_to_ask=5)
    api = api_as(carol)

    def queries() -> int:
        api.get(f"events/{event.pk}/work-areas?limit=1")  # warm up anything cached per process
        with CaptureQueriesContext(connection) as captured:
            r = api.get(f"events/{event.pk}/work-areas?limit=200")
        assert r.status_code == 200
        return len(captured)

    def add_areas(numbers: range) -> None:
        for i in numbers:
            area = agency.area(event, f"Area {i}", capacity=2, required_skills=skills[: i % 3 + 1])
            if i % 20 == 0:
                invitation = agency.accepted(event, agency.employee(f"P{i}"))
                assignment_create(
                    actor=agency.actor,
                    invitation_id=invitation.pk,
                    work_area_id=area.pk,
                    role_id=agency.waiter.pk,
                )

    add_areas(range(3))
    few = queries()
    add_areas(range(3, 60))
    items = api.get(f"events/{event.pk}/work-areas?limit=200").json()["items"]
    assert len(items) == 60 and sum(a["assigned"] for a in items) == 3
    assert queries() == few


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"max_capacity": 0}, "max_capacity"),
        ({"max_capacity": 10**12}, "max_capacity"),
        ({"role_requirements": {"bartender": 0}}, "role_requirements.bartender"),
        ({"role_requirements": {"bartender": "1"}}, "role_requirements.bartender"),
        ({"role_requirements": {"Bar Tender": 1}}, "role_requirements.Bar Tender.[key]"),
        ({"role_requirements": {f"r{i}": 1 for i in range(51)}}, "role_requirements"),
        ({"role_requirements": ["bartender"]}, "role_requirements"),
        ({"required_skills": ["nope"]}, "required_skills"),
        ({"required_skills": "cocktails"}, "required_skills"),
        ({"priority": "urgent"}, "priority"),
        ({"color_theme": "#ff0000"}, "color_theme"),
        ({"name": "Bar\u0000"}, "name"),
        ({"name": ""}, "name"),
        ({"position_order": -1}, "position_order"),
        ({"assigned": 3}, "assigned"),
    ],
)
def test_bad_input_is_refused_naming_the_field(
    agency: Agency, bob: Any, api_as: Any, change: dict[str, Any], field: str
) -> None:
    event = agency.event()
    r = api_as(bob).post(f"events/{event.pk}/work-areas", {"name": "Bar", "max_capacity": 3, **change})
    assert r.status_code == 422, r.content
    assert error_fields(r) == {field}, r.json()
    assert not WorkArea.objects.exists()


def test_database_rules_answer_with_the_field(agency: Agency, bob: Any, api_as: Any) -> None:
    api = api_as(bob)
    event = agency.event()
    r = api.post(
        f"events/{event.pk}/work-areas", {"name": "Bar", "max_capacity": 1, "role_requirements": {"cook": 2}}
    )
    assert r.status_code == 409 and error_fields(r) == {"role_requirements"}, r.content
    r = api.post(
        f"events/{event.pk}/work-areas",
        {"name": "Bar", "max_capacity": 1, "role_requirements": {"juggler": 1}},
    )
    assert r.status_code == 409 and error_fields(r) == {"role_requirements"}, r.content
    assert api.post(f"events/{event.pk}/work-areas", {"name": "Bar", "max_capacity": 1}).status_code == 201
    r = api.post(f"events/{event.pk}/work-areas", {"name": "bar", "max_capacity": 1})
    assert r.status_code == 409 and error_fields(r) == {"name"}, r.content
    assert api.post("events/999999/work-areas", {"name": "Bar", "max_capacity": 1}).status_code == 404


def test_viewers_read_but_do_not_write(agency: Agency, carol: Any, api_as: Any) -> None:
    area = agency.area(agency.event())
    api = api_as(carol)
    assert api.get(f"work-areas/{area.pk}").status_code == 200
    assert api.patch(f"work-areas/{area.pk}", {"name": "X"}, **match(area.version)).status_code == 403
    assert api.delete(f"work-areas/{area.pk}", **match(area.version)).status_code == 403
    assert api.post(f"events/{area.event_id}/work-areas", {"name": "Y", "max_capacity": 1}).status_code == 403
