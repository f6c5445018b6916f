"""`crewcall serve` and the embedded PostgreSQL over whole process lifetimes.

These tests talk to subprocesses only (no `db` fixture): each gets a data folder of its
own under /tmp (short, so the server's socket path fits) and no DATABASE_URL, so it runs
its own embedded server. Every wait is bounded; whatever a failing test leaves running
is killed in `finally`.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from crewcall.core.embedded import pid_of_server
from crewcall.core.supervisor import answers

pytestmark = pytest.mark.slow

FIRST_START_S = 240.0  # initdb and every migration, on a busy two-core machine
START_S = 120.0
STOP_S = 60.0


def wait_until(condition: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def child_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["CREWCALL_DATA_DIR"] = str(data_dir)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def live_members(pgid: int) -> list[int]:
    """PIDs in process group `pgid` that are not zombies (read from /proc)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Fields after the command name, which is in parentheses and may hold spaces.
        fields = stat.rsplit(")", 1)[1].split()
        state, group = fields[0], int(fields[2])
        if group == pgid and state not in ("Z", "X"):
            members.append(int(entry.name))
    return members


def stop_postgres(data_dir: Path) -> None:
    """Last-resort cleanup: a fast shutdown of a server a failed test left running."""
    pid = pid_of_server(data_dir)
    if pid is None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGINT)  # the postmaster's "fast" shutdown
    with contextlib.suppress(AssertionError):
        wait_until(lambda: pid_of_server(data_dir) is None, timeout=30, what="postgres to stop")
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


@pytest.fixture
def data_dir() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="cc"))
    try:
        yield folder
    finally:
        stop_postgres(folder)
        shutil.rmtree(folder, ignore_errors=True)


class Serve:
    """One `crewcall serve` in a new session (its own process group), output to a file."""

    def __init__(self, data_dir: Path, port: int, log: Path) -> None:
        self.port = port
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "crewcall", "serve", "--port", str(port)],
                env=child_env(data_dir),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.pgid = self.process.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_healthy(self, timeout: float) -> None:
        url = f"http://127.0.0.1:{self.port}/healthz"

        def healthy() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"serve exited with {self.process.returncode}:\n{self.output()}")
            return answers(url)

        try:
            wait_until(healthy, timeout=timeout, what=f"{url}")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- serve output ---\n{self.output()}") from None

    def kill_group(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=STOP_S)


@contextlib.contextmanager
def serving(data_dir: Path, port: int, name: str) -> Iterator[Serve]:
    serve = Serve(data_dir, port, data_dir / f"{name}.log")
    try:
        yield serve
    finally:
        serve.kill_group()


def test_serve_survives_a_kill_passes_the_canary_and_leaves_nothing_behind_on_sigterm(data_dir: Path) -> None:
    port = free_port()

    with serving(data_dir, port, "first") as first:
        first.wait_healthy(FIRST_START_S)
        postgres = pid_of_server(data_dir)
        assert postgres is not None
        assert "username: admin" in first.output()
        first.kill_group()
        wait_until(lambda: not live_members(first.pgid), timeout=STOP_S, what="the killed group to go")

    # Killing serve and its children outright leaves the server running (it is in a session
    # of its own): the next serve adopts it.
    assert pid_of_server(data_dir) == postgres

    with serving(data_dir, port, "second") as second:
        second.wait_healthy(START_S)
        assert pid_of_server(data_dir) == postgres
        assert "username:" not in second.output(), "the first admin is created only once"

        # The canary audit passes against serve: web, worker and change stream together.
        audit = subprocess.run(
            [sys.executable, "-m", "crewcall", "audit", "--url", f"http://127.0.0.1:{port}"],
            env=child_env(data_dir), capture_output=True, text=True, timeout=START_S, check=False,
        )  # fmt: skip
        assert audit.returncode == 0, audit.stdout + audit.stderr
        assert audit.stdout.rstrip().endswith("passed"), audit.stdout

        second.process.send_signal(signal.SIGTERM)
        try:
            code = second.process.wait(timeout=STOP_S)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"serve did not stop:\n{second.output()}") from None
        assert code == 0, second.output()
        assert pid_of_server(data_dir) is None, "serve left PostgreSQL running"
        assert live_members(second.pgid) == [], "a child of serve survived"
        assert "Crewcall stopped." in second.output()


ATTACH = """
import sys
from pathlib import Path
from crewcall.core.embedded import EmbeddedPostgres
server = EmbeddedPostgres(Path(sys.argv[1]))
server.attach()
print("attached", flush=True)
sys.stdin.readline()
server.detach()
print("detached", flush=True)
"""


class Attachment:
    """A process attached to the embedded server until told to detach."""

    def __init__(self, data_dir: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", ATTACH, str(data_dir)],
            env=child_env(data_dir),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.expect("attached", timeout=START_S)

    def expect(self, line: str, *, timeout: float) -> None:
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        assert ready, f"no {line!r} within {timeout:.0f}s"
        assert self.process.stdout.readline().strip() == line

    def detach(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("\n")
        self.process.stdin.flush()
        self.expect("detached", timeout=STOP_S)
        self.close()

    def kill(self) -> None:
        self.process.kill()
        self.close()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=STOP_S)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


@contextlib.contextmanager
def attachments() -> Iterator[list[Attachment]]:
    started: list[Attachment] = []
    try:
        yield started
    finally:
        for user in started:
            user.close()


def test_two_users_share_one_server_and_only_the_last_to_leave_stops_it(data_dir: Path) -> None:
    with attachments() as started:
        first = Attachment(data_dir)
        started.append(first)
        server = pid_of_server(data_dir)
        assert server is not None
        second = Attachment(data_dir)
        started.append(second)
        assert pid_of_server(data_dir) == server, "the second user attached to the same server"

        first.detach()
        assert pid_of_server(data_dir) == server, "the first to leave must not stop it"

        second.detach()
        assert pid_of_server(data_dir) is None


def test_a_killed_user_neither_stops_the_server_nor_keeps_it_alive(data_dir: Path) -> None:
    with attachments() as started:
        first = Attachment(data_dir)
        started.append(first)
        second = Attachment(data_dir)
        started.append(second)
        server = pid_of_server(data_dir)

        second.kill()
        assert pid_of_server(data_dir) == server

        first.detach()
        assert pid_of_server(data_dir) is None, "a killed user still counted"

        # A server orphaned by a killed last user is adopted, then stopped normally.
        orphaner = Attachment(data_dir)
        started.append(orphaner)
        orphaned = pid_of_server(data_dir)
        orphaner.kill()
        assert pid_of_server(data_dir) == orphaned

        adopter = Attachment(data_dir)
        started.append(adopter)
        assert pid_of_server(data_dir) == orphaned
        adopter.detach()
        assert pid_of_server(data_dir) is None
