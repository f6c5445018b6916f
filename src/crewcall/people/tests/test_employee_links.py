"""Personal links (people/links.py): a key version per employee, a last day, an epoch
that a restore renews; replaced from the employee's page or the API."""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg
import pytest
from django.apps import apps
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.urls import reverse

from crewcall.conftest import Agency
from crewcall.core.errors import ValidationFailed
from crewcall.people import links
from crewcall.people.services import employee_anonymise, employee_link_rotate, employee_links_renew_all
from crewcall.staffing.models import Invitation
from crewcall.staffing.services import invitation_create
from crewcall.testing.owner import as_owner
from crewcall.web.personal import employee_link_token


def page(token: str) -> Any:
    return Client().get(reverse("employee-page", args=[token]))


def calendar(token: str) -> Any:
    return Client().get(reverse("employee-calendar", args=[token]))


def answer(token: str, invitation_id: int) -> Any:
    return Client().post(reverse("employee-answer", args=[token, invitation_id]), {"answer": "yes"})


def test_replacing_a_link_ends_every_earlier_one_and_history_says_who(agency: Agency, bob: Any) -> None:
    emil = agency.employee("Emil")
    old, old_until_june = (
        employee_link_token(emil.pk),
        employee_link_token(emil.pk, last_day=links.today() + dt.timedelta(days=30)),
    )
    assert page(old).status_code == 200 and page(old_until_june).status_code == 200

    rotated = employee_link_rotate(actor=bob, employee_id=emil.pk, expected_version=emil.version)
    assert rotated.link_version == 2 and rotated.version == emil.version + 1
    for token in (old, old_until_june):
        gone = page(token)
        assert gone.status_code == 410
        assert "ask your agency" in gone.content.decode() or "Agentur" in gone.content.decode()
        assert gone["Cache-Control"] == "private, no-store"
        assert calendar(token).status_code == 410
    new = employee_link_token(emil.pk)
    assert new != old and page(new).status_code == 200 and calendar(new).status_code == 200
    row = (
        apps.get_model("people", "EmployeeHistory")
        .objects.filter(pgh_obj_id=emil.pk)
        .order_by("-pgh_id")
        .first()
    )
    assert row is not None and row.link_version == 2
    assert row.pgh_context is not None and row.pgh_context["user"] == bob.pk, row.pgh_context


def test_a_replaced_link_cannot_answer(agency: Agency, bob: Any) -> None:
    emil = agency.employee("Emil")
    event = agency.event("Gala")
    old = employee_link_token(emil.pk)
    invitation = invitation_create(actor=bob, event_id=event.pk, employee_id=emil.pk)
    employee_link_rotate(actor=bob, employee_id=emil.pk, expected_version=emil.version)
    assert answer(old, invitation.pk).status_code == 410
    assert Invitation.objects.get(pk=invitation.pk).status == "asked"
    assert answer(employee_link_token(emil.pk), invitation.pk).status_code == 303
    assert Invitation.objects.get(pk=invitation.pk).status == "accepted"


def test_a_link_opens_through_its_last_day_and_not_after(
    agency: Agency, monkeypatch: pytest.MonkeyPatch
) -> None:
    emil = agency.employee("Emil")
    today = links.today()
    token = employee_link_token(emil.pk, last_day=today)
    forever = employee_link_token(emil.pk)
    assert page(token).status_code == 200
    monkeypatch.setattr(links, "today", lambda: today + dt.timedelta(days=1))
    assert page(token).status_code == 410 and calendar(token).status_code == 410
    assert page(forever).status_code == 200
    with pytest.raises(ValidationFailed) as refused:
        links.employee_link(employee_id=emil.pk, last_day=today)
    assert set(refused.value.errors) == {"last_day"}


def test_a_changed_last_day_or_version_breaks_the_signature(agency: Agency) -> None:
    emil = agency.employee("Emil")
    token = employee_link_token(emil.pk, last_day=links.today())
    payload, signature = token.split(":", 1)
    employee_id, version, _day = payload.split(".")
    for altered in (
        f"{employee_id}.{version}.29991231",
        f"{employee_id}.{version}",
        f"{employee_id}.7.{_day}",
    ):
        assert page(f"{altered}:{signature}").status_code == 404, altered


def test_a_renewed_epoch_ends_every_link_as_a_restore_does(agency: Agency) -> None:
    emil, olga = agency.employee("Emil"), agency.employee("Olga")
    before = [employee_link_token(emil.pk), employee_link_token(olga.pk)]
    employee_links_renew_all(actor=None)
    for token in before:
        # From before the epoch: as good as forged, nothing tells it ever existed.
        assert page(token).status_code == 404
    assert page(employee_link_token(emil.pk)).status_code == 200


