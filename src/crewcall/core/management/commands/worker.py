"""`crewcall worker`: the procrastinate job worker in this process.

Without `--queue` it runs the default layout, two lanes side by side (a replies lane on
`inbound`, a general lane on every queue; docs/operations.md "Worker layout"); with
`--queue` one lane on those queues. A lane that loses the database waits and takes jobs
again in this process when it returns (core/worker_lanes.py); beside the lanes, the
stalled-job recovery retries or fails the jobs of dead workers (core/stalled_jobs.py).

Exit status: 0 after SIGTERM or SIGINT (no new job is taken, running jobs finish, the
connections close and the embedded server is left); 1 when the worker gives up on the
database (CREWCALL_WORKER_GIVE_UP_S) or fails in any other way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from procrastinate import App, PsycopgConnector
from procrastinate.contrib.django import procrastinate_app
from procrastinate.contrib.django.utils import connector_params
from psycopg_pool import AsyncConnectionPool

from crewcall.core.context import request_context
from crewcall.core.lifecycle import release_database
from crewcall.core.worker_lanes import (
    GaveUp,
    Lane,
    LaneRunner,
    ResilientJobManager,
    default_layout,
    recover_stalled_periodically,
)

logger = logging.getLogger(__name__)

# How long a query waits for a connection of procrastinate's pool before failing (the
# lane then treats it as a lost database): short, so an outage is noticed quickly.
POOL_TIMEOUT_S = 5.0
# How long the pool retries a failed connection attempt. Short, so the next query starts
# a fresh attempt: psycopg_pool's default (5 minutes) keeps doubling the delay between
# attempts: after a 20 s outage the next attempt can come half a minute late.
POOL_RECONNECT_S = 2.0


@contextlib.contextmanager
def _worker_app(lanes: list[Lane], stop: asyncio.Event) -> Iterator[App]:
    """The Django app on a connector fit for a worker (the Django connector has no
    LISTEN/NOTIFY and no async pool), with the job manager that rides out database loss."""
    real = procrastinate_app.current_app
    connector = PsycopgConnector()  # on the pool _work opens
    saved = real.connector, real.job_manager
    real.connector = connector
    real.job_manager = ResilientJobManager(connector, stopping=stop, give_up_s=settings.WORKER_GIVE_UP_S)
    try:
        yield real
    finally:
        real.connector, real.job_manager = saved


async def _work(lanes: list[Lane]) -> None:
    loop = asyncio.get_running_loop()
    # Sync jobs run on the loop's default executor: one thread per job slot, so one
    # lane's jobs never wait for a thread another lane's jobs hold (the default pool has
    # only cores + 4 threads); one more for the stalled-job recovery.
    loop.set_default_executor(
        ThreadPoolExecutor(max_workers=sum(lane.concurrency for lane in lanes) + 1, thread_name_prefix="job")
    )
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # Opened without waiting for a connection: with the database away at start, the
    # lanes wait for it like for any outage.
    pool = AsyncConnectionPool(
        kwargs=connector_params(),
        min_size=1,
        max_size=2 * len(lanes) + sum(lane.concurrency for lane in lanes),
        timeout=POOL_TIMEOUT_S,
        reconnect_timeout=POOL_RECONNECT_S,
        check=AsyncConnectionPool.check_connection,
        open=False,
        name="procrastinate",
    )
    await pool.open(wait=False)
    with _worker_app(lanes, stop) as worker_app:
        await worker_app.connector.open_async(pool=pool)
        runners = [LaneRunner(worker_app, lane, stop=stop, live_workers=lambda: live()) for lane in lanes]

        def live() -> set[int]:
            return {
                r.current.worker_id
                for r in runners
                if r.current is not None and r.current.worker_id is not None
            }

        tasks = [asyncio.create_task(r.run(), name=f"lane {r.lane.name}") for r in runners]
        tasks.append(
            asyncio.create_task(recover_stalled_periodically(stop, live), name="stalled-job recovery")
        )
        try:
            done, _pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            failures = [t.exception() for t in done if not t.cancelled() and t.exception() is not None]
            stop.set()  # one lane failed: the others stop gracefully too
            await asyncio.gather(*tasks, return_exceptions=True)
            if failures:
                raise failures[0]  # type: ignore[misc]
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            await worker_app.connector.close_async()
            await pool.close()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = "Run the job worker (procrastinate): a replies lane and a general lane, or --queue."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--queue",
            action="append",
            dest="queues",
            help="Work on this queue only (repeatable): one lane instead of the default layout.",
        )
        parser.add_argument(
            "--concurrency",
            type=int,
            default=None,
            help="Job slots of the --queue lane (default 1), or of the general lane "
            "(default CREWCALL_WORKER_CONCURRENCY).",
        )

    def handle(self, *args: Any, queues: list[str] | None, concurrency: int | None, **options: Any) -> None:
        if concurrency is not None and concurrency < 1:
            raise CommandError("--concurrency must be at least 1.")
        if queues:
            lanes = [Lane("worker", queues, concurrency or 1)]
        else:
            lanes = default_layout()
            if concurrency is not None:
                lanes[-1] = Lane(lanes[-1].name, lanes[-1].queues, concurrency)
        # Until the event loop takes over the signals, SIGTERM behaves like Ctrl-C.
        signal.signal(signal.SIGTERM, _interrupt)
        failed: BaseException | None = None
        try:
            with request_context(source="worker"):
                self.stderr.write("worker: lanes " + "; ".join(lane.describe() for lane in lanes))
                asyncio.run(_work(lanes))
        except KeyboardInterrupt:
            pass
        except GaveUp as exc:
            logger.error("worker: giving up: %s", exc)
            failed = exc
        except Exception as exc:
            logger.exception("worker: failed")
            failed = exc
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, signal.SIG_IGN)
            release_database()
        if failed is not None:
            self.stderr.write(f"worker: stopped after a failure: {failed}")
            raise SystemExit(1)
        self.stderr.write("worker: stopped")
