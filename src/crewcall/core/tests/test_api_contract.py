"""What the OpenAPI schema promises, checked against the server: links that resolve,
whole numbers taken as integers, and one code for "does not fit the schema"
(`validation_failed`) apart from "fits, but a rule says no" (`invalid_value`)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from crewcall.accounts.models import User
from crewcall.api import api
from crewcall.conftest import Agency

pytestmark = pytest.mark.django_db


def operations_by_id() -> dict[str, tuple[str, str, dict[str, Any]]]:
    schema = api.get_openapi_schema()
    return {
        operation["operationId"]: (method, path, operation)
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
    }


def test_every_link_names_an_operation_and_its_parameters() -> None:
    operations = operations_by_id()
    links = [
        (source, link)
        for source, (_method, _path, operation) in operations.items()
        for answer in operation["responses"].values()
        for link in answer.get("links", {}).values()
    ]
    assert len(links) > 40
    for source, link in links:
        _method, path, target = operations[link["operationId"]]
        for name, value in link["parameters"].items():
            where, _, bare = name.rpartition(".")
            declared = {p["name"] for p in target.get("parameters", []) if p["in"] == (where or "path")}
            assert bare in declared, (source, link)
            assert re.fullmatch(r"\$response\.(body#/(items/0/)?[a-z_]+|header\.ETag)", value), value
        # Every path parameter of the target is filled by the link.
        assert set(re.findall(r"\{([^}]+)\}", path)) <= set(link["parameters"]), (source, link)


def test_a_create_leads_to_its_read_and_the_read_to_the_rest(agency: Agency, bob: User, api_as: Any) -> None:
    operations = operations_by_id()
    create = operations["crewcall_people_api_employees_employee_create"][2]
    read_links = create["responses"][201]["links"]
    assert list(read_links) == ["crewcall_people_api_employees_employee_get"]
    read = operations["crewcall_people_api_employees_employee_get"][2]["responses"][200]["links"]
    assert read["employee_archive"]["parameters"] == {
        "employee_id": "$response.body#/id",
        "header.If-Match": "$response.header.ETag",
    }
    # Followed by hand: the values the link names work.
    api = api_as(bob)
    made = api.post(
        "employees",
        {
            "name": "Erika",
            "phone_number": "+4915112340001",
            "primary_role": "waiter",
            "employment_type": "mini_job",
        },
    )
    got = api.get(f"employees/{made.json()['id']}")
    archived = api.post(f"employees/{got.json()['id']}/archive", **{"If-Match": got["ETag"]})
    assert archived.status_code == 200, archived.content


def test_a_whole_number_is_an_integer_and_nothing_else_is(agency: Agency, bob: User, api_as: Any) -> None:
    api = api_as(bob)
    event = agency.event()
    made = api.post(
        f"events/{event.pk}/work-areas",
        {"name": "Bar", "max_capacity": 3.0, "role_requirements": {"waiter": 2.0}},
    )
    assert made.status_code == 201, made.content
    assert made.json()["max_capacity"] == 3 and made.json()["role_requirements"] == {"waiter": 2}
    for bad in (3.5, "3", True):
        r = api.post(f"events/{event.pk}/work-areas", {"name": "Bar", "max_capacity": bad})
        assert r.status_code == 422 and r.json()["code"] == "validation_failed", bad


def test_schema_misfits_and_rule_refusals_have_their_own_codes(
    agency: Agency, bob: User, api_as: Any
) -> None:
    api = api_as(bob)
    misfit = api.post("employees", {"name": " ", "phone_number": "+4915112340001",
                                    "primary_role": "waiter", "employment_type": "mini_job"})  # fmt: skip
    assert misfit.status_code == 422 and misfit.json()["code"] == "validation_failed"
    refused = api.post("employees", {"name": "Erika", "phone_number": "+4900000",
                                     "primary_role": "waiter", "employment_type": "mini_job"})  # fmt: skip
    assert refused.status_code == 422 and refused.json()["code"] == "invalid_value"
    assert {e["field"] for e in refused.json()["errors"]} == {"phone_number"}
    cursor = api.get("employees?after=bm90LWEtY3Vyc29y")
    assert cursor.status_code == 422 and cursor.json()["code"] == "unknown_cursor"
    assert api.get("employees?after=not%20a%20cursor").json()["code"] == "validation_failed"


def test_the_schema_states_what_text_and_headers_may_hold() -> None:
    schema = api.get_openapi_schema()
    employee_in = schema["components"]["schemas"]["EmployeeIn"]["properties"]
    assert re.search(employee_in["name"]["pattern"], "Erika")
    for blank in ("", "  ", "\x1d", "a\x00"):
        assert not re.search(employee_in["name"]["pattern"], blank), repr(blank)
    assert not re.search(employee_in["notes"]["pattern"], "x\x00y")
    patch = schema["paths"]["/api/v1/employees/{employee_id}"]["patch"]
    (if_match,) = [p for p in patch["parameters"] if p["name"] == "If-Match"]
    assert re.fullmatch(if_match["schema"]["pattern"], '"12"')
    for weak in ('W/"12"', "*", '"1", "2"', "12"):
        assert not re.search(if_match["schema"]["pattern"], weak), weak
    listing = schema["paths"]["/api/v1/employees"]["get"]["parameters"]
    (sort,) = [p for p in listing if p["name"] == "sort"]
    assert re.fullmatch(sort["schema"]["pattern"], "-name") and not re.search(
        sort["schema"]["pattern"], "phone"
    )
