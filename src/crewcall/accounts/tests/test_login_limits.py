"""Sign-in protection on /admin/login/: django-axes locks a user name out after repeated
failures (from one address, or from anywhere), and rate limits per address and per user
name answer 429 to anyone trying too fast."""

from __future__ import annotations

import math
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from crewcall.accounts.models import User
from crewcall.testing.clock import FrozenClock

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/"


def sign_in(client: Client, username: str, password: str) -> Any:
    return client.post(LOGIN, {"username": username, "password": password, "next": "/admin/"})


def signed_in_as(client: Client) -> str | None:
    user_id = client.session.get("_auth_user_id")
    return None if user_id is None else User.objects.get(pk=user_id).username


def test_repeated_failures_lock_the_account_and_only_that_account(alice: User, bob: User) -> None:
    assert settings.AXES_FAILURE_LIMIT == 5
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        r = sign_in(client, "bob", "wrong")
        assert r.status_code == 200 and signed_in_as(client) is None  # the form again, with an error
    r = sign_in(client, "bob", "wrong")  # the last failure allowed locks the account at once
    assert r.status_code == 429 and b"locked" in r.content.lower()
    r = sign_in(client, "bob", "x")  # the right password, too late
    assert r.status_code != 302 and signed_in_as(client) is None
    assert b"locked" in r.content.lower()

    r = sign_in(client, "alice", "x")  # same address, another account
    assert r.status_code == 302 and signed_in_as(client) == "alice"


def test_a_correct_password_before_the_limit_resets_the_count(bob: User) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "bob", "wrong")
    assert sign_in(client, "bob", "x").status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "bob", "wrong")
    assert sign_in(client, "bob", "x").status_code == 302 and signed_in_as(client) == "bob"


def test_too_many_attempts_from_one_address_get_429(frozen_buckets: FrozenClock) -> None:
    clock = frozen_buckets
    per_minute = settings.LOGIN_RATE_PER_MINUTE
    client = Client(REMOTE_ADDR="203.0.113.7")
    # Other usernames each time, so no account gets locked on the way.
    for i in range(per_minute):
        assert sign_in(client, f"guess{i}", "wrong").status_code == 200, i
    r = sign_in(client, "guess-more", "wrong")
    assert r.status_code == 429
    assert r["Retry-After"] == str(max(1, math.ceil(60 / per_minute)))
    assert client.get(LOGIN).status_code == 200  # showing the form is not an attempt

    other = Client(REMOTE_ADDR="203.0.113.8")
    assert sign_in(other, "guess-other", "wrong").status_code == 200

    clock.now += 60 / per_minute  # one attempt's worth of refill
    assert sign_in(client, "guess-later", "wrong").status_code == 200
    assert sign_in(client, "guess-later2", "wrong").status_code == 429


def test_one_user_name_from_many_addresses_is_locked_out_everywhere(bob: User) -> None:
    """Failures spread over addresses still count against the user name."""
    for i in range(settings.AXES_FAILURE_LIMIT):
        sign_in(Client(REMOTE_ADDR=f"198.51.100.{i + 1}"), "bob", "wrong")
    fresh = Client(REMOTE_ADDR="203.0.113.50")
    r = sign_in(fresh, "bob", "x")
    assert r.status_code == 429 and b"locked" in r.content.lower()
    assert signed_in_as(fresh) is None


def test_too_many_attempts_on_one_user_name_get_429_from_any_address(
    frozen_buckets: FrozenClock, bob: User
) -> None:
    per_minute = settings.LOGIN_RATE_PER_MINUTE
    # Right passwords, so no lockout gets in the way: only the rate counts.
    codes = [
        sign_in(Client(REMOTE_ADDR=f"198.51.100.{i + 1}"), "bob", "x").status_code
        for i in range(per_minute + 1)
    ]
    assert codes == [302] * per_minute + [429]
    # The same new address for another user name is not held back.
    assert sign_in(Client(REMOTE_ADDR="198.51.100.200"), "somebody", "wrong").status_code == 200
