"""The job worker's lanes, and how they ride out a database that goes away.

A lane is one procrastinate worker (its own queues, job slots, heartbeat, LISTEN
connection and periodic deferrer); `crewcall worker` runs its lanes side by side in one
event loop (docs/operations.md "Worker layout"). By default:

- `replies`: the `inbound` queue only, so applying a reply never waits for a free slot
  behind a burst of sends;
- `general`: every queue (inbound too: spare capacity is never idle).

Database loss. procrastinate stops a worker when its listener, heartbeat or periodic
deferrer fails, or raises out of it when fetching a job fails. A lane runs its worker in
a loop: when it ends by itself and the cause was a lost connection, the lane waits with
capped exponential backoff and jitter until the database answers again, hands the dead
worker's unfinished jobs to the stalled-job recovery, and starts a fresh worker in the
same process. After WORKER_GIVE_UP_S without the database (0: never) it gives up
(`GaveUp`: the command exits 1); any other failure is raised as it is (exit 1 too).

A job whose end cannot be recorded because the database went away keeps its slot and
records its end once the database is back (`ResilientJobManager`): not lost, not run
again. Only if the process stops first does the job stay `doing`; the stalled-job
recovery (core/stalled_jobs.py) then retries or fails it.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import psycopg
from django.conf import settings
from django.db import close_old_connections
from procrastinate import App, exceptions, jobs, manager, worker
from procrastinate.app import WorkerOptions
from procrastinate.contrib.django.utils import connector_params

from crewcall.core.stalled_jobs import jobs_recover_stalled
from crewcall.core.unavailable import unavailable_code

logger = logging.getLogger(__name__)

# Backoff between attempts to reach the database: full jitter under a doubling cap.
BACKOFF_BASE_S = 0.25
BACKOFF_CAP_S = 5.0
# A probe's own connect time-out.
PROBE_TIMEOUT_S = 2


@dataclass(frozen=True)
class Lane:
    name: str
    queues: list[str] | None  # None: every queue
    concurrency: int

    def describe(self) -> str:
        return f"{self.name} ({', '.join(self.queues or ['every queue'])}; {self.concurrency} slot(s))"


def default_layout() -> list[Lane]:
    lanes = []
    if settings.WORKER_REPLIES_CONCURRENCY:
        lanes.append(Lane("replies", ["inbound"], settings.WORKER_REPLIES_CONCURRENCY))
    lanes.append(Lane("general", None, settings.WORKER_CONCURRENCY))
    return lanes


# The lane whose worker is running in this task: set by the lane's runner, inherited by the
# side tasks its worker starts (a task copies the context it is created in), so an error
# is noted for the lane whose worker made the call. The lanes share one job manager.
_running_lane: contextvars.ContextVar[str] = contextvars.ContextVar("crewcall_worker_lane", default="")


class GaveUp(Exception):
    """The database stayed unreachable longer than WORKER_GIVE_UP_S."""


def database_lost(exc: BaseException | None) -> bool:
    """Whether `exc` (or anything in its chain) says the database cannot be reached: what
    every entry point answers 503 `unavailable` for (core/unavailable.py), or a socket
    error procrastinate lets through unwrapped. Not a refused statement, a lock time-out
    or a bug."""
    if unavailable_code(exc) == "unavailable":
        return True
    for _ in range(20):
        if exc is None:
            return False
        if isinstance(exc, OSError):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def backoff_s(attempt: int) -> float:
    return random.uniform(0, min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**attempt))  # noqa: S311


async def sleep_unless(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep, or return early (True) when `stop` is set."""
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        return False
    return True


class Outage:
    """The give-up clock of one lane: started by the first failure, reset once the
    database answers again."""

    def __init__(self, give_up_s: float) -> None:
        self.give_up_s = give_up_s
        self.since: float | None = None

    def begin(self) -> float:
        if self.since is None:
            self.since = time.monotonic()
        return time.monotonic() - self.since

    def check(self, what: str) -> None:
        lasted = self.begin()
        if self.give_up_s and lasted > self.give_up_s:
            raise GaveUp(
                f"{what}: no database for {lasted:.0f} s (CREWCALL_WORKER_GIVE_UP_S={self.give_up_s:g})"
            )

    def end(self) -> float:
        lasted = 0.0 if self.since is None else time.monotonic() - self.since
        self.since = None
        return lasted


