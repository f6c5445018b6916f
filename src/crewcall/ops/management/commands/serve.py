"""`crewcall serve`: everything on one machine with one command.

Connects to the database (starting the embedded PostgreSQL unless DATABASE_URL is set,
and staying one of its users until the end), applies migrations, creates the first
admin, empties the metrics folder, opens the listening socket, then runs N `crewcall web`
processes on that socket (two by default) and one `crewcall worker` as child processes
(they inherit PROMETHEUS_MULTIPROC_DIR, so /metrics adds them up, with serve's own
restart counters).

It supervises them (core/supervisor.py): a child that dies is started again after a
capped, doubling delay, its siblings untouched; the socket stays open meanwhile, so the
other web process (or the kernel's queue) takes the requests. With the embedded server
it also starts PostgreSQL again if its postmaster dies. SIGINT or SIGTERM stops every
child and exits 0; serve exits 1 only when the web server never answered at start. On
the way out this process leaves the embedded server, which stops when no other process
uses it.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, connections

from crewcall.accounts.services import admin_ensure_first
from crewcall.core.context import request_context
from crewcall.core.embedded import embedded_for
from crewcall.core.lifecycle import release_database, uses_embedded_database
from crewcall.core.supervisor import (
    Child,
    ChildSpec,
    DatabaseWatcher,
    Supervisor,
    answers,
    listening_socket,
)
from crewcall.core.telemetry import CHILD_RESTARTS, DATABASE_RESTARTS
from crewcall.events.models import Event
from crewcall.ops.metrics import reset_metrics_dir

READY_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 30.0
POLL_S = 0.2
WEB_PROCESSES = 2  # one can die (or restart) while the other answers
BACKLOG = 2048  # connections the kernel queues while no web process accepts (uvicorn's default)
DEMO_HINT = "Load a realistic demo agency: crewcall demo (or make run DEMO=1)"


class Interrupted(BaseException):
    """Raised by the signal handler while serve prepares (no children yet)."""


class StopSignals:
    """Until children run, a signal interrupts the preparation; afterwards it is noted."""

    def __init__(self) -> None:
        self.received: int | None = None
        self.interrupting = True

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.received = signum
        if self.interrupting:
            raise Interrupted

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self)

    @staticmethod
    def ignore() -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _probe_host(host: str) -> str:
    return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)  # noqa: S104


def derive_public_url(host: str, port: int) -> str | None:
    """Without CREWCALL_PUBLIC_URL, the address this serve listens on is the public one:
    set for this process and the ones it starts (webhook signatures, delivery callbacks
    and employee links are made with it). Returns it when it was derived, else None."""
    if os.environ.get("CREWCALL_PUBLIC_URL"):
        return None
    url = f"http://{_url_host(_probe_host(host))}:{port}"
    os.environ["CREWCALL_PUBLIC_URL"] = url
    settings.PUBLIC_URL = url
    settings.CSRF_TRUSTED_ORIGINS = [url]
    return url


class Command(BaseCommand):
    help = "Run Crewcall: database, migrations, first admin, web server and worker."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--demo", action="store_true", help="Load the demo agency first.")
        parser.add_argument(
            "--web-processes",
            type=int,
            default=WEB_PROCESSES,
            help=f"web server processes on the one socket (default {WEB_PROCESSES})",
        )

    def handle(
        self, *args: Any, host: str, port: int, demo: bool, web_processes: int, **options: Any
    ) -> None:
        if web_processes < 1:
            raise CommandError("--web-processes must be at least 1.")
        if derived := derive_public_url(host, port):
            self.stdout.write(
                f"Public URL: {derived} (from --host and --port: CREWCALL_PUBLIC_URL is not set)."
            )
        signals = StopSignals()
        supervisor = Supervisor(on_restart=_count_restart)
        listener: int | None = None
        code = 0
        try:
            signals.install()
            self.prepare(demo=demo)
            # This process stays attached to the embedded server; it needs no connection.
            connections.close_all()
            try:
                listener = listening_socket(host, port, backlog=BACKLOG)
            except OSError as exc:
                self.stderr.write(f"Cannot listen on {_url_host(host)}:{port}: {exc}")
                code = 1
            signals.interrupting = False
            if signals.received is None and listener is not None:
                code = self.supervise(
                    supervisor, signals, host=host, port=port, listener=listener, web=web_processes
                )
        except Interrupted:
            code = 0
        finally:
            signals.ignore()
            supervisor.stop_all(timeout=STOP_TIMEOUT_S)
            if listener is not None:
                os.close(listener)
            release_database()
        if code:
            raise SystemExit(code)
        self.stdout.write("Crewcall stopped.")

    def prepare(self, *, demo: bool) -> None:
        connection.ensure_connection()
        call_command("migrate", interactive=False, verbosity=0)
        where = f"embedded PostgreSQL in {settings.DATA_DIR}" if uses_embedded_database() else "DATABASE_URL"
        self.stdout.write(f"Database ready and migrated ({where}).")
        with request_context(source="cli"):
            new_admin = admin_ensure_first()
            if new_admin is not None:
                self.stdout.write(
                    self.style.SUCCESS("\nFirst admin created. Note the password now; it is not shown again.")
                )
                self.stdout.write(f"    username: {new_admin.user.username}")
                self.stdout.write(f"    password: {new_admin.password}\n")
            if not demo and not self._has_events():
                demo = self._offer_demo()
            if demo:
                try:
                    call_command("demo")
                except CommandError as exc:
                    self.stderr.write(f"Demo data not loaded: {exc}")
        self.stdout.flush()

    def _offer_demo(self) -> bool:
        """Ask on a terminal; elsewhere (CI, a service manager) only print how."""
        if not sys.stdin.isatty():
            self.stdout.write(DEMO_HINT)
            return False
        self.stdout.write("The database is empty. Load a realistic demo agency? [y/N] ", ending="")
        self.stdout.flush()
        answer = sys.stdin.readline().strip().lower()
        return answer in ("y", "yes", "j", "ja")

    @staticmethod
    def _has_events() -> bool:
        return Event.objects.exists()

    def supervise(
        self, supervisor: Supervisor, signals: StopSignals, *, host: str, port: int, listener: int, web: int
    ) -> int:
        # /metrics adds up what the processes started below count: begin from zero.
        reset_metrics_dir()
        for kind in ("web", "worker"):
            CHILD_RESTARTS.labels(child=kind)  # shown at 0 until the first restart
        for number in range(1, web + 1):
            args = ("web", "--host", host, "--port", str(port), "--fd", str(listener))
            supervisor.start(ChildSpec(name=f"web-{number}", kind="web", args=args, pass_fds=(listener,)))
        supervisor.start(ChildSpec(name="worker", kind="worker", args=("worker",)))
        watcher = None
        if uses_embedded_database():
            watcher = DatabaseWatcher(
                embedded_for(Path(settings.DATA_DIR)), on_restart=_count_database_restart
            )
            for reason in ("died", "stopped"):
                DATABASE_RESTARTS.labels(reason=reason)
        health = f"http://{_url_host(_probe_host(host))}:{port}/healthz"
        deadline = time.monotonic() + READY_TIMEOUT_S
        ready = False
        while signals.received is None:
            supervisor.tend()
            if watcher is not None:
                watcher.tend()
            if not ready:
                if answers(health):
                    ready = True
                    pids = ", ".join(f"{name} {pid}" for name, pid in supervisor.pids().items())
                    self.stdout.write(
                        self.style.SUCCESS(f"Crewcall is running at http://{_url_host(host)}:{port}/")
                        + f"  (Ctrl-C stops it; processes: {pids})"
                    )
                    self.stdout.flush()
                    continue
                if time.monotonic() > deadline:
                    self.stderr.write(f"The web server did not answer {health} in time; stopping.")
                    return 1
            time.sleep(POLL_S)
        self.stdout.write("Stopping…")
        return 0


def _count_restart(child: Child) -> None:
    CHILD_RESTARTS.labels(child=child.spec.kind).inc()


def _count_database_restart(reason: str) -> None:
    DATABASE_RESTARTS.labels(reason=reason).inc()
