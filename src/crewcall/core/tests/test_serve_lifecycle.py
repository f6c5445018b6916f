"""`crewcall serve` and the embedded PostgreSQL over whole process lifetimes.

These tests talk to subprocesses only (no `db` fixture): each gets a data folder of its
own under /tmp (short, so the server's socket path fits) and no DATABASE_URL, so it runs
its own embedded server. Every wait is bounded; whatever a failing test leaves running
is killed in `finally`.
"""

from __future__ import annotations

import contextlib
import select
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from crewcall.core.embedded import pid_of_server
from crewcall.core.tests.serving import (
    FIRST_START_S,
    START_S,
    STOP_S,
    child_env,
    live_members,
    scratch_data_dir,
    serving,
)
from crewcall.testing.waiting import free_port, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.own_server]


@pytest.fixture
def data_dir() -> Iterator[Path]:
    with scratch_data_dir() as folder:
        yield folder


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
        # Links and webhook callbacks follow the port when no public URL is set.
        assert f"Public URL: http://127.0.0.1:{port} " in second.output()

        # The canary audit passes against serve: web, worker and change stream together.
        audit = subprocess.run(
            [sys.executable, "-m", "crewcall", "audit", "--url", f"http://127.0.0.1:{port}"],
            env=child_env(data_dir), capture_output=True, text=True, timeout=START_S, check=False,
        )  # fmt: skip
        assert audit.returncode == 0, audit.stdout + audit.stderr
        assert audit.stdout.rstrip().endswith("passed"), audit.stdout

        children = second.children()
        assert sorted(children.values()) == ["web", "web", "worker"], "two web processes by default"
        code, stop_s = second.terminate()
        print(f"serve stopped on SIGTERM in {stop_s:.1f} s")
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
