"""`/users`: admins manage accounts; nobody else sees them; no password hash ever leaves."""

from __future__ import annotations

from typing import Any

import pytest

from crewcall.accounts.models import User
from crewcall.testing.api import Api

pytestmark = pytest.mark.django_db


def test_only_admins_reach_users(alice: User, bob: User, carol: User, api_as: Any) -> None:
    assert Api().get("users").status_code == 401
    for user in (bob, carol):
        api = api_as(user)
        assert api.get("users").status_code == 403
        assert api.get(f"users/{alice.pk}").status_code == 403
        assert api.post("users", {"username": "mallory", "role": "admin"}).status_code == 403
        assert api.patch(f"users/{user.pk}", {"role": "admin"}, **{"If-Match": '"1"'}).status_code == 403
    assert not User.objects.filter(username="mallory").exists()
    assert User.objects.get(pk=bob.pk).role == "dispatcher"
    assert api_as(alice).get("users").status_code == 200


def test_lists_filter_and_page_without_password_hashes(
    alice: User, bob: User, carol: User, oscar: User, api_as: Any
) -> None:
    User.objects.create_user("dora", email="dora@example.org", role="viewer", is_active=False)
    api = api_as(alice)
    r = api.get("users")
    assert r.status_code == 200
    names = [u["username"] for u in r.json()["items"]]
    assert names == ["alice", "bob", "carol", "dora", "oscar"]
    assert b"pbkdf2" not in r.content and all("password" not in u for u in r.json()["items"])
    assert [u["username"] for u in api.get("users?role=viewer").json()["items"]] == ["carol", "dora"]
    assert [u["username"] for u in api.get("users?is_active=false").json()["items"]] == ["dora"]
    assert [u["username"] for u in api.get("users?q=EXAMPLE.org").json()["items"]] == ["dora"]
    seen, after = [], ""
    for _ in range(10):
        page = api.get(f"users?limit=2&sort=-username{after}").json()
        seen += [u["username"] for u in page["items"]]
        if page["next"] is None:
            break
        after = f"&after={page['next']}"
    assert seen == ["oscar", "dora", "carol", "bob", "alice"]
    assert api.get("users?role=owner").status_code == 422
    r = api.get("users?q=a%00b")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "q"
    assert api.get("users?sort=password").status_code == 422


def test_create_then_edit_with_versions(alice: User, api_as: Any) -> None:
    api = api_as(alice)
    r = api.post("users", {"username": "erin", "role": "dispatcher", "email": "erin@example.org",
                           "password": "a long and unusual passphrase"})  # fmt: skip
    assert r.status_code == 201, r.content
    body = r.json()
    assert r["ETag"] == '"1"' and r["Location"] == f"/api/v1/users/{body['id']}"
    assert (body["role"], body["can_sign_in"], body["is_active"]) == ("dispatcher", True, True)
    assert b"pbkdf2" not in r.content and "password" not in body
    erin = User.objects.get(pk=body["id"])
    assert erin.check_password("a long and unusual passphrase") and not erin.is_staff

    r = api.patch(f"users/{erin.pk}", {"role": "admin"})
    assert r.status_code == 428
    r = api.patch(f"users/{erin.pk}", {"role": "admin", "last_name": "Ng"}, **{"If-Match": '"1"'})
    assert r.status_code == 200, r.content
    assert r["ETag"] == '"2"' and r.json()["role"] == "admin" and r.json()["last_name"] == "Ng"
    assert User.objects.get(pk=erin.pk).is_staff  # admins may use the admin site
    r = api.patch(f"users/{erin.pk}", {"is_active": False}, **{"If-Match": '"1"'})
    assert r.status_code == 412 and r["ETag"] == '"2"'
    assert r.json()["current"]["role"] == "admin" and "password" not in r.json()["current"]
    assert User.objects.get(pk=erin.pk).is_active

    r = api.post("users", {"username": "bare", "role": "viewer"})
    assert r.status_code == 201 and r.json()["can_sign_in"] is False
    assert api.get(f"users/{r.json()['id']}")["ETag"] == '"1"'


def test_bad_input_is_refused_by_field(alice: User, api_as: Any) -> None:
    api = api_as(alice)
    cases = [
        ({"username": "alice", "role": "viewer"}, "username"),
        ({"username": "ALICE", "role": "viewer"}, "username"),
        ({"username": "with space", "role": "viewer"}, "username"),
        ({"username": "x" * 151, "role": "viewer"}, "username"),
        ({"username": "nul\u0000", "role": "viewer"}, "username"),
        ({"username": "fred", "role": "owner"}, "role"),
        ({"username": "fred", "role": "viewer", "email": "not-an-address"}, "email"),
        ({"username": "fred", "role": "viewer", "password": "short"}, "password"),
        ({"username": "fred", "role": "viewer", "is_superuser": True}, "is_superuser"),
        ({"username": 5, "role": "viewer"}, "username"),
    ]
    for body, field in cases:
        r = api.post("users", body)
        assert r.status_code == 422, (body, r.content)
        assert field in {e["field"] for e in r.json()["errors"]}, (body, r.json())
    assert not User.objects.filter(username="fred").exists()
    r = api.patch(f"users/{alice.pk}", {"password": "a long and unusual passphrase"}, **{"If-Match": '"1"'})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "password"
    r = api.patch(f"users/{alice.pk}", {"email": None}, **{"If-Match": '"1"'})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "email"


def test_an_admin_cannot_demote_or_deactivate_themselves(alice: User, api_as: Any) -> None:
    api = api_as(alice)
    tag = api.get(f"users/{alice.pk}")["ETag"]
    r = api.patch(f"users/{alice.pk}", {"role": "viewer"}, **{"If-Match": tag})
    assert r.status_code == 422 and r.json()["errors"] == [
        {"field": "role", "message": "You cannot change your own role."}
    ]
    r = api.patch(f"users/{alice.pk}", {"is_active": False}, **{"If-Match": tag})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "is_active"
    alice.refresh_from_db()
    assert (alice.role, alice.is_active) == ("admin", True)
    r = api.patch(f"users/{alice.pk}", {"email": "alice@example.org"}, **{"If-Match": tag})
    assert r.status_code == 200 and r.json()["email"] == "alice@example.org"


def test_another_admin_may_demote_and_a_deactivated_user_loses_api_access(
    alice: User, bob: User, api_as: Any
) -> None:
    bobs = api_as(bob)
    assert bobs.get("employees").status_code == 200
    api = api_as(alice)
    tag = api.get(f"users/{bob.pk}")["ETag"]
    r = api.patch(f"users/{bob.pk}", {"is_active": False}, **{"If-Match": tag})
    assert r.status_code == 200 and r.json()["is_active"] is False
    assert bobs.get("employees").status_code == 401


def test_missing_and_impossible_ids(alice: User, api_as: Any) -> None:
    api = api_as(alice)
    assert api.get("users/999999").status_code == 404
    r = api.patch("users/999999", {"role": "viewer"}, **{"If-Match": '"1"'})
    assert r.status_code == 404
    for raw in ("99999999999999999999", "0", "-1", "abc"):
        assert api.get(f"users/{raw}").status_code in (404, 422), raw
