"""A separately run `crewcall worker` whose database goes away: it waits and takes jobs
again in the same process, or exits 1 when it gives up; a job whose end cannot be
recorded keeps it and records it once the database is back.

The database is cut by a TCP proxy in front of the test database (every open connection
closed, the port refused), so only the worker loses it; the test reads the real state
through its own direct connection. The control runs procrastinate's plain worker through
the same cut: it stops, and exits 0.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from procrastinate import PsycopgConnector, exceptions, jobs
from procrastinate.contrib.django.django_connector import DjangoConnector
from procrastinate.manager import JobManager

from crewcall.core.worker_lanes import ResilientJobManager
from crewcall.ops.tasks import canary_echo
from crewcall.testing.owner import empty_job_tables
from crewcall.testing.processes import Proxy, database_target, stop_process
from crewcall.testing.sse import web_env

pytestmark = [pytest.mark.slow, pytest.mark.concurrency, pytest.mark.django_db(transaction=True)]

BOUND_S = 90.0  # a bound on waiting, not a timing assertion
OUTAGE_S = float(os.environ.get("CREWCALL_TEST_OUTAGE_S", "20"))


def eventually(condition: Callable[[], bool], what: str, bound: float = BOUND_S) -> None:
    deadline = time.monotonic() + bound
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {bound:.0f} s: {what}")
        time.sleep(0.2)


def sql(query: str, params: list[int] | None = None) -> list[tuple[Any, ...]]:
    with connection.cursor() as cur:
        cur.execute(query, params or [])
        return list(cur.fetchall()) if cur.description else []


@pytest.fixture(autouse=True)
def empty_queue() -> Iterator[None]:
    empty_job_tables()
    yield
    empty_job_tables()


@pytest.fixture
def proxy() -> Iterator[Proxy]:
    cut = Proxy(database_target())
    cut.restore()
    try:
        yield cut
    finally:
        cut.cut()


def through(proxy: Proxy, **extra: str) -> dict[str, str]:
    """A worker's environment: the test database, reached through the proxy."""
    user = connection.settings_dict["USER"] or "postgres"
    env = {
        **web_env(),
        "DATABASE_URL": f"postgresql://{user}@127.0.0.1:{proxy.port}/{connection.settings_dict['NAME']}",
        "DJANGO_SETTINGS_MODULE": "crewcall.testing.settings",
        "CREWCALL_WORKER_STALLED_S": "3",  # a heartbeat every second
        "CREWCALL_LOG_LEVEL": "INFO",
        **extra,
    }
    if connection.settings_dict.get("PASSWORD"):
        env["PGPASSWORD"] = str(connection.settings_dict["PASSWORD"])
    return env


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "crewcall", *command], env=env, stdout=out, stderr=subprocess.STDOUT
        )


def defer_echo(nonce: str) -> int:
    return int(
        JobManager(DjangoConnector()).defer_job(canary_echo.configure().make_new_job(nonce=nonce)).id or 0
    )


def status(job_id: int) -> str:
    return str(sql("SELECT status::text FROM procrastinate_jobs WHERE id = %s", [job_id])[0][0])


def fresh_heartbeats() -> int:
    return int(
        sql("SELECT count(*) FROM procrastinate_workers WHERE last_heartbeat > now() - interval '3 s'")[0][0]
    )


def test_the_worker_waits_out_a_20_s_outage_and_takes_jobs_again_in_the_same_process(
    proxy: Proxy, tmp_path: Path
) -> None:
    log = tmp_path / "worker.log"
    worker = start(["worker"], through(proxy), log)
    try:
        eventually(lambda: fresh_heartbeats() == 2, "both lanes registered")
        before = defer_echo("before")
        eventually(lambda: status(before) == "succeeded", "a job before the outage")
        pid = worker.pid

        proxy.cut()
        cut_at = time.monotonic()
        during = defer_echo("during")  # committed directly: the worker cannot see it yet
        while time.monotonic() - cut_at < OUTAGE_S:
            assert worker.poll() is None, f"the worker exited during the outage:\n{log.read_text()}"
            time.sleep(0.5)
        assert status(during) == "todo"
        proxy.restore()

        eventually(lambda: status(during) == "succeeded", "the job deferred during the outage")
        after = defer_echo("after")
        eventually(lambda: status(after) == "succeeded", "a job after the outage")
        eventually(lambda: fresh_heartbeats() == 2, "both lanes beating again")
        assert worker.poll() is None and worker.pid == pid
    except BaseException:
        print(log.read_text())
        raise
    finally:
        code = stop_process(worker)
    text = log.read_text()
    assert code == 0, text
    assert "database unreachable" in text and "taking jobs again" in text, text
    # Backoff, not a crash loop: attempts are capped at one per BACKOFF_CAP_S at most.
    attempts = text.count("next attempt in")
    assert 0 < attempts < 2 * 40 * OUTAGE_S, attempts  # two lanes, at most a few per second
    # The dead lanes' rows were removed; the live ones are the only workers left... until stop.
    assert sql("SELECT count(*) FROM procrastinate_workers") == [(0,)]


