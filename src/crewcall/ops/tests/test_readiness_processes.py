"""/readyz with real parts going away and coming back: a `crewcall worker` process that
stops and starts again, and the database behind a TCP proxy that is cut and restored
(the web side runs in a subprocess whose DATABASE_URL points at the proxy)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from crewcall.testing.processes import Proxy, database_target, worker_process
from crewcall.testing.sse import web_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.concurrency]

BOUND_S = 90.0  # a bound on waiting, not a timing assertion


def eventually(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + BOUND_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {BOUND_S:.0f} s: {what}")
        time.sleep(0.2)


def readyz() -> dict[str, Any]:
    answer = Client().get("/readyz")
    body: dict[str, Any] = answer.json()
    body["status_code"] = answer.status_code
    return body


@pytest.fixture
def no_workers() -> Iterator[None]:
    with connection.cursor() as cur:
        cur.execute("DELETE FROM procrastinate_workers")
    yield
    with connection.cursor() as cur:
        cur.execute("DELETE FROM procrastinate_workers")


def test_unready_when_the_worker_stops_and_ready_when_it_is_back(tmp_path: Path, no_workers: None) -> None:
    with worker_process(tmp_path / "worker1.log") as first:
        eventually(lambda: readyz()["status_code"] == 200, "ready with a worker running")
        first.terminate()
        first.wait(timeout=30)
        body = readyz()
        assert body["status_code"] == 503 and body["unready"] == ["worker"], body
    with worker_process(tmp_path / "worker2.log"):
        eventually(lambda: readyz()["status_code"] == 200, "ready again once a worker runs")


READYZ_ON_REQUEST = """
import json, sys
import django
django.setup()
from django.test import Client
for _ in sys.stdin:
    answer = Client().get("/readyz")
    print(json.dumps({"status_code": answer.status_code, **answer.json()}), flush=True)
"""


def test_unready_when_the_database_goes_away_and_ready_when_it_returns(no_workers: None) -> None:
    with connection.cursor() as cur:  # a fresh heartbeat: only the database decides here
        cur.execute("INSERT INTO procrastinate_workers (last_heartbeat) VALUES (now() + interval '1 hour')")
    proxy = Proxy(database_target())
    proxy.restore()
    user = connection.settings_dict["USER"] or "postgres"
    env = {
        **web_env(),
        "DATABASE_URL": f"postgresql://{user}@127.0.0.1:{proxy.port}/{connection.settings_dict['NAME']}",
        "DJANGO_SETTINGS_MODULE": "crewcall.testing.settings",
        "CREWCALL_READY_DB_TIMEOUT_S": "2",
    }
    password = connection.settings_dict.get("PASSWORD")
    if password:
        env["PGPASSWORD"] = str(password)
    web = subprocess.Popen(
        [sys.executable, "-c", READYZ_ON_REQUEST],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert web.stdin is not None and web.stdout is not None

    def ask() -> dict[str, Any]:
        web.stdin.write("\n")  # type: ignore[union-attr]
        web.stdin.flush()  # type: ignore[union-attr]
        return json.loads(web.stdout.readline())  # type: ignore[union-attr]

    try:
        first = ask()
        assert first["status_code"] == 200, first
        proxy.cut()
        gone = ask()
        assert gone["status_code"] == 503 and gone["unready"][0] == "database", gone
        proxy.restore()
        back = ask()
        assert back["status_code"] == 200, back
    finally:
        proxy.cut()
        web.stdin.close()
        web.wait(timeout=30)
        web.stdout.close()
