from __future__ import annotations

from typing import Any

import pytest

from crewcall.conftest import Agency
from crewcall.people import services
from crewcall.people.models import Role, Skill


def _walk(api: Any, path: str) -> list[dict[str, Any]]:
    """Every item of a list, page by page; each page must be at most the limit asked."""
    items: list[dict[str, Any]] = []
    url = path
    for _ in range(50):
        r = api.get(url)
        assert r.status_code == 200, r.content
        page = r.json()
        items += page["items"]
        if page["next"] is None:
            return items
        url = f"{path}&after={page['next']}"
    raise AssertionError("the list never ended")


def test_a_role_is_created_read_changed_and_deleted_with_its_version(bob: Any, api_as: Any) -> None:
    api = api_as(bob)
    r = api.post("roles", {"key": "runner", "name": "Runner"})
    assert r.status_code == 201, r.content
    role = r.json()
    assert role["key"] == "runner" and role["is_active"] is True and role["version"] == 1
    assert r["ETag"] == '"1"' and r["Location"] == f"/api/v1/roles/{role['id']}"

    r = api.get(f"roles/{role['id']}")
    assert r.status_code == 200 and r["ETag"] == '"1"' and r.json()["name"] == "Runner"

    r = api.patch(f"roles/{role['id']}", {"name": "Food runner"})
    assert r.status_code == 428, r.content
    r = api.patch(f"roles/{role['id']}", {"name": "Food runner"}, **{"If-Match": '"1"'})
    assert r.status_code == 200, r.content
    assert r.json()["name"] == "Food runner" and r["ETag"] == '"2"'

    r = api.patch(f"roles/{role['id']}", {"is_active": False}, **{"If-Match": '"1"'})
    assert r.status_code == 412, r.content
    assert r.json()["current"]["name"] == "Food runner" and r["ETag"] == '"2"'
    assert Role.objects.get(pk=role["id"]).is_active is True

    r = api.delete(f"roles/{role['id']}", **{"If-Match": '"1"'})
    assert r.status_code == 412
    r = api.delete(f"roles/{role['id']}", **{"If-Match": '"2"'})
    assert r.status_code == 204, r.content
    assert api.get(f"roles/{role['id']}").status_code == 404


def test_the_key_of_a_role_cannot_be_changed_or_taken_twice(agency: Agency, bob: Any, api_as: Any) -> None:
    api = api_as(bob)
    r = api.patch(f"roles/{agency.waiter.pk}", {"key": "server"}, **{"If-Match": '"1"'})
    assert r.status_code == 422, r.content
    assert {e["field"] for e in r.json()["errors"]} == {"key"}
    r = api.post("roles", {"key": "waiter", "name": "Another waiter"})
    assert r.status_code == 409, r.content
    assert r.json()["errors"] == [{"field": "key", "message": "There is already a role 'waiter'."}]
    assert Role.objects.filter(key="waiter").count() == 1


def test_bad_catalogue_input_names_every_field(bob: Any, api_as: Any) -> None:
    api = api_as(bob)
    r = api.post("roles", {"key": "Bar Keeper", "name": " ", "colour": "red"})
    assert r.status_code == 422, r.content
    assert {e["field"] for e in r.json()["errors"]} == {"key", "name", "colour"}
    r = api.post("skills", {"key": "x" * 41, "name": "n\u0000"})
    assert r.status_code == 422, r.content
    assert {e["field"] for e in r.json()["errors"]} == {"key", "name"}
    r = api.post("skills", {"key": "first_aid", "name": "F" * 81})
    assert r.status_code == 422 and {e["field"] for e in r.json()["errors"]} == {"name"}
    r = api.get("roles?sort=colour")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "sort"
    for raw in ("99999999999999999999", "0", "abc"):
        assert api.get(f"roles/{raw}").status_code in (404, 422), raw
    assert not Role.objects.exists() and not Skill.objects.exists()


