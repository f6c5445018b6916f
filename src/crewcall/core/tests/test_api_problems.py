"""Bad input of every kind is a problem+json naming what is wrong, never a 500."""

from __future__ import annotations

from typing import Any

import pytest

from crewcall.conftest import Agency
from crewcall.people.models import Employee

GOOD = {
    "name": "Ida",
    "phone_number": "+4915112349999",
    "primary_role": "waiter",
    "employment_type": "part_time",
}


@pytest.mark.parametrize(
    "raw",
    [b"{", b"[]", b'"AAA"', b"null", b"", b"\xff\xfe", b'{"name": "Ida"' + b" " * 10],
    ids=["truncated", "array", "string", "null", "empty", "not-utf8", "unterminated"],
)
def test_a_body_that_is_not_the_object_is_422(agency: Agency, bob: Any, api_as: Any, raw: bytes) -> None:
    answer = api_as(bob).call("POST", "employees", raw=raw)
    assert answer.status_code in (400, 422), answer.content
    assert answer["Content-Type"] == "application/problem+json"
    body = answer.json()
    assert (
        body["status"] == answer.status_code and body["code"] and body["request_id"] == answer["X-Request-ID"]
    )
    assert not Employee.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": "x" * 121}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "Id\u0000a"}, "name"),
        ({"is_always_needed": "true"}, "is_always_needed"),
        ({"is_always_needed": 1}, "is_always_needed"),
        ({"employment_type": "slave"}, "employment_type"),
        ({"skills": "bar"}, "skills"),
        ({"skills": ["Not A Key"]}, "skills.0"),
        ({"preferred_language": None}, "preferred_language"),
        ({"phone_number": 4915112349999}, "phone_number"),
        ({"phone_number": "+49 0000"}, "phone_number"),
        ({"primary_role": "astronaut"}, "primary_role"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_each_bad_field_is_named(
    agency: Agency, bob: Any, api_as: Any, change: dict[str, Any], field: str
) -> None:
    answer = api_as(bob).post("employees", {**GOOD, **change})
    assert answer.status_code == 422, answer.content
    assert field in {e["field"] for e in answer.json()["errors"]}, answer.json()
    assert not Employee.objects.exists()


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=201",
        "limit=10000000000000000000000",
        "sort=phone_number",
        "after=garbage",
        "q=" + "x" * 101,
    ],
)
def test_bad_list_parameters_are_named(bob: Any, api_as: Any, query: str) -> None:
    answer = api_as(bob).get(f"employees?{query}")
    assert answer.status_code == 422, answer.content
    assert answer.json()["errors"][0]["field"] == query.split("=")[0]


def test_a_database_rule_comes_back_as_409_naming_the_field(agency: Agency, bob: Any, api_as: Any) -> None:
    api = api_as(bob)
    assert api.post("employees", GOOD).status_code == 201
    again = api.post("employees", {**GOOD, "name": "Other"})
    assert again.status_code == 409, again.content
    assert again.json()["code"] == "rule_violation"
    assert again.json()["errors"][0]["field"] == "phone_number"


def test_unknown_paths_and_methods_answer_as_problems(bob: Any, api_as: Any) -> None:
    api = api_as(bob)
    missing = api.get("no-such-thing")
    assert missing.status_code == 404 and missing["Content-Type"] == "application/problem+json"
    wrong = api.call("PUT", "employees")
    assert wrong.status_code == 405


def test_a_nul_byte_in_a_query_parameter_is_named(bob: Any, api_as: Any) -> None:
    answer = api_as(bob).get("employees?q=a%00b")
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "q"


def test_a_body_too_large_is_refused_unread(bob: Any, api_as: Any) -> None:
    answer = api_as(bob).call("POST", "employees", raw=b"x" * (6 * 1024 * 1024 + 1))
    assert answer.status_code == 413 and answer.json()["code"] == "body_too_large"
