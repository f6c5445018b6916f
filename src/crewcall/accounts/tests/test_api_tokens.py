"""`/tokens`: the secret is shown once; the list shows use and revocation, never a hash."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crewcall.accounts.models import ApiToken, User
from crewcall.accounts.services import token_create
from crewcall.testing.api import Api, token_for

pytestmark = pytest.mark.django_db


def test_a_token_is_made_used_and_revoked(alice: User, bob: User, api_as: Any) -> None:
    api = api_as(alice)
    r = api.post("tokens", {"user_id": bob.pk, "name": "payroll export"})
    assert r.status_code == 201, r.content
    made = r.json()
    secret = made["token"]
    assert secret.startswith("cc_") and secret.startswith(made["prefix"])
    assert (made["user_id"], made["username"], made["name"]) == (bob.pk, "bob", "payroll export")
    assert made["created_by_id"] == alice.pk and made["last_used_at"] is None
    assert r["Location"] == f"/api/v1/tokens/{made['id']}" and "no-store" in r["Cache-Control"]
    stored = ApiToken.objects.get(pk=made["id"])
    assert secret not in stored.secret_hash

    shown = api.get(f"tokens/{made['id']}")
    assert shown.status_code == 200 and "token" not in shown.json()
    assert secret.encode() not in shown.content and stored.secret_hash.encode() not in shown.content
    assert shown.json()["last_used_at"] is None

    assert Api(token=secret).get("employees").status_code == 200
    used = api.get(f"tokens/{made['id']}").json()
    assert used["last_used_at"] is not None and used["revoked_at"] is None

    r = api.post(f"tokens/{made['id']}/revoke")
    assert r.status_code == 200 and r.json()["revoked_at"] is not None
    assert Api(token=secret).get("employees").status_code == 401
    again = api.post(f"tokens/{made['id']}/revoke")
    assert again.status_code == 200 and again.json()["revoked_at"] == r.json()["revoked_at"]


def test_last_use_is_recorded_at_most_once_a_minute(alice: User, bob: User, api_as: Any) -> None:
    secret = api_as(alice).post("tokens", {"user_id": bob.pk, "name": "bi"}).json()["token"]
    token = ApiToken.objects.get(user=bob)
    bobs = Api(token=secret)
    bobs.get("employees")
    first = ApiToken.objects.get(pk=token.pk).last_used_at
    assert first is not None
    bobs.get("employees")
    assert ApiToken.objects.get(pk=token.pk).last_used_at == first
    with connection.cursor() as cursor:  # a use two minutes ago
        cursor.execute(
            "UPDATE accounts_apitoken SET last_used_at = now() - interval '2 minutes' WHERE id = %s",
            [token.pk],
        )
    stale = ApiToken.objects.get(pk=token.pk).last_used_at
    bobs.get("employees")
    newest = ApiToken.objects.get(pk=token.pk).last_used_at
    assert stale is not None and newest is not None and newest > stale


def test_the_list_shows_every_token_with_its_user_and_filters(
    alice: User, bob: User, carol: User, api_as: Any
) -> None:
    api = api_as(alice)  # alice's own token is the first
    for user, name in ((bob, "one"), (bob, "two"), (carol, "three")):
        assert api.post("tokens", {"user_id": user.pk, "name": name}).status_code == 201
    two = ApiToken.objects.get(name="two")
    assert api.post(f"tokens/{two.pk}/revoke").status_code == 200
    r = api.get("tokens")
    assert r.status_code == 200
    items = r.json()["items"]
    assert [t["name"] for t in items] == ["three", "two", "one", "test"]
    assert {t["username"] for t in items} == {"alice", "bob", "carol"}
    hashes = ApiToken.objects.values_list("secret_hash", flat=True)
    assert all(h.encode() not in r.content for h in hashes)
    assert all("token" not in t and "secret_hash" not in t for t in items)
    names = lambda query: [t["name"] for t in api.get(f"tokens?{query}").json()["items"]]  # noqa: E731
    assert names(f"user_id={bob.pk}&sort=name") == ["one", "two"]
    assert names("revoked=true") == ["two"]
    assert names("revoked=false&sort=id") == ["test", "one", "three"]
    page = api.get("tokens?limit=3").json()
    assert len(page["items"]) == 3 and page["next"]
    rest = api.get(f"tokens?limit=3&after={page['next']}").json()
    assert [t["name"] for t in rest["items"]] == ["test"] and rest["next"] is None


def test_refusals(alice: User, bob: User, carol: User, api_as: Any) -> None:
    api = api_as(alice)
    for body, field in (
        ({"user_id": 999999, "name": "x"}, "user_id"),
        ({"user_id": bob.pk, "name": "   "}, "name"),
        ({"user_id": bob.pk, "name": "x" * 81}, "name"),
        ({"user_id": str(bob.pk), "name": "x"}, "user_id"),
        ({"user_id": 2**63, "name": "x"}, "user_id"),
        ({"user_id": bob.pk, "name": "x", "secret": "mine"}, "secret"),
    ):
        r = api.post("tokens", body)
        assert r.status_code == 422, (body, r.content)
        assert field in {e["field"] for e in r.json()["errors"]}, (body, r.json())
    User.objects.filter(pk=bob.pk).update(is_active=False)
    r = api.post("tokens", {"user_id": bob.pk, "name": "x"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "user_id"
    assert ApiToken.objects.filter(user=bob).count() == 0
    assert api.get("tokens/999999").status_code == 404
    assert api.post("tokens/999999/revoke").status_code == 404
    carols = api_as(carol)
    assert carols.get("tokens").status_code == 403
    assert carols.post("tokens", {"user_id": carol.pk, "name": "mine"}).status_code == 403
    assert Api().get("tokens").status_code == 401


def test_the_list_costs_the_same_queries_for_few_or_many(alice: User, bob: User, api_as: Any) -> None:
    api = api_as(alice)
    api.get("tokens")  # the caller's own last use is noted once, on the first call
    counted = []
    for batch in (1, 8):
        for i in range(batch):
            token_create(actor=alice, user_id=bob.pk, name=f"t{batch}-{i}")
        with CaptureQueriesContext(connection) as queries:
            assert api.get("tokens?limit=200").status_code == 200
        counted.append(len(queries))
    assert counted[0] == counted[1], counted


def test_a_token_cannot_revoke_itself_but_another_credential_can(alice: User) -> None:
    own, other = token_for(alice, "scripts"), token_for(alice, "spare")
    own_id = ApiToken.objects.get(name="scripts").pk
    r = Api(token=own).post(f"tokens/{own_id}/revoke")
    assert r.status_code == 409, r.content
    assert r.json()["code"] == "rule_violation" and r.json()["errors"][0]["field"] == "token_id"
    assert Api(token=own).get("tokens").status_code == 200  # still works
    r = Api(token=other).post(f"tokens/{own_id}/revoke")
    assert r.status_code == 200 and r.json()["revoked_at"] is not None
    assert Api(token=own).get("tokens").status_code == 401