def test_roles_are_listed_page_by_page_filtered_and_sorted(bob: Any, api_as: Any) -> None:
    keys = [f"role_{n:02d}" for n in range(7)]
    for n, key in enumerate(keys):
        role = services.role_create(actor=bob, key=key, name=f"Role {6 - n}")
        if n % 3 == 0:
            services.role_update(actor=bob, role_id=role.pk, expected_version=1, changes={"is_active": False})
    api = api_as(bob)

    by_name = _walk(api, "roles?limit=2")
    assert [r["name"] for r in by_name] == [f"Role {n}" for n in range(7)]
    assert [r["key"] for r in _walk(api, "roles?limit=3&sort=-key")] == sorted(keys, reverse=True)
    active = _walk(api, "roles?limit=2&is_active=true&sort=key")
    assert [r["key"] for r in active] == [k for n, k in enumerate(keys) if n % 3]
    archived = _walk(api, "roles?limit=1&is_active=false&sort=id")
    assert [r["key"] for r in archived] == ["role_00", "role_03", "role_06"]
    assert [r["key"] for r in _walk(api, "roles?limit=5&q=LE_0")] == list(reversed(keys))
    assert _walk(api, "roles?limit=5&q=ROLE%204")[0]["key"] == "role_02"


def test_a_role_in_use_cannot_be_deleted(agency: Agency, bob: Any, api_as: Any) -> None:
    api = api_as(bob)
    agency.employee("Erika", role=agency.waiter)
    r = api.delete(f"roles/{agency.waiter.pk}", **{"If-Match": '"1"'})
    assert r.status_code == 409, r.content
    assert r.json()["code"] == "rule_violation" and r.json()["errors"][0]["field"] == "key"

    # Required by a work area: the database refuses (trigger people_role_in_use_guard).
    agency.area(agency.event(status="draft"), role_requirements={"cook": 1})
    r = api.delete(f"roles/{agency.cook.pk}", **{"If-Match": '"1"'})
    assert r.status_code == 409, r.content
    assert r.json()["errors"][0]["field"] == "key" and "work area" in r.json()["errors"][0]["message"]
    assert Role.objects.filter(pk__in=[agency.waiter.pk, agency.cook.pk]).count() == 2


def test_a_role_someone_was_placed_in_cannot_be_deleted(agency: Agency, bob: Any, api_as: Any) -> None:
    from crewcall.staffing.placement import assignment_create

    event = agency.event()
    area = agency.area(event)
    invitation = agency.accepted(event, agency.employee("Emil", role=agency.bartender))
    assignment_create(actor=bob, work_area_id=area.pk, role_id=agency.cook.pk, invitation_id=invitation.pk)
    r = api_as(bob).delete(f"roles/{agency.cook.pk}", **{"If-Match": '"1"'})
    assert r.status_code == 409, r.content
    assert r.json()["errors"][0] == {
        "field": "key",
        "message": "People were placed in this role; archive it instead.",
    }


