"""`crewcall worker`: the procrastinate job worker in this process.

SIGTERM and SIGINT stop it gracefully: it takes no new job, lets running jobs finish,
then closes its database connections and leaves the embedded server.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from procrastinate import App
from procrastinate.app import WorkerOptions
from procrastinate.contrib.django import app, django_connector

from crewcall.core.context import request_context
from crewcall.core.lifecycle import release_database


def _worker_app() -> contextlib.AbstractContextManager[App]:
    """The app on a connector fit for a worker (the Django connector is not: it has no
    LISTEN/NOTIFY and no async pool)."""
    if isinstance(app.connector, django_connector.DjangoConnector):
        return app.replace_connector(app.connector.get_worker_connector())
    return contextlib.nullcontext(app)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


async def _work(worker_app: App, *, queues: list[str] | None, concurrency: int) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    worker_options: WorkerOptions = {"concurrency": concurrency, "install_signal_handlers": False}
    if queues:
        worker_options["queues"] = queues  # absent means every queue
    async with worker_app.open_async():
        run = asyncio.create_task(worker_app.run_worker_async(**worker_options))
        stopper = asyncio.create_task(stop.wait())
        await asyncio.wait({run, stopper}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        if not run.done():
            # procrastinate turns a cancelled run into a graceful stop: no new jobs,
            # running ones finish. Cancelled once only: a second cancel would abort them.
            run.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await run


class Command(BaseCommand):
    help = "Run the job worker (procrastinate)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--queue", action="append", dest="queues", help="Queue to work on (repeatable; default all)."
        )
        parser.add_argument("--concurrency", type=int, default=1)

    def handle(self, *args: Any, queues: list[str] | None, concurrency: int, **options: Any) -> None:
        # Until the event loop takes over the signals, SIGTERM behaves like Ctrl-C.
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            with (
                request_context(source="worker"),
                _worker_app() as worker_app,
            ):
                self.stderr.write(f"worker: waiting for jobs on {', '.join(queues or ['all queues'])}")
                asyncio.run(_work(worker_app, queues=queues, concurrency=concurrency))
        except KeyboardInterrupt:
            pass
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, signal.SIG_IGN)
            release_database()
        self.stderr.write("worker: stopped")
