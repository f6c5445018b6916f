"""/readyz: ready with a fresh worker heartbeat; unready naming the part at fault when the
worker is stale or absent, a migration is not applied, the database cannot be reached, or
this process's change hub stopped reading."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from crewcall.changes import hub as hub_module
from crewcall.ops import health
from crewcall.testing.owner import as_owner, empty_job_tables


@pytest.fixture
def no_workers(transactional_db: Any) -> Iterator[None]:
    """procrastinate's tables are not flushed between tests: start and end empty."""

    truncate = empty_job_tables
    truncate()
    yield
    truncate()


def heartbeat(seconds_ago: float) -> None:
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO procrastinate_workers (last_heartbeat) VALUES (now() - make_interval(secs => %s))",
            [seconds_ago],
        )


def readyz() -> tuple[int, dict[str, Any]]:
    answer = Client().get("/readyz")
    assert answer["Content-Type"] == "application/json"
    return answer.status_code, answer.json()


def test_ready_with_a_live_worker(no_workers: Any) -> None:
    heartbeat(1)
    status, body = readyz()
    assert status == 200, body
    assert body["status"] == "ready" and body["unready"] == []
    assert set(body["checks"]) == {"database", "migrations", "worker", "changes"}
    assert all(check["ok"] and check["detail"] for check in body["checks"].values())


@pytest.mark.parametrize("age", [None, 3600], ids=["absent", "stale"])
def test_unready_naming_the_worker(no_workers: Any, age: float | None) -> None:
    if age is not None:
        heartbeat(age)
    status, body = readyz()
    assert status == 503
    assert body["unready"] == ["worker"], body
    assert body["checks"]["database"]["ok"] and body["checks"]["migrations"]["ok"]


def test_freshness_is_a_setting(no_workers: Any, settings: Any) -> None:
    heartbeat(45)
    assert readyz()[1]["unready"] == ["worker"]
    settings.READY_WORKER_STALE_S = 60
    assert readyz()[0] == 200


def test_unready_naming_migrations_when_one_is_not_applied(no_workers: Any) -> None:
    heartbeat(0)
    [(applied,)] = as_owner(
        "DELETE FROM django_migrations WHERE app = 'core' AND name = '0001_row_version' RETURNING applied"
    )
    try:
        status, body = readyz()
    finally:
        as_owner(
            "INSERT INTO django_migrations (app, name, applied) VALUES ('core', '0001_row_version', %s)",
            [applied],
        )
    assert status == 503 and body["unready"] == ["migrations"], body
    assert "core.0001_row_version" in body["checks"]["migrations"]["detail"]
    assert readyz()[0] == 200


READYZ_IN_A_PROCESS = """
import json
import django
django.setup()
from django.test import Client
answer = Client().get("/readyz")
print(json.dumps({"status": answer.status_code, "body": answer.json()}))
"""


def test_unready_naming_the_database_when_it_is_gone(db: Any) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{port}/crewcall",
        "CREWCALL_MIGRATION_DATABASE_URL": "",
        "DJANGO_SETTINGS_MODULE": "crewcall.testing.settings",
    }
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", READYZ_IN_A_PROCESS],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["status"] == 503
    body = answer["body"]
    assert body["unready"][0] == "database" and not body["checks"]["database"]["ok"], body
    assert str(port) not in json.dumps(body)  # no host or port in the open answer
    assert time.monotonic() - started < 60  # it gave up; it did not hang


def test_the_change_hub_is_alive_once_started_and_unready_when_it_stops_reading(
    no_workers: Any, settings: Any
) -> None:
    assert health.check_changes().ok  # idle: no subscriber started it in this process
    heartbeat(0)

    async def scenario() -> list[health.Part]:
        seen = []
        hub = hub_module.get_hub(lambda: hub_module.ChangeHub(poll_s=0.05))
        try:
            deadline = time.monotonic() + 30
            while hub.last_read_at is None and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            seen.append(health.check_changes())
            seen.append(await asyncio.to_thread(lambda: health.readiness().parts[-1]))
            hub.last_read_at = time.monotonic() - 3600  # as if reads had failed for an hour
            seen.append(health.check_changes())  # (no await since: the reader cannot have run)
            for task in hub._tasks:  # the reader dies (the list stays: the hub was started)
                task.cancel()
            await asyncio.gather(*hub._tasks, return_exceptions=True)
            seen.append(health.check_changes())
        finally:
            await hub.stop()
            hub_module._hubs.pop("default", None)
        return seen

    live, through_readyz, stale, stopped = asyncio.run(scenario())
    assert live.ok and "read the feed" in live.detail, live
    assert through_readyz.name == "changes" and through_readyz.ok
    assert not stale.ok and "3600 s ago" in stale.detail, stale
    assert not stopped.ok and "stopped" in stopped.detail, stopped
