"""/metrics: parses as Prometheus text, holds every family docs/operations.md lists, with
values that follow what happened (route labels are URL patterns), and is closed to strangers.

Counters add up every process that wrote to the metrics folder (earlier test runs too), so
each test compares a scrape after with a scrape before.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pybreaker
import pytest
from django.db import OperationalError, connection
from django.test import Client
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from crewcall.core.telemetry import metrics_dir
from crewcall.core.transactions import service
from crewcall.messaging.tasks import new_breaker, send_message
from crewcall.testing.owner import empty_job_tables

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

MIDDLEWARE = "crewcall.ops.middleware.MetricsMiddleware"
FAMILIES = {
    "crewcall_http_request_duration_seconds": "histogram",
    "crewcall_http_request_db_seconds": "histogram",
    "crewcall_http_request_db_queries": "counter",
    "crewcall_errors": "counter",
    "crewcall_retry_attempts": "counter",
    "crewcall_retries": "counter",
    "crewcall_breaker_state": "gauge",
    "crewcall_breaker_transitions": "counter",
    "crewcall_breaker_last_opened_timestamp_seconds": "gauge",
    "crewcall_breaker_last_closed_timestamp_seconds": "gauge",
    "crewcall_change_stream_subscribers": "gauge",
    "crewcall_change_stream_lag_seconds": "histogram",
    "crewcall_jobs": "gauge",
    "crewcall_jobs_oldest_todo_age_seconds": "gauge",
    "crewcall_workers": "gauge",
    "crewcall_worker_heartbeat_age_seconds": "gauge",
    "crewcall_messages": "gauge",
    "crewcall_inbound_messages": "gauge",
    "crewcall_database_scrape_ok": "gauge",
    "crewcall_breaker_recovery_seconds": "counter",
    "crewcall_breaker_recoveries": "counter",
    "crewcall_integrity_score": "gauge",
    "crewcall_canary_last_ok": "gauge",
    "crewcall_canary_last_run_timestamp_seconds": "gauge",
    "crewcall_message_delivery_success_ratio": "gauge",
}
GOOD_EMPLOYEE = {
    "name": "Ida",
    "phone_number": "+4915112349999",
    "primary_role": "waiter",
    "employment_type": "part_time",
}


@pytest.fixture
def measured(settings: Any) -> None:
    # The middleware is the first of the site's (it times everything after it).
    assert settings.MIDDLEWARE[0] == MIDDLEWARE


@pytest.fixture
def empty_queue(transactional_db: Any) -> Iterator[None]:
    truncate = empty_job_tables
    truncate()
    yield
    truncate()


def scrape(client: Client | None = None) -> tuple[Samples, dict[str, str]]:
    answer = (client or Client()).get("/metrics")
    assert answer.status_code == 200, answer.content
    assert answer["Content-Type"].startswith("text/plain")
    samples: Samples = {}
    types: dict[str, str] = {}
    for family in text_string_to_metric_families(answer.content.decode()):
        types[family.name] = family.type
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples, types


def own_scrape(tmp_path: Path) -> Samples:
    """What this process alone has counted: the suite's other processes (pytest -n) count
    into the same folder, and their requests to the same routes would blur a difference."""
    folder = tmp_path / f"own-{time.monotonic_ns()}"
    folder.mkdir()
    for path in metrics_dir().glob(f"*_{os.getpid()}.db"):
        shutil.copyfile(path, folder / path.name)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(folder))
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in registry.collect()
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def matching(samples: Samples, name: str, **labels: str) -> dict[frozenset[tuple[str, str]], float]:
    want = set(labels.items())
    return {key: v for (n, key), v in samples.items() if n == name and want <= set(key)}


def test_every_family_is_there_and_parses(measured: Any, bob: Any, api_as: Any) -> None:
    # Families with labels appear once something was counted under them.
    browser = Client()
    browser.force_login(bob)
    assert browser.get("/employees/").status_code == 200
    assert api_as(bob).post("employees", {**GOOD_EMPLOYEE, "name": ""}).status_code == 422
    calls: list[int] = []

    @service
    def flaky(*, actor: Any) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise _serialization_failure()

    flaky(actor=bob)
    samples, types = scrape()
    for name, kind in FAMILIES.items():
        assert types.get(name) == kind, (name, types.get(name))
    assert value(samples, "crewcall_database_scrape_ok") == 1.0
    assert value(samples, "crewcall_breaker_state", breaker="messaging-provider") == 0.0


def test_requests_are_measured_by_route_pattern_and_errors_by_category(
    measured: Any, agency: Any, bob: Any, api_as: Any, tmp_path: Path
) -> None:
    employee = agency.employee(name="Greta")
    before = own_scrape(tmp_path)
    browser = Client()
    browser.force_login(bob)
    assert browser.get(f"/employees/{employee.pk}/").status_code == 200
    assert browser.get("/employees/999999999/").status_code == 404
    api = api_as(bob)
    assert api.post("employees", {**GOOD_EMPLOYEE, "name": ""}).status_code == 422
    assert api.post("employees", GOOD_EMPLOYEE).status_code == 201
    assert api.post("employees", {**GOOD_EMPLOYEE, "name": "Other"}).status_code == 409
    stale = api.patch(f"employees/{employee.pk}", {"notes": "x"}, **{"If-Match": '"99"'})
    assert stale.status_code == 412
    after = own_scrape(tmp_path)
    scraped, _ = scrape()  # and /metrics, which adds up every process, has them too
    assert matching(
        scraped, "crewcall_http_request_duration_seconds_count", route="/employees/<int:employee_id>/"
    )

    page = "/employees/<int:employee_id>/"
    count = "crewcall_http_request_duration_seconds_count"
    assert (
        value(after, count, route=page, method="GET", status="2xx")
        - value(before, count, route=page, method="GET", status="2xx")
        == 1
    )
    assert (
        value(after, count, route=page, method="GET", status="4xx")
        - value(before, count, route=page, method="GET", status="4xx")
        == 1
    )
    # The routes this test's requests were counted under (earlier tests in this process
    # counted others).
    routes = {
        dict(key)["route"]
        for key, n in matching(after, count).items()
        if n != value(before, count, **dict(key))
    }
    assert not any(f"employees/{employee.pk}" in route for route in routes), routes  # never raw paths
    api_routes = {r for r in routes if r.startswith("/api/v1/employees")}
    assert "/api/v1/employees" in api_routes and len(api_routes) == 2, api_routes

    def errors(route: str, category: str) -> float:
        return value(after, "crewcall_errors_total", route=route, category=category) - value(
            before, "crewcall_errors_total", route=route, category=category
        )

    item = (api_routes - {"/api/v1/employees"}).pop()
    assert errors("/api/v1/employees", "validation_failed") == 1
    assert errors("/api/v1/employees", "rule_violation") == 1
    assert errors(item, "version_conflict") == 1
    assert errors(page, "page_4xx") == 1
    # Time in the database was measured for the page (it reads the employee).
    db_count = "crewcall_http_request_db_seconds_count"
    assert value(after, db_count, route=page, method="GET") > value(
        before, db_count, route=page, method="GET"
    )
    assert value(after, "crewcall_http_request_db_queries_total", route=page, method="GET") > value(
        before, "crewcall_http_request_db_queries_total", route=page, method="GET"
    )
    assert value(after, "crewcall_http_request_db_seconds_sum", route=page, method="GET") > value(
        before, "crewcall_http_request_db_seconds_sum", route=page, method="GET"
    )


class Transient(Exception):
    sqlstate = "40001"


def _serialization_failure() -> OperationalError:
    error = OperationalError("could not serialize access")
    error.__cause__ = Transient()
    return error


def test_service_retries_are_counted_with_their_outcome(db: Any) -> None:
    calls: list[int] = []

    @service
    def flaky(*, actor: Any, fail_times: int) -> str:
        calls.append(1)
        if len(calls) <= fail_times:
            raise _serialization_failure()
        return "ok"

    operation = f"{flaky.__module__.rsplit('.', 1)[0].rsplit('.', 1)[-1]}.flaky"
    before, _ = scrape()
    assert flaky(actor=None, fail_times=2) == "ok"
    calls.clear()
    with pytest.raises(OperationalError):
        flaky(actor=None, fail_times=99)
    calls.clear()
    assert flaky(actor=None, fail_times=0) == "ok"  # no retry: not counted
    after, _ = scrape()

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("crewcall_retries_total", operation=operation, outcome="recovered") == 1
    assert delta("crewcall_retries_total", operation=operation, outcome="exhausted") == 1
    assert delta("crewcall_retries_total", operation=operation, outcome="failed") == 0
    assert delta("crewcall_retry_attempts_total", operation=operation) == 2 + 4  # re-runs


def test_breaker_state_transitions_and_times(db: Any) -> None:
    breaker = new_breaker(fail_max=1, reset_timeout=60)

    def fail() -> None:
        raise RuntimeError("provider down")

    before, _ = scrape()
    with pytest.raises(RuntimeError):
        breaker.call(fail)
    assert breaker.current_state == pybreaker.STATE_OPEN
    opened, _ = scrape()
    breaker.close()
    closed, _ = scrape()

    name = "messaging-provider"
    assert value(opened, "crewcall_breaker_state", breaker=name) == 2
    assert value(closed, "crewcall_breaker_state", breaker=name) == 0
    transitions = "crewcall_breaker_transitions_total"
    assert (
        value(closed, transitions, breaker=name, to_state="open")
        - value(before, transitions, breaker=name, to_state="open")
        == 1
    )
    assert (
        value(closed, transitions, breaker=name, to_state="closed")
        - value(before, transitions, breaker=name, to_state="closed")
        == 1
    )
    last_opened = value(opened, "crewcall_breaker_last_opened_timestamp_seconds", breaker=name)
    last_closed = value(closed, "crewcall_breaker_last_closed_timestamp_seconds", breaker=name)
    assert last_opened > value(before, "crewcall_breaker_last_opened_timestamp_seconds", breaker=name)
    assert last_closed >= last_opened > 1_700_000_000


def test_job_backlog_and_messages_come_from_the_database(empty_queue: Any, agency: Any) -> None:
    from crewcall.messaging.models import OutboundMessage

    samples, _ = scrape()
    assert matching(samples, "crewcall_jobs") == {}
    assert value(samples, "crewcall_workers") == 0
    assert value(samples, "crewcall_worker_heartbeat_age_seconds") == -1
    queued = OutboundMessage.objects.filter(status="queued").count()

    send_message.defer(message_id=0)
    send_message.defer(message_id=1)
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE procrastinate_events SET at = now() - interval '90 seconds' WHERE type = 'deferred'"
        )
        cur.execute("INSERT INTO procrastinate_workers DEFAULT VALUES")
    samples, _ = scrape()
    assert value(samples, "crewcall_jobs", queue="messages", status="todo") == 2
    assert value(samples, "crewcall_jobs", queue="messages", status="succeeded") == 0
    assert 90 <= value(samples, "crewcall_jobs_oldest_todo_age_seconds", queue="messages") < 3600
    assert value(samples, "crewcall_workers") == 1
    assert 0 <= value(samples, "crewcall_worker_heartbeat_age_seconds") < 60
    assert value(samples, "crewcall_messages", status="queued") == queued
    assert set(dict(k)["status"] for k in matching(samples, "crewcall_messages")) >= {
        "queued",
        "sending",
        "sent",
        "delivered",
        "failed",
    }


def test_change_stream_subscribers_add_up(db: Any) -> None:
    from crewcall.changes.hub import ChangeHub

    hub = ChangeHub(poll_s=1.0)
    before, _ = scrape()
    hub.subscribers += 1
    hub.subscribers += 1
    during, _ = scrape()
    hub.subscribers -= 2
    after, _ = scrape()
    name = "crewcall_change_stream_subscribers"
    assert value(during, name) - value(before, name) == 2
    assert value(after, name) == value(before, name)


@pytest.mark.parametrize(
    ("meta", "status"),
    [
        ({"REMOTE_ADDR": "127.0.0.1"}, 200),
        ({"REMOTE_ADDR": "::1"}, 200),
        ({"REMOTE_ADDR": "10.1.2.3"}, 401),
        ({"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.9"}, 401),
        ({"REMOTE_ADDR": "10.1.2.3", "HTTP_AUTHORIZATION": "Bearer s3cret-metrics-token-0123456789"}, 200),
        ({"REMOTE_ADDR": "10.1.2.3", "HTTP_AUTHORIZATION": "Bearer wrong"}, 403),
    ],
    ids=["loopback", "loopback6", "remote", "proxied", "metrics-token", "wrong-token"],
)
def test_who_may_read_metrics(db: Any, settings: Any, meta: dict[str, str], status: int) -> None:
    settings.METRICS_TOKEN = "s3cret-metrics-token-0123456789"  # noqa: S105
    answer = Client().get("/metrics", **meta)  # type: ignore[arg-type]
    assert answer.status_code == status, answer.content
    if status == 200:
        assert b"crewcall_http_request_duration_seconds" in answer.content


def test_an_admin_may_read_metrics_a_dispatcher_may_not(alice: Any, bob: Any) -> None:
    from crewcall.testing.api import token_for

    remote = {"REMOTE_ADDR": "10.1.2.3"}
    as_admin = Client()
    as_admin.force_login(alice)
    assert as_admin.get("/metrics", **remote).status_code == 200  # type: ignore[arg-type]
    as_dispatcher = Client()
    as_dispatcher.force_login(bob)
    assert as_dispatcher.get("/metrics", **remote).status_code == 403  # type: ignore[arg-type]
    admin_token = {"HTTP_AUTHORIZATION": f"Bearer {token_for(alice)}", **remote}
    assert Client().get("/metrics", **admin_token).status_code == 200  # type: ignore[arg-type]
    dispatcher_token = {"HTTP_AUTHORIZATION": f"Bearer {token_for(bob)}", **remote}
    assert Client().get("/metrics", **dispatcher_token).status_code == 403  # type: ignore[arg-type]