def test_skills_have_the_same_catalogue_rules(agency: Agency, bob: Any, carol: Any, api_as: Any) -> None:
    api = api_as(bob)
    r = api.post("skills", {"key": "cocktails", "name": "Cocktails"})
    assert r.status_code == 201, r.content
    skill_id = r.json()["id"]
    assert api_as(carol).post("skills", {"key": "wine", "name": "Wine"}).status_code == 403
    assert api_as(carol).get(f"skills/{skill_id}").status_code == 200

    r = api.patch(f"skills/{skill_id}", {"is_active": False}, **{"If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["is_active"] is False and r["ETag"] == '"2"'
    r = api.patch(f"skills/{skill_id}", {"name": None}, **{"If-Match": '"2"'})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "name"

    agency.employee("Erika", skills=[Skill.objects.get(pk=skill_id)])
    r = api.delete(f"skills/{skill_id}", **{"If-Match": '"2"'})
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "key", r.content
    assert [s["key"] for s in _walk(api, "skills?limit=1&is_active=false")] == ["cocktails"]
    assert _walk(api, "skills?limit=1&is_active=true") == []


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"monthly_hours_cap": 40, "monthly_earnings_cap": None}, {"monthly_hours_cap"}),
        (
            {"monthly_hours_cap": "abc", "monthly_earnings_cap": "-1"},
            {"monthly_hours_cap", "monthly_earnings_cap"},
        ),
        (
            {"monthly_hours_cap": "745", "monthly_earnings_cap": "1.234"},
            {"monthly_hours_cap", "monthly_earnings_cap"},
        ),
        (
            {"monthly_hours_cap": "NaN", "monthly_earnings_cap": "1e400"},
            {"monthly_hours_cap", "monthly_earnings_cap"},
        ),
        ({"monthly_hours_cap": None}, {"monthly_earnings_cap"}),
        ({"monthly_hours_cap": None, "monthly_earnings_cap": None, "cap": 1}, {"cap"}),
    ],
)
def test_bad_limits_name_their_fields(bob: Any, api_as: Any, body: Any, fields: set[str]) -> None:
    r = api_as(bob).call("PUT", "employment-type-limits/mini_job", body)
    assert r.status_code == 422, r.content
    assert {e["field"] for e in r.json()["errors"]} == fields


def test_employment_type_limits_are_created_then_changed_with_their_version(
    bob: Any, carol: Any, api_as: Any
) -> None:
    api = api_as(bob)
    assert api.get("employment-type-limits/mini_job").status_code == 404
    assert api.get("employment-type-limits/volunteer").status_code == 422
    body = {"monthly_hours_cap": None, "monthly_earnings_cap": "556.00"}
    assert api_as(carol).call("PUT", "employment-type-limits/mini_job", body).status_code == 403
    r = api.call("PUT", "employment-type-limits/mini_job", body, **{"If-Match": '"1"'})
    assert r.status_code == 412, r.content

    r = api.call("PUT", "employment-type-limits/mini_job", body)
    assert r.status_code == 201, r.content
    assert r.json()["monthly_earnings_cap"] == "556.00" and r.json()["monthly_hours_cap"] is None
    assert r["ETag"] == '"1"' and r["Location"] == "/api/v1/employment-type-limits/mini_job"

    changed = {"monthly_hours_cap": "43.5", "monthly_earnings_cap": "603"}
    assert api.call("PUT", "employment-type-limits/mini_job", changed).status_code == 428
    r = api.call("PUT", "employment-type-limits/mini_job", changed, **{"If-Match": '"1"'})
    assert r.status_code == 200, r.content
    assert r.json()["monthly_hours_cap"] == "43.50" and r["ETag"] == '"2"'
    r = api.call("PUT", "employment-type-limits/mini_job", body, **{"If-Match": '"1"'})
    assert r.status_code == 412 and r.json()["current"]["monthly_earnings_cap"] == "603.00"
    r = api.get("employment-type-limits/mini_job")
    assert r.status_code == 200 and r["ETag"] == '"2"'


def test_employment_type_limits_are_listed_page_by_page(bob: Any, api_as: Any) -> None:
    for kind in ("part_time", "mini_job", "freelance"):
        services.employment_type_limit_set(
            actor=bob, employment_type=kind, monthly_hours_cap=None, monthly_earnings_cap=None
        )
    api = api_as(bob)
    kinds = [row["employment_type"] for row in _walk(api, "employment-type-limits?limit=2")]
    assert kinds == ["freelance", "mini_job", "part_time"]
    kinds = [row["employment_type"] for row in _walk(api, "employment-type-limits?limit=1&sort=-id")]
    assert kinds == ["freelance", "mini_job", "part_time"]
    assert api.get("employment-type-limits?sort=monthly_hours_cap").status_code == 422