def test_the_runtime_role_only_reads_the_link_key_and_cannot_pick_an_epoch(db: Any) -> None:
    epoch = links.link_epoch()
    for statement in (
        "UPDATE people_linkkey SET epoch = repeat('a', 32)",
        "DELETE FROM people_linkkey",
        "INSERT INTO people_linkkey (id, epoch) VALUES (2, repeat('a', 32))",
        "TRUNCATE people_linkkey",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cur:
            cur.execute(statement)
    assert links.link_epoch() == epoch
    employee_links_renew_all(actor=None)
    assert links.link_epoch() != epoch


def test_not_even_the_owner_removes_the_row(db: Any) -> None:
    for statement in ("DELETE FROM people_linkkey", "TRUNCATE people_linkkey"):
        with pytest.raises(psycopg.errors.RaiseException, match="keeps its one row"):
            as_owner(statement)
    with pytest.raises(psycopg.errors.CheckViolation):
        as_owner("INSERT INTO people_linkkey (id, epoch) VALUES (2, repeat('a', 32))")
    assert as_owner("SELECT count(*) FROM people_linkkey") == [(1,)]


def test_an_anonymised_employee_has_no_link(agency: Agency, bob: Any) -> None:
    erased = agency.employee("Erased")
    employee_anonymise(actor=bob, employee_id=erased.pk, expected_version=erased.version)
    with pytest.raises(ValidationFailed):
        links.employee_link(employee_id=erased.pk)
    erased.refresh_from_db()
    with pytest.raises(ValidationFailed):
        employee_link_rotate(actor=bob, employee_id=erased.pk, expected_version=erased.version)


# ------------------------------------------------------------------------------ the API


def test_the_api_gives_and_replaces_a_link_for_dispatchers_only(
    agency: Agency, bob: Any, carol: Any, oscar: Any, api_as: Any
) -> None:
    emil = agency.employee("Emil")
    api = api_as(bob)
    r = api.get(f"employees/{emil.pk}/link")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["link_version"] == 1 and body["last_day"] is None and body["employee_id"] == emil.pk
    old = body["url"]
    assert old.startswith("http") and "/r/" in old and Client().get(old).status_code == 200

    until = (links.today() + dt.timedelta(days=3)).isoformat()
    r = api.get(f"employees/{emil.pk}/link?last_day={until}")
    assert r.status_code == 200 and r.json()["last_day"] == until
    yesterday = (links.today() - dt.timedelta(days=1)).isoformat()
    for bad in (yesterday, "2026-13-01", "20261201", "0001-01-01"):
        r = api.get(f"employees/{emil.pk}/link?last_day={bad}")
        assert r.status_code == 422 and {e["field"] for e in r.json()["errors"]} == {"last_day"}, bad
    assert api.get("employees/999999/link").status_code == 404

    for outsider in (carol, oscar):
        assert api_as(outsider).get(f"employees/{emil.pk}/link").status_code == 403
        assert (
            api_as(outsider).post(f"employees/{emil.pk}/link/rotate", **{"If-Match": '"1"'}).status_code
            == 403
        )

    assert api.post(f"employees/{emil.pk}/link/rotate").status_code == 428
    r = api.post(f"employees/{emil.pk}/link/rotate", **{"If-Match": '"7"'})
    assert r.status_code == 412 and r.json()["current"]["link_version"] == 1
    r = api.post(f"employees/{emil.pk}/link/rotate", **{"If-Match": '"1"'})
    assert r.status_code == 200, r.content
    assert r["ETag"] == '"2"' and r.json()["link_version"] == 2 and r.json()["url"] != old
    assert Client().get(old).status_code == 410
    assert Client().get(r.json()["url"]).status_code == 200
    assert api.get(f"employees/{emil.pk}").json()["link_version"] == 2


# ------------------------------------------------------------------------------ the page


def test_the_employee_page_shows_and_replaces_the_link_for_editors(
    agency: Agency, as_bob: Client, carol: Any
) -> None:
    emil = agency.employee("Emil")
    detail = reverse("people:detail", args=[emil.pk])
    html = as_bob.get(detail).content.decode()
    token = employee_link_token(emil.pk)
    assert token in html and "Replace link" in html

    until = links.today() + dt.timedelta(days=10)
    html = as_bob.get(f"{detail}?link_until={until.isoformat()}").content.decode()
    assert employee_link_token(emil.pk, last_day=until) in html
    past = as_bob.get(f"{detail}?link_until=2001-01-01")
    assert past.status_code == 200 and "cannot be in the past" in past.content.decode()
    assert "/r/" not in past.content.decode()  # no link (not a lasting one) in place of the one asked for

    viewer = Client()
    viewer.force_login(carol)
    html = viewer.get(detail).content.decode()
    assert "/r/" not in html and "Replace link" not in html
    assert viewer.post(reverse("people:link-rotate", args=[emil.pk]), {"version": 1}).status_code == 403

    stale = as_bob.post(reverse("people:link-rotate", args=[emil.pk]), {"version": 9}, follow=True)
    assert "Someone else changed this" in stale.content.decode()
    assert page(token).status_code == 200
    done = as_bob.post(reverse("people:link-rotate", args=[emil.pk]), {"version": 1})
    assert done.status_code == 302 and done["Location"].endswith("#personal-link")
    assert page(token).status_code == 410
    assert employee_link_token(emil.pk) in as_bob.get(detail).content.decode()
