"""Test helpers for the change stream: real `crewcall web` processes on the test database,
and a small blocking SSE client."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import connection
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from crewcall.testing.owner import migration_url_for
from crewcall.testing.waiting import free_port

START_S = 60.0


def web_env(**extra: str) -> dict[str, str]:
    """The environment of a web process that uses this test's database."""
    env = dict(os.environ)
    name = str(connection.settings_dict["NAME"])
    if env.get("DATABASE_URL"):
        parts = conninfo_to_dict(env["DATABASE_URL"])
        parts["dbname"] = name
        env["DATABASE_URL"] = make_conninfo(**{k: str(v) for k, v in parts.items() if v is not None})
        env.pop("CREWCALL_MIGRATION_DATABASE_URL", None)
        if owner := migration_url_for(name):
            env["CREWCALL_MIGRATION_DATABASE_URL"] = owner
    else:
        env["CREWCALL_DATA_DIR"] = str(settings.DATA_DIR)
        env["CREWCALL_DATABASE_NAME"] = name
    env["CREWCALL_CHANGES_POLL_S"] = "0.5"
    env["CREWCALL_CHANGES_HEARTBEAT_S"] = "2"
    env["CREWCALL_SECRET_KEY"] = settings.SECRET_KEY  # the test's sessions must be valid there
    env.update(extra)
    return env


class WebProcess:
    def __init__(self, log: Path, **env: str) -> None:
        self.port = free_port()
        self.log = log
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> WebProcess:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "crewcall", "web", "--port", str(self.port)],
                env=web_env(**self.env),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        began = time.monotonic()
        while time.monotonic() - began < START_S:
            if self.process.poll() is not None:
                raise AssertionError(f"web exited with {self.process.returncode}:\n{self.output()}")
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            time.sleep(0.1)
        raise AssertionError(f"web did not listen within {START_S} s:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@dataclass
class Event:
    id: str | None
    event: str
    data: dict[str, object] = field(default_factory=dict)


class SSEClient:
    """Reads one event stream line by line; `next_event` skips comments and bare ids."""

    # Generous: transaction ids are cluster-wide, so under `pytest -n` another worker's
    # long test transaction holds the feed's horizon (and so delivery) back while it runs.
    def __init__(self, port: int, path: str, *, cookie: str = "", last_event_id: str = "",
                 token: str = "", timeout: float = 180.0) -> None:  # fmt: skip
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        headers = {"Accept": "text/event-stream"}
        if cookie:
            headers["Cookie"] = cookie
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.conn.request("GET", path, headers=headers)
        self.response = self.conn.getresponse()
        self.last_id: str | None = None
        self.timeout = timeout

    @property
    def status(self) -> int:
        return self.response.status

    def next_event(self) -> Event:
        """The next dispatched event; TimeoutError when none comes within the timeout (the
        stream's keep-alives do not count)."""
        event_id: str | None = None
        kind, data = "message", list[str]()
        deadline = time.monotonic() + self.timeout
        while True:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no event within {self.timeout} s")
            raw = self.response.readline()  # chunked: b"" where the body ends
            if not raw:
                raise EOFError("the stream ended")
            line = raw.decode().rstrip("\n")
            if line == "":
                if event_id is not None:
                    self.last_id = event_id
                if data:
                    return Event(event_id, kind, json.loads("\n".join(data)))
                event_id, kind, data = None, "message", []
                continue
            if line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "id":
                event_id = value
            elif name == "event":
                kind = value
            elif name == "data":
                data.append(value)

    def events(self, count: int) -> list[Event]:
        return [self.next_event() for _ in range(count)]

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.close()


@contextlib.contextmanager
def web_processes(tmp_path: Path, count: int = 1, **env: str) -> Iterator[list[WebProcess]]:
    processes = [WebProcess(tmp_path / f"web{n}.log", **env) for n in range(count)]
    try:
        for process in processes:
            process.start()
        yield processes
    finally:
        for process in processes:
            process.stop()