class ResilientJobManager(manager.JobManager):
    """procrastinate's job manager, with two additions for riding out database loss:

    - recording a job's end (finish or retry) waits for the database, with backoff, while
      the worker is not stopping and has not given up: the job keeps its slot meanwhile;
    - the last error of the calls the worker's side tasks make (listener, heartbeat,
      periodic deferrer) is kept per lane, so a lane can tell why its worker stopped (one
      lane's restart must not erase what stopped the other's: both lose the database at
      once)."""

    def __init__(self, connector: Any, *, stopping: asyncio.Event, give_up_s: float) -> None:
        super().__init__(connector)
        self.stopping = stopping
        self.give_up_s = give_up_s
        self.last_errors: dict[str, BaseException] = {}

    async def _noted(self, call: Awaitable[Any]) -> Any:
        try:
            return await call
        except Exception as exc:
            self.last_errors[_running_lane.get()] = exc
            raise

    async def listen_for_jobs(self, **kwargs: Any) -> None:
        await self._noted(super().listen_for_jobs(**kwargs))

    async def update_heartbeat(self, worker_id: int) -> None:
        await self._noted(super().update_heartbeat(worker_id))

    async def defer_periodic_job(self, *args: Any, **kwargs: Any) -> int | None:
        result: int | None = await self._noted(super().defer_periodic_job(*args, **kwargs))
        return result

    async def finish_job(self, job: jobs.Job, status: jobs.Status, delete_job: bool) -> None:
        parent = super().finish_job
        await self._record(
            job, f"its end ({status.value})", lambda: parent(job=job, status=status, delete_job=delete_job)
        )

    async def retry_job(self, job: jobs.Job, *args: Any, **kwargs: Any) -> None:
        parent = super().retry_job
        await self._record(job, "its retry", lambda: parent(job, *args, **kwargs))

    async def _record(self, job: jobs.Job, what: str, call: Callable[[], Awaitable[None]]) -> None:
        outage = Outage(self.give_up_s)
        attempt = 0
        while True:
            try:
                await call()
            except exceptions.ConnectorException as exc:
                if not database_lost(exc):
                    if attempt and await self._ended_already(job):
                        return  # the answer was lost, the write was not
                    raise
                lasted = outage.begin()
                if self.stopping.is_set() or (self.give_up_s and lasted > self.give_up_s):
                    logger.error(
                        "job %s (%s): could not record %s, the database is unreachable; it stays "
                        "`doing` and the stalled-job recovery will retry or fail it",
                        job.id, job.task_name, what,
                    )  # fmt: skip
                    raise
                delay = backoff_s(attempt)
                logger.warning(
                    "job %s (%s): could not record %s (%s); trying again in %.1f s",
                    job.id, job.task_name, what, exc.__cause__ or exc, delay,
                )  # fmt: skip
                attempt += 1
                await sleep_unless(self.stopping, delay)
            else:
                if attempt:
                    logger.warning(
                        "job %s (%s): recorded %s after %d attempt(s)", job.id, job.task_name, what, attempt
                    )
                return

    async def _ended_already(self, job: jobs.Job) -> bool:
        if job.id is None:
            return False
        try:
            status = await self.get_job_status_async(job.id)
        except exceptions.ConnectorException:
            return False
        return status != jobs.Status.DOING


async def database_answers() -> bool:
    """A fresh connection (not the pool's, which waits its own time-out) answers."""
    params = {**connector_params(), "connect_timeout": PROBE_TIMEOUT_S}
    try:
        conn = await psycopg.AsyncConnection.connect(**params, autocommit=True)
    except (psycopg.Error, OSError):
        return False
    try:
        await conn.execute("SELECT 1")
        return True
    except (psycopg.Error, OSError):
        return False
    finally:
        await conn.close()


