"""Jobs left `doing` by a worker that died: found by procrastinate's heartbeats, then
retried or failed, never left `doing`.

Every worker lane writes a heartbeat into `procrastinate_workers` every third of
WORKER_STALLED_S. A `doing` job whose worker row is gone, or whose worker's heartbeat is
older than WORKER_STALLED_S, belongs to nobody: nothing will ever finish it (SIGKILL, a
crash, power loss, a process stopped while the database was away).

Each task says what happens to it then, where it is defined (`@on_stall(RETRY)`):

- `retry`: running it again is harmless. The send job re-reads its message and the
  outbox asks the provider about an old claim before any resend; the apply job takes
  only pending replies, each in one transaction; the periodic jobs recompute from the data.
- `fail` (the default for a task that says nothing): ends `failed`, for a human to look at.

A job to retry whose queueing lock is held by a job already waiting is superseded (the
waiting job does the same work) and ends `aborted`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from django.db import IntegrityError, connection, transaction

from crewcall.core.transactions import service

logger = logging.getLogger(__name__)

OnStall = Literal["retry", "fail"]
RETRY: OnStall = "retry"
FAIL: OnStall = "fail"
# Jobs recovered per call; the next call takes the rest.
BATCH = 1000

_on_stall: dict[str, OnStall] = {}

TaskT = TypeVar("TaskT")


def on_stall(action: OnStall) -> Callable[[TaskT], TaskT]:
    """Declares what to do with a job of this task whose worker died (decorates the task)."""

    def mark(task: TaskT) -> TaskT:
        _on_stall[str(getattr(task, "name"))] = action  # noqa: B009 - any procrastinate Task
        return task

    return mark


def action_on_stall(task_name: str) -> OnStall:
    return _on_stall.get(task_name, FAIL)


def stalled_jobs_sql(stalled_s: str = "%(stalled_s)s") -> str:
    """`doing` jobs of dead workers: the worker row is gone, or its heartbeat is older than
    `stalled_s` (an SQL expression) seconds. Shared by the recovery below and the
    integrity check (ops/integrity/jobs.py)."""
    return f"""
SELECT j.id, j.task_name, j.queueing_lock, j.worker_id,
       extract(epoch FROM now() - w.last_heartbeat) AS heartbeat_age
FROM procrastinate_jobs j
LEFT JOIN procrastinate_workers w ON w.id = j.worker_id
WHERE j.status = 'doing'
  AND (w.id IS NULL OR w.last_heartbeat < now() - make_interval(secs => {stalled_s}))
"""  # noqa: S608 - constant SQL


@dataclass(frozen=True)
class RecoveredJob:
    job_id: int
    task_name: str
    worker_id: int | None
    outcome: Literal["retried", "failed", "superseded"]


@service
def jobs_recover_stalled(
    *,
    actor: Any = None,
    stalled_s: float,
    job_ids: Sequence[int] | None = None,
    live_workers: Sequence[int] = (),
) -> list[RecoveredJob]:
    """Retry or fail the `doing` jobs of dead workers (at most BATCH; `job_ids`: only
    those). `live_workers` are this process's own lanes: never theirs, whatever their
    heartbeat says. Rows are locked and skipped when locked, so processes recovering at
    the same time never handle one job twice."""
    query = (
        stalled_jobs_sql()
        + """
  AND (%(ids)s::bigint[] IS NULL OR j.id = ANY(%(ids)s::bigint[]))
  AND (j.worker_id IS NULL OR j.worker_id <> ALL(%(live)s::bigint[]))
ORDER BY j.id
LIMIT %(batch)s
FOR UPDATE OF j SKIP LOCKED"""
    )
    params = {
        "stalled_s": stalled_s,
        "ids": list(job_ids) if job_ids is not None else None,
        "live": list(live_workers),
        "batch": BATCH,
    }
    recovered = []
    with connection.cursor() as cur:
        cur.execute(query, params)
        rows = cur.fetchall()
        for job_id, task_name, queueing_lock, worker_id, heartbeat_age in rows:
            outcome = _recover(cur, job_id, task_name, queueing_lock)
            logger.warning(
                "job %s (%s) of dead worker %s (heartbeat %s): %s",
                job_id,
                task_name,
                worker_id if worker_id is not None else "gone",
                "gone" if heartbeat_age is None else f"{float(heartbeat_age):.0f} s old",
                outcome,
            )
            recovered.append(RecoveredJob(job_id, task_name, worker_id, outcome))
    return recovered


def _recover(
    cur: Any, job_id: int, task_name: str, queueing_lock: str | None
) -> Literal["retried", "failed", "superseded"]:
    if action_on_stall(task_name) == FAIL:
        cur.execute("SELECT procrastinate_finish_job_v1(%s, 'failed', false)", [job_id])
        return "failed"
    if queueing_lock is not None:
        # Only one job per queueing lock may wait: a waiting one does this job's work.
        cur.execute(
            "SELECT 1 FROM procrastinate_jobs WHERE queueing_lock = %s AND status = 'todo'", [queueing_lock]
        )
        if cur.fetchone() is not None:
            cur.execute("SELECT procrastinate_finish_job_v1(%s, 'aborted', false)", [job_id])
            return "superseded"
    try:
        with transaction.atomic():  # a savepoint: a job deferred meanwhile may take the lock
            cur.execute("SELECT procrastinate_retry_job_v2(%s, now(), NULL, NULL, NULL)", [job_id])
    except IntegrityError:
        cur.execute("SELECT procrastinate_finish_job_v1(%s, 'aborted', false)", [job_id])
        return "superseded"
    return "retried"
