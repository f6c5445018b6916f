"""Every API operation, for every kind of caller: exactly the intended answer.

The intended answers are written here, not read from the code: reads need a viewer,
writes a dispatcher, user and token management an admin, payroll, the canary's
operations and employees' personal links a dispatcher. A caller without the role gets
403, nobody signed in 401, an employee's own account 403 on all; a revoked token, or the
token or session of a deactivated user, 401 on all.
A caller with the role gets past the door (what it gets then — 200, 404, 422 — is the
business of the other tests); the requests here carry no valid body or If-Match, so
nothing is changed by them."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.utils.crypto import get_random_string

from crewcall.accounts.models import User
from crewcall.api import api
from crewcall.testing.api import token_for

ADMIN_ONLY = re.compile(r"^/api/v1/(users|tokens)(/|$)")
# Reads a viewer may not make: payroll, operations, and an employee's personal link
# (whoever holds it answers for the employee).
DISPATCHER_READS = re.compile(r"^/api/v1/(payroll|ops/|employees/[^/]+/link$)")
RANK = {"viewer": 1, "dispatcher": 2, "admin": 3}


def needed_role(method: str, path: str) -> str:
    if ADMIN_ONLY.match(path):
        return "admin"
    if method == "get" and not DISPATCHER_READS.match(path):
        return "viewer"
    return "dispatcher"


def operations() -> list[tuple[str, str]]:
    schema = api.get_openapi_schema()
    found = [(method, path) for path, ops in schema["paths"].items() for method in ops]
    assert len(found) > 40, "the API lost its operations"
    return sorted(found)


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda m: "employee" if m.group(0) == "{kind}" else "1", path)


class Caller:
    def __init__(
        self, name: str, *, user: User | None = None, token: str | None = None, dead: bool = False
    ) -> None:
        self.name = name
        self.dead = dead
        self.client = Client(enforce_csrf_checks=True)
        self.headers: dict[str, str] = {}
        self.role = "anonymous"
        if token is not None and user is not None:
            self.headers["Authorization"] = f"Bearer {token}"
            self.role = user.role
        elif user is not None:
            self.client.force_login(user)
            self.role = user.role
            # As a page would: the CSRF cookie, and its value sent back in the header.
            secret = get_random_string(32)
            self.client.cookies["csrftoken"] = secret
            self.headers["X-CSRFToken"] = secret

    def call(self, method: str, path: str) -> Any:
        kwargs: dict[str, Any] = {"headers": self.headers}
        if method in {"post", "patch", "put"}:
            kwargs.update(data="{}", content_type="application/json")
        return getattr(self.client, method)(path, **kwargs)


def expected(caller: Caller, needed: str) -> str:
    if caller.role == "anonymous" or caller.dead:
        return "401"
    if caller.role == "employee":
        return "403"
    return "in" if RANK[caller.role] >= RANK[needed] else "403"


@pytest.fixture
def callers(alice: User, bob: User, carol: User, oscar: User) -> list[Caller]:
    from crewcall.accounts.services import token_create, token_revoke

    scripts = User.objects.create_user("scripts", role="dispatcher")
    revoked = token_create(actor=None, user_id=scripts.pk, name="revoked")
    token_revoke(actor=None, token_id=revoked.token.pk)
    leaver = User.objects.create_user("leaver", role="admin")
    leaver_token = token_for(leaver)
    leaver_session = Caller("deactivated admin (session)", user=leaver, dead=True)
    User.objects.filter(pk=leaver.pk).update(is_active=False)
    return [
        Caller("admin (session)", user=alice),
        Caller("dispatcher (session)", user=bob),
        Caller("viewer (session)", user=carol),
        Caller("dispatcher (token)", user=scripts, token=token_for(scripts)),
        Caller("outsider (token)", user=oscar, token=token_for(oscar)),
        Caller("outsider (session)", user=oscar),
        Caller("anonymous"),
        Caller("dispatcher (revoked token)", user=scripts, token=revoked.secret, dead=True),
        Caller("deactivated admin (token)", user=leaver, token=leaver_token, dead=True),
        leaver_session,
    ]


def test_every_operation_answers_every_caller_as_intended(callers: list[Caller], monkeypatch: Any) -> None:
    from crewcall.api import bucket
    from crewcall.core.api.guard import unauthenticated

    # The matrix is about roles, not rates: neither limit may answer in their place.
    monkeypatch.setattr(bucket, "burst", 1e9)
    monkeypatch.setattr(unauthenticated, "burst", 1e9)
    wrong = []
    for method, path in operations():
        url = concrete(path)
        needed = needed_role(method, path)
        for caller in callers:
            status = caller.call(method, url).status_code
            want = expected(caller, needed)
            got = str(status) if status in (401, 403) else "in"
            if got != want:
                wrong.append(f"{method.upper()} {path} as {caller.name}: {status}, wanted {want}")
    assert wrong == []


def test_a_session_write_without_the_csrf_token_is_refused(bob: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(bob)
    answer = client.post("/api/v1/employees", data="{}", content_type="application/json")
    assert answer.status_code == 403 and answer["Content-Type"] == "application/problem+json"
    assert answer.json()["code"] == "csrf_failed"


def test_a_revoked_token_and_a_deactivated_user_are_let_in_no_more(bob: User) -> None:
    from crewcall.accounts.services import token_create, token_revoke

    made = token_create(actor=None, user_id=bob.pk, name="gone soon")
    headers = {"Authorization": f"Bearer {made.secret}"}
    assert Client().get("/api/v1/employees", headers=headers).status_code == 200
    token_revoke(actor=None, token_id=made.token.pk)
    assert Client().get("/api/v1/employees", headers=headers).status_code == 401
    other = token_create(actor=None, user_id=bob.pk, name="second")
    User.objects.filter(pk=bob.pk).update(is_active=False)
    assert (
        Client().get("/api/v1/employees", headers={"Authorization": f"Bearer {other.secret}"}).status_code
        == 401
    )


def test_the_rate_limit_answers_429_with_retry_after(bob: User, monkeypatch: Any) -> None:
    from crewcall.api import bucket

    monkeypatch.setattr(bucket, "burst", 3.0)
    monkeypatch.setattr(bucket, "rate", 0.001)  # no refill while the test runs
    headers = {"Authorization": f"Bearer {token_for(bob)}"}
    codes = [Client().get("/api/v1/employees", headers=headers).status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200] and codes[3] == 429
    limited = Client().get("/api/v1/employees", headers=headers)
    assert limited["Content-Type"] == "application/problem+json" and int(limited["Retry-After"]) >= 1
    assert limited.json()["code"] == "rate_limited"
