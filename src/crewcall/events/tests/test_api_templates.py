"""/templates over the API, "new from template" and weekly copies of an event."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from crewcall.conftest import Agency
from crewcall.events.models import Event, WorkArea
from crewcall.people import services as people
from crewcall.testing.api import error_fields

pytestmark = pytest.mark.django_db

TEMPLATE = {
    "title": "Wedding",
    "start_time": "16:00",
    "end_time": "23:30",
    "hourly_rate": "17.00",
    "employees_needed": 4,
    "employees_to_ask": 6,
}


def match(version: int) -> dict[str, str]:
    return {"If-Match": f'"{version}"'}


def _template_with_areas(agency: Agency, api: Any) -> dict[str, Any]:
    people.skill_create(actor=agency.actor, key="cocktails", name="Cocktails")
    r = api.post("templates", TEMPLATE)
    assert r.status_code == 201, r.content
    template = r.json()
    r = api.post(
        f"events/{template['id']}/work-areas",
        {
            "name": "Bar",
            "max_capacity": 2,
            "role_requirements": {"bartender": 1},
            "required_skills": ["cocktails"],
        },
    )
    assert r.status_code == 201, r.content
    r = api.post(
        f"events/{template['id']}/work-areas", {"name": "Service", "max_capacity": 3, "priority": "high"}
    )
    assert r.status_code == 201, r.content
    return template


def _areas(event_id: int) -> list[tuple[Any, ...]]:
    return [
        (
            a.name,
            a.max_capacity,
            a.role_requirements,
            a.priority,
            sorted(s.key for s in a.required_skills.all()),
        )
        for a in WorkArea.objects.filter(event_id=event_id).order_by("name")
    ]


def test_a_template_round_trips_and_makes_events(agency: Agency, bob: Any, api_as: Any) -> None:
    api = api_as(bob)
    template = _template_with_areas(agency, api)
    assert template["version"] == 1 and "event_date" not in template and "status" not in template
    path = f"templates/{template['id']}"
    r = api.get(path)
    assert r.status_code == 200 and r["ETag"] == '"1"'
    assert api.patch(path, {"title": "Big wedding"}).status_code == 428
    r = api.patch(path, {"title": "Big wedding"}, **match(1))
    assert r.status_code == 200 and r.json()["title"] == "Big wedding" and r["ETag"] == '"2"', r.content
    r = api.patch(path, {"title": "Lost"}, **match(1))
    assert r.status_code == 412 and r.json()["current"]["title"] == "Big wedding"
    r = api.post(f"{path}/events", {"event_date": "2030-06-06"})
    assert r.status_code == 201, r.content
    event = r.json()
    assert (event["title"], event["status"], event["template_id"], event["event_date"]) == (
        "Big wedding",
        "draft",
        template["id"],
        "2030-06-06",
    )
    assert event["summary"]["work_areas"] == 2 and event["summary"]["capacity"] == 5
    assert _areas(event["id"]) == _areas(template["id"])
    assert _areas(event["id"])[0] == ("Bar", 2, {"bartender": 1}, "medium", ["cocktails"])
    r = api.get("templates")
    assert [t["title"] for t in r.json()["items"]] == ["Big wedding"]
    assert [e["id"] for e in api.get("events").json()["items"]] == [event["id"]]
    assert api.get(f"events/{template['id']}").status_code == 404
    assert api.get(f"templates/{event['id']}").status_code == 404


def test_an_archived_template_makes_no_events(agency: Agency, bob: Any, api_as: Any) -> None:
    api = api_as(bob)
    template = api.post("templates", TEMPLATE).json()
    path = f"templates/{template['id']}"
    assert api.post(f"{path}/archive").status_code == 428
    r = api.post(f"{path}/archive", **match(template["version"]))
    assert r.status_code == 200 and r.json()["archived_at"] is not None, r.content
    assert api.post(f"{path}/archive", **match(template["version"])).status_code == 412
    r = api.post(f"{path}/events", {"event_date": "2030-06-06"})
    assert r.status_code == 422 and error_fields(r) == {"template"}
    assert api.get("templates").json()["items"] == []
    assert [t["id"] for t in api.get("templates?include_archived=true").json()["items"]] == [template["id"]]


def test_a_used_template_is_archived_not_deleted(agency: Agency, bob: Any, api_as: Any) -> None:
    api = api_as(bob)
    used = api.post("templates", TEMPLATE).json()
    unused = api.post("templates", {**TEMPLATE, "title": "Unused"}).json()
    assert api.post(f"templates/{used['id']}/events", {"event_date": "2030-01-02"}).status_code == 201
    r = api.delete(f"templates/{used['id']}", **match(used["version"]))
    assert r.status_code == 422 and error_fields(r) == {"is_template"}
    assert api.delete(f"templates/{unused['id']}", **match(unused["version"])).status_code == 204
    assert set(Event.objects.filter(is_template=True).values_list("title", flat=True)) == {"Wedding"}


def test_template_input_is_strict(bob: Any, api_as: Any) -> None:
    api = api_as(bob)
    r = api.post("templates", {**TEMPLATE, "event_date": "2030-01-01", "hourly_rate": "abc"})
    assert r.status_code == 422 and error_fields(r) == {"event_date", "hourly_rate"}, r.content
    template = api.post("templates", TEMPLATE).json()
    r = api.post(f"templates/{template['id']}/events", {"event_date": "2030-02-30", "extra": 1})
    assert r.status_code == 422 and error_fields(r) == {"event_date", "extra"}
    r = api.post(f"templates/{template['id']}/events", {})
    assert r.status_code == 422 and error_fields(r) == {"event_date"}


def test_weekly_copies_land_on_the_same_weekday_with_the_work_areas(
    agency: Agency, bob: Any, api_as: Any
) -> None:
    api = api_as(bob)
    berlin = ZoneInfo("Europe/Berlin")
    skill = people.skill_create(actor=agency.actor, key="cocktails", name="Cocktails")
    source = agency.event(
        "Quiz night",
        event_date=date(2030, 3, 6),
        reply_deadline=datetime(2030, 3, 4, 18, tzinfo=berlin),
    )
    agency.area(source, "Bar", capacity=2, role_requirements={"bartender": 2}, required_skills=[skill])
    agency.area(source, "Floor", capacity=4)
    other = agency.event("Other")
    agency.area(other, "Elsewhere")
    r = api.post(f"events/{source.pk}/weekly-copies", {"count": 3})
    assert r.status_code == 201, r.content
    copies = r.json()
    assert [c["event_date"] for c in copies] == ["2030-03-13", "2030-03-20", "2030-03-27"]
    assert {c["status"] for c in copies} == {"draft"} and {c["title"] for c in copies} == {"Quiz night"}
    for n, copy in enumerate(copies, start=1):
        stored = Event.objects.get(pk=copy["id"])
        assert date.fromisoformat(copy["event_date"]).weekday() == date(2030, 3, 6).weekday()
        assert stored.reply_deadline == source.reply_deadline + timedelta(weeks=n)
        assert _areas(copy["id"]) == _areas(source.pk)
    assert _areas(copies[0]["id"])[0] == ("Bar", 2, {"bartender": 2}, "medium", ["cocktails"])
    source.refresh_from_db()
    assert (source.status, source.version) == ("recruiting", 2)


@pytest.mark.django_db(transaction=True)  # the owner adds a rule on a connection of its own
def test_weekly_copies_are_made_all_together_or_not_at_all(agency: Agency, bob: Any, api_as: Any) -> None:
    api = api_as(bob)
    late = agency.event("Late", event_date=date(2999, 12, 1))  # the last year events may have
    agency.area(late, "Bar")
    r = api.post(f"events/{late.pk}/weekly-copies", {"count": 5})
    assert r.status_code == 422 and error_fields(r) == {"count"}, r.content
    assert Event.objects.count() == 1 and WorkArea.objects.count() == 1
    # The events are written first, then their work areas: a refusal at the areas (a
    # rule added for this test, for new rows only) must take the new events with it.
    from crewcall.testing.owner import as_owner

    source = agency.event("Quiz", event_date=date(2030, 3, 6))
    agency.area(source, "Bar", position_order=7)
    as_owner("ALTER TABLE events_workarea ADD CONSTRAINT test_no_copy CHECK (position_order <> 7) NOT VALID")
    try:
        r = api.post(f"events/{source.pk}/weekly-copies", {"count": 3})
    finally:
        as_owner("ALTER TABLE events_workarea DROP CONSTRAINT test_no_copy")
    assert r.status_code == 409, r.content
    assert Event.objects.filter(title="Quiz").count() == 1
    assert WorkArea.objects.filter(event__title="Quiz").count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [({"count": 0}, "count"), ({"count": 53}, "count"), ({"count": "2"}, "count"), ({"weeks": 2}, "weeks")],
)
def test_weekly_copies_bound_the_count(
    agency: Agency, bob: Any, api_as: Any, body: dict[str, Any], field: str
) -> None:
    event = agency.event()
    r = api_as(bob).post(f"events/{event.pk}/weekly-copies", body)
    assert r.status_code == 422 and field in error_fields(r), r.content
    assert Event.objects.count() == 1


def test_templates_and_cancelled_events_are_not_copied_weekly(agency: Agency, bob: Any, api_as: Any) -> None:
    api = api_as(bob)
    template = api.post("templates", TEMPLATE).json()
    assert api.post(f"events/{template['id']}/weekly-copies", {"count": 2}).status_code == 404
    event = agency.event()
    r = api.post(f"events/{event.pk}/cancel", **match(event.version))
    assert r.status_code == 200
    r = api.post(f"events/{event.pk}/weekly-copies", {"count": 2})
    assert r.status_code == 422 and error_fields(r) == {"status"}, r.content
    assert Event.objects.count() == 2
