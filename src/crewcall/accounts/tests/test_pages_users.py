"""The users and tokens pages: admins only; create, change role / deactivate with the
version read (an admin cannot demote themselves: the service says so, beside the field),
tokens created with the secret shown once, and revoked."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from crewcall.accounts import services
from crewcall.accounts.models import ApiToken, User
from crewcall.accounts.tokens import secret_hash
from crewcall.testing.conflicts import conflict_post

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def admin(client: Client, alice: User) -> Client:
    client.force_login(alice)
    return client


def test_only_admins_may_enter(client: Client, bob: User, carol: User) -> None:
    assert client.get("/users/").status_code == 302
    for user in (bob, carol):
        client.force_login(user)
        assert client.get("/users/").status_code == 403
        assert client.get(f"/users/{user.pk}/").status_code == 403
        assert client.post("/users/new", {"username": "x", "role": "admin"}).status_code == 403
        assert client.post(f"/users/{user.pk}/edit", {"role": "admin", "is_active": "on",
                                                       "version": user.version}).status_code == 403  # fmt: skip
        assert client.post(f"/users/{user.pk}/tokens/new", {"name": "mine"}).status_code == 403
    assert User.objects.get(pk=bob.pk).role == "dispatcher"
    assert not User.objects.filter(username="x").exists() and not ApiToken.objects.exists()


def test_lists_users_with_their_live_tokens(admin: Client, bob: User, carol: User) -> None:
    services.token_create(actor=None, user_id=bob.pk, name="one")
    revoked = services.token_create(actor=None, user_id=bob.pk, name="two")
    services.token_revoke(actor=None, token_id=revoked.token.pk)
    response = admin.get("/users/")
    assert response.status_code == 200
    rows = {u.username: u.live_tokens for u in response.context["users"]}
    assert rows == {"alice": 0, "bob": 1, "carol": 0}
    assert 'name="username"' in response.content.decode()


def test_creates_a_user_and_shows_service_errors_beside_the_fields(admin: Client, bob: User) -> None:
    response = admin.post("/users/new", {"username": "dora", "role": "viewer", "email": "dora@example.org"})
    dora = User.objects.get(username="dora")
    assert response.status_code == 302 and response["Location"] == f"/users/{dora.pk}/"
    assert dora.role == "viewer" and dora.email == "dora@example.org" and not dora.has_usable_password()

    response = admin.post("/users/new", {"username": "BOB", "role": "viewer", "email": "not an address"})
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["username"] == ["This username is taken."]
    assert User.objects.count() == 3  # alice, bob, dora: nothing written
    assert "This username is taken." in response.content.decode()


def test_changes_role_and_deactivates_with_the_version(admin: Client, bob: User) -> None:
    response = admin.post(f"/users/{bob.pk}/edit", {"role": "viewer", "email": "", "version": bob.version})
    assert response.status_code == 302
    bob.refresh_from_db()
    assert bob.role == "viewer" and not bob.is_active


def test_an_admin_cannot_demote_themselves(admin: Client, alice: User) -> None:
    response = admin.post(f"/users/{alice.pk}/edit", {"role": "viewer", "is_active": "on", "email": "",
                                                       "version": alice.version})  # fmt: skip
    assert response.status_code == 200
    assert response.context["form"].errors["role"] == ["You cannot change your own role."]
    assert "You cannot change your own role." in response.content.decode()
    alice.refresh_from_db()
    assert alice.role == "admin"


def _stale_save(admin: Client, bob: User) -> Any:
    """The admin makes Bob a viewer with a new email; meanwhile someone set another email
    and deactivated him."""
    read = bob.version
    services.user_update(actor=None, user_id=bob.pk, expected_version=read,
                         changes={"email": "b@example.org", "is_active": False})  # fmt: skip
    response = admin.post(f"/users/{bob.pk}/edit", {"role": "viewer", "is_active": "on",
                                                     "email": "bob@example.org", "version": read})  # fmt: skip
    assert response.status_code == 200
    bob.refresh_from_db()
    return response


def test_a_stale_save_shows_both_versions_and_writes_nothing(admin: Client, bob: User) -> None:
    response = _stale_save(admin, bob)
    body = response.content.decode()
    assert 'id="conflict"' in body and "b@example.org" in body and "Viewer" in body
    rows = {row.name: row for row in response.context["conflict"].rows}
    assert (rows["role"].theirs, rows["role"].yours) == ("Dispatcher", "Viewer")
    assert (rows["is_active"].theirs, rows["is_active"].yours) == ("no", "yes")
    assert (bob.role, bob.email, bob.is_active) == ("dispatcher", "b@example.org", False)
    assert f'name="version" value="{bob.version}"' in body
    assert f'class="take-theirs" href="/users/{bob.pk}/"' in body  # take theirs: nothing to write


def test_keep_mine_overwrites_theirs_on_an_account(admin: Client, bob: User) -> None:
    response = _stale_save(admin, bob)
    assert admin.post(f"/users/{bob.pk}/edit", conflict_post(response, "mine")).status_code == 302
    bob.refresh_from_db()
    assert (bob.role, bob.email, bob.is_active) == ("viewer", "bob@example.org", True)


def test_an_account_merge_takes_each_field_from_the_side_chosen(admin: Client, bob: User) -> None:
    response = _stale_save(admin, bob)
    data = conflict_post(response, "merge", role="mine", is_active="theirs", email="theirs")
    assert admin.post(f"/users/{bob.pk}/edit", data).status_code == 302
    bob.refresh_from_db()
    assert (bob.role, bob.email, bob.is_active) == ("viewer", "b@example.org", False)


def test_an_account_merge_meeting_another_change_shows_the_conflict_again(admin: Client, bob: User) -> None:
    response = _stale_save(admin, bob)
    data = conflict_post(response, "merge", is_active="theirs")
    services.user_update(actor=None, user_id=bob.pk, expected_version=bob.version,
                         changes={"email": "third@example.org"})  # fmt: skip
    again = admin.post(f"/users/{bob.pk}/edit", data)
    assert again.status_code == 200
    rows = {row.name: row for row in again.context["conflict"].rows}
    assert (rows["email"].theirs, rows["email"].yours) == ("third@example.org", "bob@example.org")
    assert not rows["is_active"].differs
    bob.refresh_from_db()
    assert (bob.role, bob.email) == ("dispatcher", "third@example.org")


def test_a_token_secret_is_shown_once_and_revoked(admin: Client, bob: User) -> None:
    response = admin.post(f"/users/{bob.pk}/tokens/new", {"name": "payroll export"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    secret = response.context["new_secret"]
    token = ApiToken.objects.get(user=bob)
    assert token.secret_hash == secret_hash(secret) and token.name == "payroll export"
    body = response.content.decode()
    assert secret in body and "shown only this once" in body

    again = admin.get(f"/users/{bob.pk}/").content.decode()
    assert secret not in again and token.prefix in again

    response = admin.post(f"/users/{bob.pk}/tokens/{token.pk}/revoke")
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert admin.post(f"/users/{bob.pk + 1000}/tokens/{token.pk}/revoke").status_code == 404


def test_a_blank_token_name_is_a_field_error(admin: Client, bob: User) -> None:
    response = admin.post(f"/users/{bob.pk}/tokens/new", {"name": "   "})
    assert response.status_code == 200
    assert "name" in response.context["token_form"].errors
    assert not ApiToken.objects.exists()


def test_the_users_list_reads_in_a_fixed_number_of_queries(
    admin: Client, django_assert_num_queries: Any
) -> None:
    def count() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert admin.get("/users/").status_code == 200
        return len(queries)

    small = count()
    for i in range(30):
        user = services.user_create(actor=None, username=f"u{i}", role="viewer")
        services.token_create(actor=None, user_id=user.pk, name="t")
    assert count() == small


def test_an_admin_gives_an_account_a_password(client, alice, carol) -> None:
    client.force_login(alice)
    page = client.get(f"/users/{carol.pk}/").content.decode()
    assert 'action="/users/' + str(carol.pk) + '/password"' in page
    url = f"/users/{carol.pk}/password"
    weak = client.post(url, {"version": carol.version, "password": "123", "again": "123"})
    assert weak.status_code == 200 and "password" in weak.context["password_form"].errors
    differ = client.post(
        url, {"version": carol.version, "password": "Lange-Nacht-42", "again": "Lange-Nacht-43"}
    )
    assert "The two passwords differ." in differ.content.decode()
    done = client.post(url, {"version": carol.version, "password": "Lange-Nacht-42", "again": "Lange-Nacht-42"},
                       follow=True)  # fmt: skip
    assert "carol has a new password." in done.content.decode()
    carol.refresh_from_db()
    assert carol.check_password("Lange-Nacht-42")
    stale = client.post(url, {"version": carol.version - 1, "password": "Noch-Eins-77", "again": "Noch-Eins-77"},
                        follow=True)  # fmt: skip
    assert "changed meanwhile" in stale.content.decode()
    carol.refresh_from_db()
    assert carol.check_password("Lange-Nacht-42")


def test_only_an_admin_sets_passwords(client, bob, carol) -> None:
    client.force_login(bob)
    url = f"/users/{carol.pk}/password"
    assert client.post(url, {"version": carol.version, "password": "x", "again": "x"}).status_code == 403
