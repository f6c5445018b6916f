"""The audit history of one object over the API: entries with label, time, the fields
changed since the entry before, the row, and who changed it through which door."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crewcall.accounts.services import token_create
from crewcall.conftest import Agency
from crewcall.people import services as people
from crewcall.staffing.services import invitation_create

pytestmark = pytest.mark.django_db


def all_entries(api: Any, path: str, limit: int) -> list[dict[str, Any]]:
    sep = "&" if "?" in path else "?"
    items: list[dict[str, Any]] = []
    url = f"{path}{sep}limit={limit}"
    while True:
        r = api.get(url)
        assert r.status_code == 200, r.content
        items += r.json()["items"]
        if r.json()["next"] is None:
            return items
        url = f"{path}{sep}limit={limit}&after={r.json()['next']}"


def test_a_change_through_the_api_shows_who_how_and_what(
    agency: Agency, bob: Any, carol: Any, api_as: Any
) -> None:
    api = api_as(bob)
    r = api.post("employees", {"name": "Erika", "phone_number": "+4915112340001", "primary_role": "waiter",
                               "employment_type": "mini_job"})  # fmt: skip
    employee_id = r.json()["id"]
    r = api.patch(f"employees/{employee_id}", {"notes": "speaks French"}, **{"If-Match": '"1"'},
                  **{"X-Request-ID": "req-history-0001"})  # fmt: skip
    assert r.status_code == 200, r.content

    r = api_as(carol).get(f"history/employee/{employee_id}")  # a viewer may read history
    assert r.status_code == 200, r.content
    inserted, updated = r.json()["items"]
    assert inserted["label"] == "insert" and inserted["changes"] is None
    assert inserted["row"]["name"] == "Erika" and inserted["row"]["version"] == 1
    assert inserted["context"]["action"] == "people.employee_create"
    assert updated["label"] == "update" and updated["id"] > inserted["id"]
    assert updated["changes"] == {"notes": {"before": "", "after": "speaks French"}}
    assert updated["row"]["notes"] == "speaks French" and updated["row"]["version"] == 2
    assert updated["context"] == {
        "user_id": bob.pk, "username": "bob", "source": "api", "request_id": "req-history-0001",
        "action": "people.employee_update", "note": None,
        "token_id": bob.api_tokens.get().pk,  # the change was made with bob's token
    }  # fmt: skip


def test_pages_keep_the_changes_right_across_their_edges(agency: Agency, bob: Any, api_as: Any) -> None:
    employee = agency.employee(name="Emil")
    for n in range(6):
        employee = people.employee_update(
            actor=bob, employee_id=employee.pk, expected_version=employee.version, changes={"notes": f"n{n}"}
        )
    api = api_as(bob)
    oldest_first = all_entries(api, f"history/employee/{employee.pk}", limit=2)
    assert [e["label"] for e in oldest_first] == ["insert"] + ["update"] * 6
    notes = [""] + [f"n{n}" for n in range(6)]
    for n, entry in enumerate(oldest_first[1:], start=1):
        assert entry["changes"] == {"notes": {"before": notes[n - 1], "after": notes[n]}}, entry
    newest_first = all_entries(api, f"history/employee/{employee.pk}?sort=-id", limit=3)
    assert [e["id"] for e in newest_first] == [e["id"] for e in reversed(oldest_first)]
    assert [e["changes"] for e in newest_first] == [e["changes"] for e in reversed(oldest_first)]


def test_a_note_on_a_manual_status_change_is_in_the_history(agency: Agency, bob: Any, api_as: Any) -> None:
    invitation = invitation_create(actor=bob, event_id=agency.event().pk, employee_id=agency.employee().pk)
    api = api_as(bob)
    r = api.post(f"invitations/{invitation.pk}/status", {"status": "declined", "note": "phoned in"},
                 **{"If-Match": '"1"'})  # fmt: skip
    assert r.status_code == 200, r.content
    last = api.get(f"history/invitation/{invitation.pk}?sort=-id&limit=1").json()["items"][0]
    assert last["changes"]["status"] == {"before": "asked", "after": "declined"}
    assert last["context"]["note"] == "phoned in" and last["context"]["source"] == "api"
    assert last["context"]["action"] == "staffing.invitation_set_status"


def test_kinds_roles_and_objects_that_never_were(agency: Agency, alice: Any, bob: Any, api_as: Any) -> None:
    employee = agency.employee()
    absence = people.absence_create(
        actor=bob, employee_id=employee.pk, kind="sick", starts_on=date(2030, 1, 1), ends_on=date(2030, 1, 2)
    )
    people.absence_delete(actor=bob, absence_id=absence.pk, expected_version=absence.version)
    token_create(actor=alice, user_id=bob.pk, name="script")
    api = api_as(bob)
    labels = [e["label"] for e in api.get(f"history/absence/{absence.pk}").json()["items"]]
    assert labels == ["insert", "delete"]  # a deleted object keeps its history
    assert api.get(f"history/role/{agency.bartender.pk}").status_code == 200

    r = api.get(f"history/gadget/{employee.pk}")
    assert r.status_code == 422 and {e["field"] for e in r.json()["errors"]} == {"kind"}
    assert api.get("history/employee/999999").status_code == 404
    assert api.get("history/employee/99999999999999999999").status_code in (404, 422)
    assert api.get(f"history/employee/{employee.pk}?sort=at").status_code == 422
    assert api.get(f"history/employee/{employee.pk}?after=xyz").status_code == 422

    assert api.get(f"history/user/{bob.pk}").status_code == 403  # users and tokens: admins only
    admin = api_as(alice)
    r = admin.get(f"history/user/{bob.pk}")
    assert r.status_code == 200 and "password" not in r.json()["items"][0]["row"]
    tokens = bob.api_tokens.order_by("id")
    assert api.get(f"history/api-token/{tokens[0].pk}").status_code == 403
    r = admin.get(f"history/api-token/{tokens[0].pk}")
    assert r.status_code == 200 and r.json()["items"][0]["row"]["name"] == "script"
    assert "secret_hash" not in r.json()["items"][0]["row"]


def test_a_page_costs_the_same_queries_for_a_short_and_a_long_history(
    agency: Agency, bob: Any, api_as: Any
) -> None:
    short, long = agency.employee(name="Short"), agency.employee(name="Long")
    for n in range(30):
        long = people.employee_update(
            actor=bob, employee_id=long.pk, expected_version=long.version, changes={"notes": f"n{n}"}
        )
    api = api_as(bob)
    api.get(f"history/employee/{short.pk}")  # the token's first use is recorded once

    def queries(path: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert api.get(path).status_code == 200
        return len(ctx.captured_queries)

    page = api.get(f"history/employee/{long.pk}?limit=10").json()
    assert queries(f"history/employee/{short.pk}") == queries(f"history/employee/{long.pk}")
    assert queries(f"history/employee/{short.pk}") == queries(
        f"history/employee/{long.pk}?after={page['next']}"
    )


def test_a_token_minted_for_another_user_names_the_admin_and_every_change_names_its_token(
    agency: Agency, alice: Any, bob: Any, api_as: Any
) -> None:
    from crewcall.accounts.models import ApiToken
    from crewcall.testing.api import Api, token_for

    alices_secret = token_for(alice, "alice's console")
    alices_token = ApiToken.objects.get(user=alice)
    admin = Api(token=alices_secret)
    made = admin.post("tokens", {"user_id": bob.pk, "name": "bob's script"})
    assert made.status_code == 201, made.content
    minted = admin.get(f"history/api-token/{made.json()['id']}").json()["items"][0]
    assert minted["row"]["user_id"] == bob.pk and minted["row"]["created_by_id"] == alice.pk
    assert minted["context"]["username"] == "alice"
    assert minted["context"]["token_id"] == alices_token.pk

    # A change made with bob's new token names that token; one made signed in, none.
    employee = agency.employee(name="Ida")
    r = Api(token=made.json()["token"]).patch(
        f"employees/{employee.pk}", {"notes": "by script"}, **{"If-Match": f'"{employee.version}"'}
    )
    assert r.status_code == 200, r.content
    entries = api_as(alice).get(f"history/employee/{employee.pk}").json()["items"]
    by_script = next(e for e in entries if e["row"].get("notes") == "by script")
    assert by_script["context"]["token_id"] == made.json()["id"]
    assert by_script["context"]["username"] == "bob"
    assert entries[0]["context"]["token_id"] is None  # made through the service, no token
