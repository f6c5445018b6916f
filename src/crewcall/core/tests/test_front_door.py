"""The front door: a caller is authenticated before anything is written for them.
Idempotency-Keys are claimed only for a live token of an active user (or a signed-in
user); a revoked token, or a deactivated user's, gets 401 instead of its stored answer;
calls without valid credentials are rate limited per address; a deactivated user's
session and an employee's own account open no dispatcher page; input no operation can
take is refused before any."""

from __future__ import annotations

import math
from typing import Any

import pytest
from django.conf import settings

from crewcall.accounts.models import ApiToken, User
from crewcall.accounts.services import token_revoke, user_update
from crewcall.core.models import IdempotencyKey
from crewcall.people.models import Employee
from crewcall.testing.api import Api, token_for
from crewcall.testing.clock import FrozenClock

pytestmark = pytest.mark.django_db

NEW = {
    "name": "Ida",
    "phone_number": "+4915112349999",
    "primary_role": "waiter",
    "employment_type": "part_time",
}


def test_a_wrong_token_claims_no_idempotency_key(agency: Any) -> None:
    for i in range(5):
        r = Api(token=f"ccw_guess{i}").post("employees", NEW, **{"Idempotency-Key": f"k-{i}"})
        assert r.status_code == 401, r.content
    anonymous = Api().post("employees", NEW, **{"Idempotency-Key": "k-anon"})
    assert anonymous.status_code == 401
    assert IdempotencyKey.objects.count() == 0
    assert not Employee.objects.filter(name="Ida").exists()


@pytest.mark.parametrize("how", ["revoked", "deactivated"])
def test_no_replay_for_a_revoked_token_or_a_deactivated_user(
    agency: Any, alice: User, bob: User, how: str
) -> None:
    secret = token_for(bob)
    first = Api(token=secret).post("employees", NEW, **{"Idempotency-Key": "k-1"})
    assert first.status_code == 201
    # The control: while the token lives, the retry is the stored answer.
    again = Api(token=secret).post("employees", NEW, **{"Idempotency-Key": "k-1"})
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"

    if how == "revoked":
        token_revoke(actor=alice, token_id=ApiToken.objects.get(user=bob).pk)
    else:
        bob.refresh_from_db()
        user_update(actor=alice, user_id=bob.pk, expected_version=bob.version, changes={"is_active": False})
    late = Api(token=secret).post("employees", NEW, **{"Idempotency-Key": "k-1"})
    assert late.status_code == 401, late.content
    assert not late.has_header("Idempotent-Replayed")
    assert late["Content-Type"] == "application/problem+json"
    assert Employee.objects.filter(name="Ida").count() == 1


def test_guessing_tokens_is_rate_limited_per_address(frozen_buckets: FrozenClock, bob: User) -> None:
    limit = settings.API_UNAUTHENTICATED_PER_MINUTE
    guesser = Api(token="ccw_wrong")
    codes = [guesser.get("employees").status_code for _ in range(limit + 5)]
    assert codes[:limit] == [401] * limit
    assert codes[limit:] == [429] * 5
    refused = guesser.get("employees")
    assert refused.json()["code"] == "rate_limited"
    assert refused["Retry-After"] == str(max(1, math.ceil(60 / limit)))

    # A valid token from the same address is not held back by the guesses...
    assert Api(token=token_for(bob)).get("employees").status_code == 200
    # ...and another address has its own allowance.
    elsewhere = Api(token="ccw_wrong")
    elsewhere.client.defaults["REMOTE_ADDR"] = "203.0.113.9"
    assert elsewhere.get("employees").status_code == 401
    frozen_buckets.now += 60 / limit  # one request's worth of refill
    assert guesser.get("employees").status_code == 401
    assert guesser.get("employees").status_code == 429


def test_a_deactivated_users_session_ends_on_every_door(alice: User, bob: User, client: Any) -> None:
    client.force_login(bob)
    assert client.get("/").status_code == 200
    bob.refresh_from_db()
    user_update(actor=alice, user_id=bob.pk, expected_version=bob.version, changes={"is_active": False})
    assert client.get("/")["Location"].startswith("/login/")
    assert client.get("/api/v1/employees").status_code == 401


def test_an_employee_account_gets_no_dispatcher_page(oscar: User, client: Any) -> None:
    client.force_login(oscar)
    for page in ("/", "/employees/", "/events/", "/messages/"):
        assert client.get(page).status_code == 403, page


def test_more_query_parameters_than_django_reads_is_a_422_naming_the_query(bob: User) -> None:
    limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    api = Api(token=token_for(bob))
    at_limit = "&".join(f"a{i}=1" for i in range(limit))
    assert api.get(f"employees?{at_limit}").status_code == 200  # unknown parameters are ignored
    over = api.get(f"employees?{at_limit}&one=more")
    assert over.status_code == 422, over.content
    assert over.json()["errors"] == [{"field": "query", "message": f"At most {limit} parameters."}]
