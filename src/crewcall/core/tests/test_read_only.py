"""Reads and viewers' requests run in read-only transactions (core/read_only.py): a write
there fails in PostgreSQL and is not made; the control (the middleware removed) lets the
same write through. A connection is never left read-only or scoped after a request, even
one that raised."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.test import Client, override_settings
from psycopg import pq

from crewcall.accounts.models import ApiToken, User
from crewcall.core.tests import read_only_urls
from crewcall.people.models import Skill
from crewcall.testing.api import Api, token_for

MIDDLEWARE = "crewcall.core.read_only.ReadOnlyMiddleware"
WITHOUT_MIDDLEWARE = [name for name in settings.MIDDLEWARE if name != MIDDLEWARE]
READ_ONLY_SQL_TRANSACTION = "25006"

pytestmark = pytest.mark.urls("crewcall.core.tests.read_only_urls")


def refused_as_read_only(call: Any) -> None:
    with pytest.raises(DatabaseError) as refused:
        call()
    assert getattr(refused.value.__cause__, "sqlstate", None) == READ_ONLY_SQL_TRANSACTION


def connection_state() -> tuple[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('transaction_read_only'), current_setting('crewcall.employee', true)"
        )
        read_only, scope = cursor.fetchone()
    return read_only, scope or ""


@pytest.mark.django_db
def test_the_middleware_is_installed_inside_sessions_and_idempotency() -> None:
    order = settings.MIDDLEWARE
    for outside in (
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "crewcall.core.idempotency.IdempotencyMiddleware",
    ):
        assert order.index(outside) < order.index(MIDDLEWARE)


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "head", "options"])
def test_a_read_that_writes_fails_and_writes_nothing(method: str, client: Client) -> None:
    refused_as_read_only(lambda: getattr(client, method)("/test/write-a-skill"))
    assert not Skill.objects.filter(key__startswith="written_").exists()
    assert connection_state() == ("off", "")


@pytest.mark.django_db
def test_the_control_without_the_middleware_lets_the_same_write_through(client: Client) -> None:
    with override_settings(MIDDLEWARE=WITHOUT_MIDDLEWARE):
        assert client.get("/test/write-a-skill").status_code == 200
    assert Skill.objects.filter(key__startswith="written_").count() == 1


@pytest.mark.django_db
def test_a_read_that_calls_a_service_fails_at_once(client: Client) -> None:
    with pytest.raises(RuntimeError, match="durable"):
        client.get("/test/call-a-service")
    assert not Skill.objects.filter(key__startswith="by_service_").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("reader", ["carol", "oscar"], ids=["viewer", "employee-account"])
def test_a_viewers_post_never_writes_a_dispatchers_does(reader: str, request: Any, bob: User) -> None:
    viewer = Client()
    viewer.force_login(request.getfixturevalue(reader))
    refused_as_read_only(lambda: viewer.post("/test/write-a-skill"))
    assert not Skill.objects.exists()
    dispatcher = Client()
    dispatcher.force_login(bob)
    assert dispatcher.post("/test/write-a-skill").status_code == 200
    assert Skill.objects.count() == 1


@pytest.mark.django_db
def test_a_viewers_post_with_an_api_token_never_writes(carol: User) -> None:
    client = Client(headers={"Authorization": f"Bearer {token_for(carol)}"})
    refused_as_read_only(lambda: client.post("/test/write-a-skill"))
    assert not Skill.objects.exists()


@pytest.mark.django_db
def test_the_control_lets_a_viewers_post_write(carol: User) -> None:
    viewer = Client()
    viewer.force_login(carol)
    with override_settings(MIDDLEWARE=WITHOUT_MIDDLEWARE):
        assert viewer.post("/test/write-a-skill").status_code == 200
    assert Skill.objects.count() == 1


@pytest.mark.django_db
def test_a_viewer_still_signs_in_and_out(carol: User) -> None:
    client = Client()
    signed_in = client.post("/login/", {"username": "carol", "password": "x"})
    assert signed_in.status_code == 302
    assert client.get("/").status_code == 200
    assert client.post("/logout/").status_code == 302
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_an_api_read_still_notes_the_tokens_use(carol: User) -> None:
    api = Api(token=token_for(carol))
    assert api.get("employees").status_code == 200
    token = ApiToken.objects.get(user=carol)
    assert token.last_used_at is not None


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("write", [False, True], ids=["raised", "write-refused-then-raised"])
def test_no_pooled_connection_is_left_read_only_or_scoped_after_a_request_that_raised(
    write: bool, bob: User
) -> None:
    client = Client(raise_request_exception=False)
    response = client.get("/test/fail-in-scope", {"employee": "7", "write": "1" if write else ""})
    assert response.status_code == 500
    # What goes back to the pool: out of any transaction, read-write, in no scope, and
    # the next transaction on it begins read-write too.
    assert not connection.in_atomic_block
    assert connection.connection.info.transaction_status == pq.TransactionStatus.IDLE
    assert connection.connection.read_only is None
    assert connection_state() == ("off", "")
    with transaction.atomic():
        assert connection_state() == ("off", "")
    Skill.objects.create(key="after_the_failure", name="After")  # and it writes
    assert not Skill.objects.filter(key__startswith="in_scope_").exists()


@pytest.mark.django_db(transaction=True)
def test_a_connection_lost_mid_read_is_closed_never_lent_read_only() -> None:
    client = Client(raise_request_exception=False)
    read_only_urls.lost_connections.clear()
    assert client.get("/test/lose-the-connection").status_code in (500, 503)
    (lost,) = read_only_urls.lost_connections
    assert lost.closed or lost.read_only is None
    assert client.get("/test/fail-in-scope").status_code == 500  # the next request is served
    with transaction.atomic():
        assert connection_state() == ("off", "")
