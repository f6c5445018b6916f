"""Placements over the API: by invitation or employee, capacity held, moves versioned."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crewcall.conftest import Agency
from crewcall.staffing.models import Assignment
from crewcall.testing.api import error_fields

pytestmark = pytest.mark.django_db


def match(version: int) -> dict[str, str]:
    return {"If-Match": f'"{version}"'}


@pytest.fixture
def staffed(agency: Agency) -> dict[str, Any]:
    event = agency.event(employees_needed=3, employees_to_ask=4)
    crew = [agency.employee(name) for name in ("Ada", "Ben", "Cem")]
    return {
        "event": event,
        "bar": agency.area(event, "Bar", capacity=2, role_requirements={"bartender": 1}),
        "floor": agency.area(event, "Floor", capacity=3),
        "crew": crew,
        "invitations": [agency.accepted(event, person) for person in crew],
    }


def test_a_placement_is_made_moved_and_removed(staffed: dict[str, Any], bob: Any, api_as: Any) -> None:
    api = api_as(bob)
    event, bar, floor = staffed["event"], staffed["bar"], staffed["floor"]
    r = api.post(
        f"events/{event.pk}/assignments",
        {"invitation_id": staffed["invitations"][0].pk, "work_area_id": bar.pk, "role": "bartender"},
    )
    assert r.status_code == 201, r.content
    placed = r.json()
    assert r["ETag"] == '"1"' and r["Location"] == f"/api/v1/assignments/{placed['id']}"
    assert (placed["employee_name"], placed["role"], placed["work_area_id"]) == ("Ada", "bartender", bar.pk)
    r = api.post(
        f"events/{event.pk}/assignments",
        {"employee_id": staffed["crew"][1].pk, "work_area_id": floor.pk, "role": "waiter"},
    )
    assert r.status_code == 201, r.content
    assert r.json()["invitation_id"] == staffed["invitations"][1].pk
    path = f"assignments/{placed['id']}"
    assert api.patch(path, {"work_area_id": floor.pk}).status_code == 428
    r = api.patch(path, {"work_area_id": floor.pk}, **match(1))
    assert r.status_code == 200 and r["ETag"] == '"2"', r.content
    assert (r.json()["work_area_id"], r.json()["role"]) == (floor.pk, "bartender")
    r = api.patch(path, {"role": "waiter"}, **match(2))
    assert r.status_code == 200 and r.json()["role"] == "waiter" and r.json()["work_area_id"] == floor.pk
    r = api.patch(path, {"role": "cook"}, **match(2))
    assert r.status_code == 412 and r.json()["current"]["role"] == "waiter"
    items = api.get(f"events/{event.pk}/assignments").json()["items"]
    assert [(a["employee_name"], a["work_area_id"]) for a in items] == [("Ada", floor.pk), ("Ben", floor.pk)]
    assert api.get(f"events/{event.pk}/assignments?work_area_id={bar.pk}").json()["items"] == []
    assert api.delete(path).status_code == 428
    assert api.delete(path, **match(3)).status_code == 204
    assert list(Assignment.objects.values_list("employee__name", flat=True)) == ["Ben"]


def test_capacity_and_role_requirements_are_held(staffed: dict[str, Any], bob: Any, api_as: Any) -> None:
    api = api_as(bob)
    event, bar = staffed["event"], staffed["bar"]
    ada, ben, cem = staffed["invitations"]
    url = f"events/{event.pk}/assignments"
    assert (
        api.post(url, {"invitation_id": ada.pk, "work_area_id": bar.pk, "role": "bartender"}).status_code
        == 201
    )
    r = api.post(url, {"invitation_id": ben.pk, "work_area_id": bar.pk, "role": "bartender"})
    assert r.status_code == 409 and error_fields(r) == {"role"}, r.content
    assert (
        api.post(url, {"invitation_id": ben.pk, "work_area_id": bar.pk, "role": "waiter"}).status_code == 201
    )
    r = api.post(url, {"invitation_id": cem.pk, "work_area_id": bar.pk, "role": "waiter"})
    assert r.status_code == 409 and error_fields(r) == {"work_area"}, r.content
    r = api.post(url, {"invitation_id": ada.pk, "work_area_id": staffed["floor"].pk, "role": "waiter"})
    assert r.status_code == 409, r.content
    assert Assignment.objects.filter(work_area=bar).count() == 2


def test_only_people_of_this_event_are_placed_in_its_areas(
    agency: Agency, staffed: dict[str, Any], bob: Any, api_as: Any
) -> None:
    api = api_as(bob)
    event, bar = staffed["event"], staffed["bar"]
    other = agency.event("Other")
    elsewhere = agency.area(other, "Bar")
    stranger = agency.accepted(other, agency.employee("Dora"))
    url = f"events/{event.pk}/assignments"
    cases = [
        ({"invitation_id": stranger.pk, "work_area_id": bar.pk, "role": "waiter"}, "invitation_id"),
        ({"employee_id": agency.employee("Eve").pk, "work_area_id": bar.pk, "role": "waiter"}, "employee_id"),
        (
            {"invitation_id": staffed["invitations"][0].pk, "work_area_id": elsewhere.pk, "role": "waiter"},
            "work_area_id",
        ),
        (
            {"invitation_id": staffed["invitations"][0].pk, "work_area_id": 2**62, "role": "waiter"},
            "work_area_id",
        ),
        ({"invitation_id": staffed["invitations"][0].pk, "work_area_id": bar.pk, "role": "juggler"}, "role"),
        ({"work_area_id": bar.pk, "role": "waiter"}, "invitation_id"),
        (
            {
                "invitation_id": staffed["invitations"][0].pk,
                "employee_id": staffed["crew"][0].pk,
                "work_area_id": bar.pk,
                "role": "waiter",
            },
            "invitation_id",
        ),
        ({"invitation_id": "1", "work_area_id": bar.pk, "role": "waiter"}, "invitation_id"),
        ({"invitation_id": 2**63, "work_area_id": bar.pk, "role": "waiter"}, "invitation_id"),
        ({"invitation_id": staffed["invitations"][0].pk, "work_area_id": bar.pk, "role": "Waiter"}, "role"),
    ]
    for body, field in cases:
        r = api.post(url, body)
        assert r.status_code == 422, (body, r.content)
        assert error_fields(r) == {field}, (body, r.json())
    assert not Assignment.objects.exists()
    placed = api.post(
        url, {"invitation_id": staffed["invitations"][0].pk, "work_area_id": bar.pk, "role": "waiter"}
    )
    r = api.patch(f"assignments/{placed.json()['id']}", {"work_area_id": elsewhere.pk}, **match(1))
    assert r.status_code == 422 and error_fields(r) == {"work_area_id"}, r.content
    r = api.patch(f"assignments/{placed.json()['id']}", {"work_area_id": None}, **match(1))
    assert r.status_code == 422 and error_fields(r) == {"work_area_id"}, r.content


def test_the_list_costs_the_same_queries_however_long(agency: Agency, carol: Any, api_as: Any) -> None:
    event = agency.event(employees_needed=20, employees_to_ask=20)
    area = agency.area(event, "Hall", capacity=20)
    api = api_as(carol)

    def place(names: range) -> None:
        from crewcall.staffing.placement import assignment_create

        for i in names:
            invitation = agency.accepted(event, agency.employee(f"P{i}"))
            assignment_create(
                actor=agency.actor,
                invitation_id=invitation.pk,
                work_area_id=area.pk,
                role_id=agency.waiter.pk,
            )

    def queries() -> int:
        api.get(f"events/{event.pk}/assignments?limit=1")
        with CaptureQueriesContext(connection) as captured:
            assert api.get(f"events/{event.pk}/assignments?limit=200").status_code == 200
        return len(captured)

    place(range(2))
    few = queries()
    place(range(2, 15))
    assert queries() == few


def test_viewers_read_but_do_not_place(staffed: dict[str, Any], carol: Any, api_as: Any) -> None:
    api = api_as(carol)
    event, bar = staffed["event"], staffed["bar"]
    assert api.get(f"events/{event.pk}/assignments").status_code == 200
    r = api.post(
        f"events/{event.pk}/assignments",
        {"invitation_id": staffed["invitations"][0].pk, "work_area_id": bar.pk, "role": "waiter"},
    )
    assert r.status_code == 403
    assert api.get("assignments/999999").status_code == 404
