"""Stalled-job recovery (core/stalled_jobs.py) and its integrity check, on real
procrastinate tables: jobs `doing` under a dead worker are retried or failed; a live
worker's are never touched."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection

from crewcall.core.integrity import REGISTRY
from crewcall.core.stalled_jobs import FAIL, RETRY, action_on_stall, jobs_recover_stalled
from crewcall.ops.integrity.registry import all_checks, run_checks
from crewcall.ops.integrity.runner import integrity_run

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def empty_queue() -> Iterator[None]:
    with connection.cursor() as cur:
        cur.execute("DELETE FROM procrastinate_jobs")
        cur.execute("DELETE FROM procrastinate_workers")
    yield


def worker(heartbeat_age_s: float) -> int:
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO procrastinate_workers (last_heartbeat) VALUES (now() - make_interval(secs => %s)) "
            "RETURNING id",
            [heartbeat_age_s],
        )
        return int(cur.fetchone()[0])


def job(task: str, worker_id: int | None, *, status: str = "doing", queueing_lock: str | None = None) -> int:
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO procrastinate_jobs (queue_name, task_name, args, status, worker_id, queueing_lock) "
            "VALUES ('messages', %s, '{}', %s, %s, %s) RETURNING id",
            [task, status, worker_id, queueing_lock],
        )
        return int(cur.fetchone()[0])


def status_of(job_id: int) -> tuple[str, int]:
    with connection.cursor() as cur:
        cur.execute("SELECT status::text, attempts FROM procrastinate_jobs WHERE id = %s", [job_id])
        row = cur.fetchone()
        return str(row[0]), int(row[1])


def test_every_task_of_ours_says_what_happens_when_its_worker_dies() -> None:
    from procrastinate.contrib.django import app

    ours = [
        name for name in app.tasks if not name.startswith("builtin:") and not name.startswith("procrastinate")
    ]
    assert ours
    assert {name: action_on_stall(name) for name in ours} == {name: RETRY for name in ours}
    assert action_on_stall("some.unknown_task") == FAIL


def test_jobs_of_dead_workers_are_retried_or_failed_and_live_ones_left_alone() -> None:
    dead, alive = worker(120), worker(1)
    send = job("messaging.send_message", dead)
    orphan = job("messaging.send_message", None)  # its worker's row was pruned
    unknown = job("someone.unsafe_task", dead)
    superseded = job("messaging.apply_inbound", dead, queueing_lock="messaging.apply_inbound")
    waiting = job("messaging.apply_inbound", None, status="todo", queueing_lock="messaging.apply_inbound")
    running = job("messaging.send_message", alive)

    recovered = jobs_recover_stalled(stalled_s=30)

    assert {r.job_id: r.outcome for r in recovered} == {
        send: "retried",
        orphan: "retried",
        unknown: "failed",
        superseded: "superseded",
    }
    assert status_of(send) == ("todo", 1)
    assert status_of(orphan) == ("todo", 1)
    assert status_of(unknown)[0] == "failed"
    assert status_of(superseded)[0] == "aborted"
    assert status_of(waiting)[0] == "todo"
    assert status_of(running)[0] == "doing"
    assert jobs_recover_stalled(stalled_s=30) == []  # nothing twice


def test_a_process_never_recovers_its_own_live_lanes_jobs() -> None:
    own = worker(120)  # its heartbeat is old (the database was away), but it runs here
    mine = job("messaging.send_message", own)
    assert jobs_recover_stalled(stalled_s=30, live_workers=[own]) == []
    assert status_of(mine)[0] == "doing"


def test_the_integrity_check_finds_an_orphaned_doing_job_and_repair_retries_it() -> None:
    all_checks()
    check = REGISTRY["jobs.doing_without_worker"]
    dead, alive = worker(3600), worker(1)
    orphan = job("messaging.send_message", dead)
    job("messaging.send_message", alive)

    (result,) = run_checks([check])
    assert [(f.kind, f.object_id) for f in result.findings] == [("job", orphan)]
    assert "dead worker" in result.findings[0].problem

    outcome = integrity_run(repair=True, checks=[check], record=False)
    assert outcome.exit_code == 0, outcome.left
    assert [r["how"] for r in outcome.repaired] == ["job retried"]
    assert status_of(orphan) == ("todo", 1)
