"""Real processes for tests: a `crewcall worker` on the test database, a TCP proxy in front
of the database that a test can cut and restore, and stopping a child process."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

from django.db import connection

from crewcall.testing.sse import web_env


@contextlib.contextmanager
def worker_process(log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "crewcall", "worker"], env=web_env(), stdout=out, stderr=subprocess.STDOUT
        )
    try:
        yield process
    finally:
        stop_process(process, timeout=20)


def stop_process(process: subprocess.Popen[bytes], *, timeout: float = 30) -> int:
    """SIGTERM, then SIGKILL after `timeout` seconds; returns the exit code."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    return process.returncode


class Proxy:
    """Forwards TCP connections on 127.0.0.1 to the test database (TCP or Unix socket);
    `cut` closes the port and every open connection, `restore` opens the same port again."""

    def __init__(self, target: tuple[str, int] | str) -> None:
        self.target = target
        self.port = 0
        self._server: socket.socket | None = None
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()

    def _upstream(self) -> socket.socket:
        if isinstance(self.target, str):
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        else:
            upstream = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        upstream.connect(self.target)
        return upstream

    def restore(self) -> None:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(16)
        self.port = server.getsockname()[1]
        with self._lock:
            self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            try:
                upstream = self._upstream()
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._server is not server:
                    # Cut while this one was being accepted: it must not outlive the cut.
                    client.close()
                    upstream.close()
                    return
                self._open += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        with self._lock:
            server, self._server = self._server, None
            open_ends, self._open = self._open, []
        if server is not None:
            # shutdown wakes the thread blocked in accept (close alone would not: the
            # socket would keep accepting under that call).
            with contextlib.suppress(OSError):
                server.shutdown(socket.SHUT_RDWR)
            server.close()
        for end in open_ends:
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()


def database_target() -> tuple[str, int] | str:
    settings = connection.settings_dict
    host, port = settings["HOST"] or "/tmp", int(settings["PORT"] or 5432)  # noqa: S108 - libpq's default
    return f"{host}/.s.PGSQL.{port}" if host.startswith("/") else (host, port)
