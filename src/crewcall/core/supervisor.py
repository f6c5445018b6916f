"""Child processes for `crewcall serve`: start them, restart the ones that die, stop them.

Children run `python -m crewcall <command>` with the parent's environment. On Linux
each child asks the kernel for SIGTERM when its parent dies (PR_SET_PDEATHSIG), so a
serve process that is killed outright does not leave a web server behind.

A child that dies on its own (any exit code, or a signal) is started again after a
delay that doubles with each death in a row (`Backoff`), up to a cap; a child that ran
`healthy_s` before dying starts over from the first delay. Its siblings keep running.
Children stopped by `stop_all` are not started again.

`DatabaseWatcher` does the same for the embedded PostgreSQL: a postmaster that died is
started again at once, one stopped from outside (`pg_ctl stop` or `restart`) after a grace
period in which whoever stopped it may start it themselves.

Everything here runs in the caller's thread, driven by `tend()` from its loop: no threads,
so forking a child (with a pre-exec function) is safe.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field

from crewcall.core.embedded import EmbeddedPostgres

logger = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Backoff:
    """Delay before restart number `failures` of a run of deaths: first_s, 2·first_s, … max_s."""

    first_s: float = 0.5
    max_s: float = 30.0
    # A child that ran this long counts as healthy: its next death starts from first_s.
    healthy_s: float = 60.0

    def delay(self, failures: int) -> float:
        return float(min(self.max_s, self.first_s * 2 ** max(0, failures - 1)))


@dataclass(frozen=True)
class ChildSpec:
    name: str  # unique: "web-1", "worker"
    kind: str  # what it runs, the label in /metrics: "web", "worker"
    args: tuple[str, ...]
    pass_fds: tuple[int, ...] = ()


@dataclass
class Child:
    spec: ChildSpec
    process: subprocess.Popen[bytes]
    started_at: float
    restarts: int = 0
    failures: int = 0  # deaths in a row, without a healthy run between them
    restart_at: float | None = None  # set while dead and waiting for its delay

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def running(self) -> bool:
        return self.process.poll() is None


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit code {returncode}"


def _die_with_parent() -> Callable[[], None] | None:
    if not sys.platform.startswith("linux"):
        return None
    parent = os.getpid()
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before fork, not in the child

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec


def _spawn(spec: ChildSpec) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "crewcall", *spec.args]
    # argv is built here from our own interpreter and fixed command names.
    return subprocess.Popen(argv, pass_fds=spec.pass_fds, preexec_fn=_die_with_parent())  # noqa: S603


@dataclass
class Supervisor:
    backoff: Backoff = field(default_factory=Backoff)
    # Called after a child was started again (serve counts it in /metrics).
    on_restart: Callable[[Child], None] | None = None
    children: list[Child] = field(default_factory=list)
    stopping: bool = False

    def start(self, spec: ChildSpec) -> Child:
        child = Child(spec=spec, process=_spawn(spec), started_at=time.monotonic())
        self.children.append(child)
        return child

    def pids(self) -> dict[str, int]:
        return {child.name: child.process.pid for child in self.children if child.running}

    def tend(self, now: float | None = None) -> None:
        """Note children that died, and start again those whose delay has passed."""
        if self.stopping:
            return
        now = time.monotonic() if now is None else now
        for child in self.children:
            if child.restart_at is None:
                if child.running:
                    continue
                ran_s = now - child.started_at
                child.failures = 1 if ran_s >= self.backoff.healthy_s else child.failures + 1
                delay = self.backoff.delay(child.failures)
                child.restart_at = now + delay
                logger.warning(
                    "serve: %s (pid %d) %s after %.1f s; starting it again in %.1f s (restart %d)",
                    child.name, child.process.pid, describe_exit(child.process.returncode),
                    ran_s, delay, child.restarts + 1,
                )  # fmt: skip
            elif now >= child.restart_at:
                child.process = _spawn(child.spec)
                child.started_at = now
                child.restart_at = None
                child.restarts += 1
                logger.warning(
                    "serve: %s started again (pid %d, restart %d)",
                    child.name,
                    child.process.pid,
                    child.restarts,
                )
                if self.on_restart is not None:
                    self.on_restart(child)

    def stop_all(self, *, timeout: float) -> None:
        """SIGTERM every running child, wait up to `timeout` seconds, then SIGKILL."""
        self.stopping = True
        for child in self.children:
            if child.running:
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for child in self.children:
            try:
                child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()


@dataclass
class DatabaseWatcher:
    """Keeps the embedded PostgreSQL running for as long as serve runs (see the module doc)."""

    server: EmbeddedPostgres
    backoff: Backoff = field(default_factory=lambda: Backoff(first_s=0.5, max_s=5.0))
    # pg_ctl restart stops and starts within seconds; a server stopped longer is restarted.
    stopped_grace_s: float = 10.0
    # Called after the server was started again, with why it was down ("died", "stopped").
    on_restart: Callable[[str], None] | None = None
    restarts: int = 0
    down_since: float | None = None
    reason: str | None = None  # "died" or "stopped"
    attempts: int = 0
    next_try: float = 0.0

    def tend(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        state = self.server.state()
        if state == "running":
            if self.down_since is not None:
                logger.warning("serve: PostgreSQL runs again (down %.1f s)", now - self.down_since)
                self.down_since = None
            return
        crashed = state in ("dying", "died")
        if self.down_since is None or (crashed and self.reason == "stopped"):
            self.down_since = self.down_since if self.down_since is not None else now
            self.reason = "died" if crashed else "stopped"
            self.attempts = 0
            self.next_try = now if crashed else now + self.stopped_grace_s
            logger.warning(
                "serve: the embedded PostgreSQL %s; starting it again%s",
                "died (its postmaster is gone)" if crashed else "was stopped",
                "" if crashed else f" unless it is back within {self.stopped_grace_s:g} s",
            )
        # A dead postmaster not yet reaped still owns the data folder: PostgreSQL refuses.
        if state == "dying" or now < self.next_try:
            return
        self.attempts += 1
        try:
            started = self.server.start_again()
        except Exception as exc:  # a later try may work (the old server's processes are leaving)
            delay = self.backoff.delay(self.attempts)
            self.next_try = now + delay
            logger.warning(
                "serve: starting PostgreSQL failed (try %d: %s); next try in %.1f s",
                self.attempts,
                exc,
                delay,
            )
            return
        down_s = time.monotonic() - self.down_since
        self.down_since = None
        if started:
            self.restarts += 1
            logger.warning(
                "serve: PostgreSQL started again after %.1f s down (%s; database restart %d)",
                down_s, self.reason, self.restarts,
            )  # fmt: skip
            if self.on_restart is not None and self.reason is not None:
                self.on_restart(self.reason)
        else:
            logger.warning("serve: PostgreSQL runs again (down %.1f s, started by another process)", down_s)


def listening_socket(host: str, port: int, *, backlog: int) -> int:
    """A TCP socket listening on host:port, as a file descriptor children inherit.

    serve holds it for its whole run, so a web process that dies closes nothing: the
    kernel queues new connections until a sibling or its successor accepts them.
    """
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host, port), family=family, backlog=backlog)
    return sock.detach()


_no_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def answers(url: str, *, timeout: float = 1.0) -> bool:
    """True when `url` answers 200; proxies from the environment are bypassed."""
    try:
        with _no_proxy.open(url, timeout=timeout) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False
