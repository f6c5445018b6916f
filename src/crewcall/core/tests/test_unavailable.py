"""Which database failures are "unavailable" or "busy" (503), with real errors from real
connections, and the answer handler500 gives for them without touching the database.
The whole stack against a database that goes away: test_unavailable_processes.py."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.db import ProgrammingError, connection, connections
from django.db.transaction import TransactionManagementError
from django.test import RequestFactory
from psycopg_pool import ConnectionPool, PoolTimeout

from crewcall.core.unavailable import unavailable_code
from crewcall.ops.health import direct_connection
from crewcall.ops.middleware import error_category
from crewcall.ui.errors import server_error


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed when the block ends: connections are refused


def _refused() -> psycopg.OperationalError:
    try:
        psycopg.connect(host="127.0.0.1", port=_closed_port(), user="postgres", connect_timeout=2)
    except psycopg.OperationalError as exc:
        return exc
    raise AssertionError("a closed port accepted a connection")


def test_a_refused_connection_and_an_empty_pool_are_unavailable() -> None:
    assert unavailable_code(_refused()) == "unavailable"
    pool = ConnectionPool(
        f"host=127.0.0.1 port={_closed_port()} user=postgres connect_timeout=2",
        min_size=0,
        max_size=1,
        timeout=0.3,
        reconnect_timeout=0.3,
        open=True,
    )
    try:
        with pytest.raises(PoolTimeout) as waited:
            pool.getconn()
    finally:
        pool.close()
    assert unavailable_code(waited.value) == "unavailable"


@pytest.fixture
def second_connection(db: Any) -> Iterator[Any]:
    other = connections.create_connection("default")
    yield other
    other.close()


@pytest.mark.django_db(transaction=True)
def test_a_connection_whose_server_went_away_is_unavailable_also_when_seen_later(
    second_connection: Any,
) -> None:
    with second_connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
    with connection.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(%s)", [pid])
    with pytest.raises(Exception) as lost, second_connection.cursor() as cur:
        cur.execute("SELECT 1")
    assert unavailable_code(lost.value) == "unavailable", repr(lost.value)
    # Raised while handling it (code that caught the first error and went on): the same.
    try:
        try:
            raise lost.value
        except Exception as first:
            raise TransactionManagementError("An error occurred in the current transaction.") from first
    except TransactionManagementError as later:
        assert unavailable_code(later) == "unavailable"


@pytest.mark.django_db(transaction=True)
def test_a_lock_or_statement_time_out_is_busy_and_a_bad_statement_is_neither() -> None:
    with direct_connection(5) as holder, direct_connection(5) as waiter:
        holder.execute("SELECT pg_advisory_lock(4242)")
        waiter.execute("SET lock_timeout = '50ms'")
        with pytest.raises(psycopg.errors.LockNotAvailable) as locked:
            waiter.execute("SELECT pg_advisory_lock(4242)")
        waiter.execute("SET statement_timeout = '20ms'")
        with pytest.raises(psycopg.errors.QueryCanceled) as slow:
            waiter.execute("SELECT pg_sleep(1)")
    assert unavailable_code(locked.value) == unavailable_code(slow.value) == "busy"
    with pytest.raises(ProgrammingError) as bad, connection.cursor() as cur:
        cur.execute("SELEC 1")
    assert unavailable_code(bad.value) is None
    assert unavailable_code(ValueError("not the database")) is None


def _answer(path: str, error: BaseException, **headers: str) -> Any:
    request = RequestFactory().get(path, headers=headers)
    request.COOKIES["sessionid"] = "a-session-the-database-would-be-asked-about"
    try:
        raise error
    except BaseException:
        return server_error(request)


# These two have no database access (no django_db mark): a query would raise.


def test_handler500_answers_a_page_in_the_sites_style_without_the_database() -> None:
    english = _answer("/events/", _refused())
    german = _answer("/events/", _refused(), accept_language="de")
    for page, heading in ((english, "Temporarily unavailable"), (german, "Vorübergehend nicht erreichbar")):
        html = page.content.decode()
        assert (
            page.status_code == 503
            and page["Retry-After"] == "5"
            and page["Content-Type"].startswith("text/html")
        )
        assert f"<h1>{heading}</h1>" in html and "crewcall/app.css" in html
        assert error_category(RequestFactory().get("/events/"), page) == "unavailable"


def test_handler500_answers_problems_under_api_and_webhooks_and_500_for_anything_else() -> None:
    api = _answer("/api/v1/employees", _refused())
    webhook = _answer("/webhooks/twilio/status", _refused())
    bug_api = _answer("/api/v1/employees", KeyError("a bug"))
    bug_page = _answer("/events/", KeyError("a bug"))
    for answer in (api, webhook):
        assert answer.status_code == 503 and answer["Content-Type"] == "application/problem+json"
        assert answer["Retry-After"] == "5" and b'"code": "unavailable"' in answer.content
    assert bug_api.status_code == 500 and b'"code": "server_error"' in bug_api.content
    assert bug_page.status_code == 500 and bug_page["Content-Type"].startswith("text/html")