class LaneRunner:
    """Runs one lane's procrastinate worker until `stop` is set, restarting it after a
    database loss (see the module's docstring)."""

    def __init__(
        self, app: App, lane: Lane, *, stop: asyncio.Event, live_workers: Callable[[], set[int]]
    ) -> None:
        self.app = app
        self.lane = lane
        self.stop = stop
        self.live_workers = live_workers  # the worker ids of this process's running lanes
        self.outage = Outage(settings.WORKER_GIVE_UP_S)
        self.current: worker.Worker | None = None
        self.starts = 0

    def _worker(self) -> worker.Worker:
        stalled_s = settings.WORKER_STALLED_S
        options: WorkerOptions = {
            # The Django app's defaults: middlewares that drop a broken connection before
            # each sync job (a database restart) and give it back to the pool after.
            **self.app.worker_defaults,
            "queues": self.lane.queues or [],
            "name": self.lane.name,
            "concurrency": self.lane.concurrency,
            "install_signal_handlers": False,
            "update_heartbeat_interval": stalled_s / 3,
            "stalled_worker_timeout": stalled_s,
        }
        if self.lane.queues is None:
            del options["queues"]  # absent: every queue
        return worker.Worker(self.app, **options)

    async def run(self) -> None:
        job_manager = self.app.job_manager
        _running_lane.set(self.lane.name)  # this task's context: inherited by its worker's tasks
        while not self.stop.is_set():
            self.current = current = self._worker()
            self.starts += 1
            if isinstance(job_manager, ResilientJobManager):
                job_manager.last_errors.pop(self.lane.name, None)
            failure = await self._run_once(current)
            self.current = None
            if self.stop.is_set():
                return
            if failure is None and isinstance(job_manager, ResilientJobManager):
                failure = job_manager.last_errors.get(self.lane.name)  # a side task's failure stopped it
            if not database_lost(failure):
                raise RuntimeError(f"worker lane {self.lane.name} stopped: {failure!r}") from failure
            logger.warning("worker lane %s: lost the database (%s); reconnecting", self.lane.name, failure)
            if not await self._wait_for_database():
                return
            await self._recover(dead_worker=current.worker_id)
            logger.warning("worker lane %s: taking jobs again", self.lane.name)

    async def _run_once(self, current: worker.Worker) -> BaseException | None:
        run = asyncio.create_task(current.run(), name=f"lane {self.lane.name}")
        stopper = asyncio.create_task(self.stop.wait())
        try:
            await asyncio.wait({run, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if not run.done():
                current.stop()  # graceful: no new job, running ones finish
            try:
                await run
            except Exception as exc:
                return exc
            return None
        finally:
            stopper.cancel()

    async def _wait_for_database(self) -> bool:
        """Back off until the database answers (True), or stop is set (False). Raises
        GaveUp past WORKER_GIVE_UP_S."""
        attempt = 0
        while True:
            self.outage.check(f"worker lane {self.lane.name}")
            delay = backoff_s(attempt)
            attempt += 1
            logger.warning(
                "worker lane %s: database unreachable for %.0f s; next attempt in %.1f s",
                self.lane.name, self.outage.begin(), delay,
            )  # fmt: skip
            if await sleep_unless(self.stop, delay):
                return False
            if await database_answers():
                logger.warning(
                    "worker lane %s: the database answers again after %.1f s",
                    self.lane.name,
                    self.outage.end(),
                )
                return True

    async def _recover(self, *, dead_worker: int | None) -> None:
        """The stopped worker's jobs that are still `doing` have no one left: its row goes,
        so they count as stalled, and the recovery retries or fails them now."""
        if dead_worker is not None:
            try:
                await self.app.job_manager.unregister_worker(dead_worker)
            except exceptions.ConnectorException as exc:
                logger.warning(
                    "worker lane %s: could not remove dead worker %s: %s", self.lane.name, dead_worker, exc
                )
                return
        await recover_stalled(self.live_workers())


async def recover_stalled(live_workers: Iterable[int]) -> int:
    """One pass of the stalled-job recovery, in a thread (it is a sync service)."""

    def recover() -> int:
        close_old_connections()
        try:
            return len(
                jobs_recover_stalled(stalled_s=settings.WORKER_STALLED_S, live_workers=sorted(live_workers))
            )
        finally:
            close_old_connections()

    try:
        return await asyncio.to_thread(recover)
    except Exception as exc:
        if not database_lost(exc):
            raise
        logger.warning("stalled-job recovery: database unreachable (%s); trying again later", exc)
        return 0


async def recover_stalled_periodically(stop: asyncio.Event, live_workers: Callable[[], set[int]]) -> None:
    """At start, then every heartbeat interval: jobs of dead workers (any process's)."""
    while not stop.is_set():
        await recover_stalled(live_workers())
        await sleep_unless(stop, settings.WORKER_STALLED_S / 3)
