"""Signing in and out at /login/ and /logout/, the lockout page, and the layout's header
for each role."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from crewcall.accounts.models import User

pytestmark = pytest.mark.django_db


def signed_in(client: Client) -> str | None:
    user_id = client.session.get("_auth_user_id")
    return None if user_id is None else User.objects.get(pk=user_id).username


def test_the_sign_in_page_labels_its_fields(client: Client, db: object) -> None:
    body = client.get("/login/").content.decode()
    assert '<label for="id_username">Username</label>' in body
    assert '<label for="id_password">Password</label>' in body
    assert 'autocomplete="current-password"' in body
    assert '<html lang="en">' in body


def test_a_wrong_password_shows_a_message_and_signs_no_one_in(client: Client, bob: User) -> None:
    response = client.post("/login/", {"username": "bob", "password": "wrong"})
    assert response.status_code == 200 and signed_in(client) is None
    body = response.content.decode()
    assert 'role="alert"' in body and "The username or password is not right" in body
    assert 'value="bob"' in body  # the username stays filled in


def test_the_right_password_leads_to_the_page_asked_for(client: Client, bob: User) -> None:
    assert client.get("/")["Location"] == "/login/?next=/"
    response = client.post("/login/", {"username": "bob", "password": "x", "next": "/simulator/"})
    assert response.status_code == 302 and response["Location"] == "/simulator/"
    assert signed_in(client) == "bob"
    # Signed in, the sign-in page sends on to the dashboard.
    assert client.get("/login/")["Location"] == settings.LOGIN_REDIRECT_URL == "/"


def test_next_cannot_lead_off_site(client: Client, bob: User) -> None:
    response = client.post("/login/", {"username": "bob", "password": "x", "next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == "/"


def test_sign_out_is_post_only(client: Client, bob: User) -> None:
    client.force_login(bob)
    assert client.get("/logout/").status_code == 405
    assert signed_in(client) == "bob"
    response = client.post("/logout/")
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert signed_in(client) is None


def test_a_locked_account_gets_a_readable_page(client: Client, bob: User) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert client.post("/login/", {"username": "bob", "password": "wrong"}).status_code == 200
    response = client.post("/login/", {"username": "bob", "password": "wrong"})
    assert response.status_code == 429
    body = response.content.decode()
    assert "<h1>Sign-in locked</h1>" in body
    assert f"after {settings.AXES_FAILURE_LIMIT} failed sign-in attempts" in body
    minutes = round(settings.AXES_COOLOFF_TIME * 60)
    assert f"Try again in {minutes} minutes." in body
    assert int(response["Retry-After"]) == round(settings.AXES_COOLOFF_TIME * 3600)
    assert "Content-Security-Policy" in response
    # The right password is refused while locked, with the same page.
    response = client.post("/login/", {"username": "bob", "password": "x"})
    assert response.status_code == 429 and signed_in(client) is None


def test_the_admin_sign_in_still_works(client: Client, alice: User) -> None:
    assert client.get("/admin/login/").status_code == 200
    response = client.post("/admin/login/", {"username": "alice", "password": "x", "next": "/admin/"})
    assert response.status_code == 302 and signed_in(client) == "alice"
    assert client.get("/admin/").status_code == 200


def nav(client: Client) -> str:
    body = client.get("/").content.decode()
    return body[body.index("<nav") : body.index("</nav>")]


def test_the_header_shows_each_role_its_links(client: Client, alice: User, bob: User) -> None:
    carol = User.objects.create_user("carol", password="x", role="viewer")
    client.force_login(carol)
    links = nav(client)
    for label in ("Dashboard", "Employees", "Events", "Simulator"):  # viewers read the simulator
        assert f">{label}</a>" in links
    assert "Users" not in links and "Operations" not in links and "/admin/" not in links
    assert 'href="/" aria-current="page"' in links

    client.force_login(bob)  # a dispatcher, staff: the simulator, not the admin's pages
    links = nav(client)
    assert 'href="/simulator/"' in links and "/admin/" not in links and "/operations/" not in links

    client.force_login(alice)
    links = nav(client)
    assert 'href="/simulator/"' in links and 'href="/admin/">Admin</a>' in links
    assert 'href="/users/"' in links and 'href="/operations/"' in links


def test_the_sign_out_button_posts_to_logout(client: Client, bob: User) -> None:
    client.force_login(bob)
    body = client.get("/").content.decode()
    assert '<form method="post" action="/logout/">' in body
    assert 'class="skip-link" href="#main"' in body and '<main id="main"' in body
