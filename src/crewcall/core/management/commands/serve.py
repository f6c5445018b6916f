"""`crewcall serve`: everything on one machine with one command.

Connects to the database (starting the embedded PostgreSQL unless DATABASE_URL is set,
and staying one of its users until the end), applies migrations, creates the first
admin, empties the metrics folder, then runs `crewcall web` and `crewcall worker` as
child processes (they inherit PROMETHEUS_MULTIPROC_DIR, so /metrics adds up both). SIGINT
or SIGTERM stops both children and exits 0; a child that dies on its own stops the other
and exits 1. On the way out this process leaves the embedded server, which stops when
no other process uses it.
"""

from __future__ import annotations

import signal
import sys
import time
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, connections

from crewcall.accounts.services import admin_ensure_first
from crewcall.core.context import request_context
from crewcall.core.lifecycle import release_database, uses_embedded_database
from crewcall.core.supervisor import Supervisor, answers
from crewcall.ops.metrics import reset_metrics_dir

READY_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 30.0
POLL_S = 0.2
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


class Command(BaseCommand):
    help = "Run Crewcall: database, migrations, first admin, web server and worker."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--demo", action="store_true", help="Load the demo agency first.")

    def handle(self, *args: Any, host: str, port: int, demo: bool, **options: Any) -> None:
        signals = StopSignals()
        supervisor = Supervisor()
        code = 0
        try:
            signals.install()
            self.prepare(demo=demo)
            # This process stays attached to the embedded server; it needs no connection.
            connections.close_all()
            signals.interrupting = False
            if signals.received is None:
                code = self.supervise(supervisor, signals, host=host, port=port)
        except Interrupted:
            code = 0
        finally:
            signals.ignore()
            supervisor.stop_all(timeout=STOP_TIMEOUT_S)
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
        from crewcall.events.models import Event

        return Event.objects.exists()

    def supervise(self, supervisor: Supervisor, signals: StopSignals, *, host: str, port: int) -> int:
        # /metrics adds up what the processes started below count: begin from zero.
        reset_metrics_dir()
        supervisor.start("web", ["web", "--host", host, "--port", str(port)])
        supervisor.start("worker", ["worker"])
        health = f"http://{_url_host(_probe_host(host))}:{port}/healthz"
        deadline = time.monotonic() + READY_TIMEOUT_S
        ready = False
        while signals.received is None:
            exited = supervisor.first_exited()
            if exited is not None:
                self.stderr.write(
                    f"The {exited.name} process exited unexpectedly "
                    f"(code {exited.process.returncode}); stopping."
                )
                return 1
            if not ready:
                if answers(health):
                    ready = True
                    self.stdout.write(
                        self.style.SUCCESS(f"Crewcall is running at http://{_url_host(host)}:{port}/")
                        + "  (Ctrl-C stops it)"
                    )
                    self.stdout.flush()
                    continue
                if time.monotonic() > deadline:
                    self.stderr.write(f"The web server did not answer {health} in time; stopping.")
                    return 1
            time.sleep(POLL_S)
        self.stdout.write("Stopping…")
        return 0