def test_the_worker_exits_1_when_it_gives_up_on_the_database(proxy: Proxy, tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    worker = start(["worker"], through(proxy, CREWCALL_WORKER_GIVE_UP_S="3"), log)
    try:
        eventually(lambda: fresh_heartbeats() == 2, "both lanes registered")
        proxy.cut()
        eventually(lambda: worker.poll() is not None, "the worker gave up", bound=60)
    finally:
        code = stop_process(worker)
    assert code == 1, log.read_text()
    assert "giving up" in log.read_text()


def test_control_procrastinates_own_worker_gives_up_on_the_same_cut(proxy: Proxy, tmp_path: Path) -> None:
    """The same cut stops procrastinate's own worker for good: it does not wait for the
    database to come back. How depends on what notices the cut first: a side task (it logs
    "stopping worker" and exits 0, which a supervisor with Restart=on-failure never
    restarts), or the job fetch, whose connection pool gives up after its timeout (the
    command then exits 1; seen under load)."""
    log = tmp_path / "plain.log"
    plain = start(["procrastinate", "worker"], through(proxy), log)
    try:
        eventually(lambda: sql("SELECT count(*) FROM procrastinate_workers") == [(1,)], "registered")
        proxy.cut()
        eventually(
            lambda: "stopping worker" in log.read_text() or plain.poll() is not None,
            "procrastinate stopping its worker",
            bound=150,
        )
        proxy.restore()  # too late: it takes no job any more, it only finishes stopping
        eventually(lambda: plain.poll() is not None, "the plain worker exited", bound=150)
    except AssertionError:
        print(log.read_text())
        raise
    finally:
        code = stop_process(plain)
    print(f"procrastinate's worker exited with {code}")
    assert code in (0, 1), log.read_text()


def _fetch_then_finish_across_a_cut(proxy: Proxy, manager_class: type[JobManager]) -> tuple[str, str]:
    """Fetch a job through the proxy, cut, try to record its end, restore after 3 s.
    Returns (what the finish call did, the job's status afterwards)."""
    job_id = defer_echo("finish")
    worker_id = int(sql("INSERT INTO procrastinate_workers DEFAULT VALUES RETURNING id")[0][0])
    user = connection.settings_dict["USER"] or "postgres"
    conninfo = f"postgresql://{user}@127.0.0.1:{proxy.port}/{connection.settings_dict['NAME']}"
    password = connection.settings_dict.get("PASSWORD")

    async def scenario() -> str:
        connector = PsycopgConnector(
            conninfo=conninfo, kwargs={"password": password} if password else {}, min_size=1, timeout=2.0
        )
        await connector.open_async()
        try:
            if manager_class is ResilientJobManager:
                manager: JobManager = ResilientJobManager(connector, stopping=asyncio.Event(), give_up_s=0)
            else:
                manager = JobManager(connector)
            job = await manager.fetch_job(queues=None, worker_id=worker_id)
            assert job is not None and job.id == job_id
            proxy.cut()
            loop = asyncio.get_running_loop()
            loop.call_later(3.0, proxy.restore)
            try:
                await manager.finish_job(job=job, status=jobs.Status.SUCCEEDED, delete_job=False)
            except exceptions.ConnectorException:
                return "raised"
            return "recorded"
        finally:
            await connector.close_async()

    outcome = asyncio.run(scenario())
    return outcome, status(job_id)


def test_a_jobs_end_is_recorded_once_the_database_is_back(proxy: Proxy) -> None:
    assert _fetch_then_finish_across_a_cut(proxy, ResilientJobManager) == ("recorded", "succeeded")


def test_control_procrastinates_manager_loses_the_end_and_leaves_the_job_doing(proxy: Proxy) -> None:
    assert _fetch_then_finish_across_a_cut(proxy, JobManager) == ("raised", "doing")
