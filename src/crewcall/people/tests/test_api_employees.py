from __future__ import annotations

from typing import Any

from crewcall.conftest import Agency


def test_an_employee_round_trips_with_its_version(agency: Agency, bob: Any, api_as: Any) -> None:
    api = api_as(bob)
    r = api.post(
        "employees",
        {
            "name": "Erika",
            "phone_number": "+4915112340001",
            "primary_role": "waiter",
            "employment_type": "mini_job",
        },
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert r["ETag"] == '"1"' and body["version"] == 1 and body["primary_role"] == "waiter"
    r = api.get(f"employees/{body['id']}")
    assert r.status_code == 200 and r["ETag"] == '"1"'
    r = api.patch(f"employees/{body['id']}", {"notes": "speaks French"})
    assert r.status_code == 428 and r["Content-Type"] == "application/problem+json"
    r = api.patch(f"employees/{body['id']}", {"notes": "speaks French"}, **{"If-Match": '"1"'})
    assert r.status_code == 200, r.content
    assert r.json()["notes"] == "speaks French" and r["ETag"] == '"2"'
    r = api.patch(f"employees/{body['id']}", {"notes": "x"}, **{"If-Match": '"1"'})
    assert r.status_code == 412
    assert r.json()["current"]["notes"] == "speaks French" and r["ETag"] == '"2"'
    r = api.get("employees?limit=1")
    assert r.status_code == 200 and len(r.json()["items"]) == 1


def test_bad_input_names_every_field(agency: Agency, bob: Any, api_as: Any) -> None:
    api = api_as(bob)
    r = api.post("employees", {"name": 5, "phone_number": "x\u0000", "primary_role": "waiter",
                               "employment_type": "mini_job", "surprise": True})  # fmt: skip
    assert r.status_code == 422, r.content
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {"name", "phone_number", "surprise"}, r.json()


def test_an_id_beyond_any_row_is_not_found_not_a_crash(bob: Any, api_as: Any) -> None:
    api = api_as(bob)
    for raw in ("99999999999999999999", "0", "-1", "abc"):
        r = api.get(f"employees/{raw}")
        assert r.status_code in (404, 422), (raw, r.status_code, r.content)


def test_the_employee_list_costs_the_same_queries_for_3_or_60(agency: Agency, bob: Any, api_as: Any) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from crewcall.people.services import skill_create

    api = api_as(bob)
    api.get("employees")  # the token's first use is recorded once; count what follows
    wine = skill_create(actor=bob, key="wine", name="Wine")

    def queries() -> int:
        with CaptureQueriesContext(connection) as seen:
            answer = api.get("employees?limit=200")
        assert answer.status_code == 200
        return len(seen)

    for i in range(3):
        agency.employee(name=f"Few {i}", skills=[wine])
    few = queries()
    for i in range(57):
        agency.employee(name=f"Many {i}", skills=[wine])
    assert queries() == few
    one = api.get(f"employees/{agency.employee(name='Single', skills=[wine]).pk}")
    assert one.json()["skills"] == ["wine"]
