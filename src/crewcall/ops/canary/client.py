"""A small HTTP client for the canary: JSON calls with a bearer token, and a change-stream
reader in a thread. Standard library only, so the audit tests the server and nothing
else; every call has a timeout, so a hung server fails the audit instead of hanging it."""

from __future__ import annotations

import contextlib
import http.client
import json
import queue
import socket
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit


class CanaryError(Exception):
    """A step failed; the message says what was expected and what came instead."""


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError as exc:
            raise CanaryError(f"the answer is not JSON: {self.body[:200]!r}") from exc

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


@dataclass
class Server:
    url: str
    token: str
    timeout: float = 10.0
    request_ids: list[str] = field(default_factory=list)

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise CanaryError(f"not an http(s) URL: {self.url!r}")
        kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        return kind(parts.hostname, parts.port, timeout=timeout)

    def path(self, tail: str) -> str:
        return urlsplit(self.url).path.rstrip("/") + tail

    def call(self, method: str, tail: str, body: Any = None, **headers: str) -> Answer:
        """One request; X-Request-ID is ours, so the history rows can be matched to it."""
        request_id = "canary-" + uuid.uuid4().hex
        self.request_ids.append(request_id)
        sent = {
            "Authorization": f"Bearer {self.token}",
            "Accept": "application/json",
            "X-Request-ID": request_id,
        }
        sent.update({name.replace("_", "-"): value for name, value in headers.items()})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        connection = self._connection(self.timeout)
        try:
            connection.request(method, self.path(tail), body=data, headers=sent)
            response = connection.getresponse()
            return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
        except (OSError, http.client.HTTPException) as exc:
            raise CanaryError(f"{method} {tail}: no answer from {self.url} ({exc})") from exc
        finally:
            connection.close()


@dataclass(frozen=True)
class StreamEvent:
    kind: str
    data: dict[str, Any]


class StreamReader:
    """Follows /api/v1/changes from "now" in a thread; events land in a queue."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.events: queue.Queue[StreamEvent | CanaryError] = queue.Queue()
        self._connection: http.client.HTTPConnection | None = None
        self._thread: threading.Thread | None = None
        self._closed = threading.Event()

    def open(self) -> None:
        """Connect and wait for the answer's headers: from then on every commit is seen."""
        connection = self.server._connection(self.server.timeout)
        self._connection = connection
        try:
            connection.request(
                "GET",
                self.server.path("/api/v1/changes"),
                headers={"Authorization": f"Bearer {self.server.token}", "Accept": "text/event-stream"},
            )
            response = connection.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            raise CanaryError(f"the change stream did not answer ({exc})") from exc
        if response.status != 200:
            raise CanaryError(f"the change stream answered {response.status}: {response.read(300)!r}")
        self._thread = threading.Thread(
            target=self._read, args=(response,), daemon=True, name="canary-stream"
        )
        self._thread.start()

    def _read(self, response: http.client.HTTPResponse) -> None:
        kind, data = "message", ""
        try:
            while not self._closed.is_set():
                line = response.readline()
                if not line:
                    raise CanaryError("the change stream ended")
                text = line.decode().rstrip("\r\n")
                if text.startswith("event:"):
                    kind = text[6:].strip()
                elif text.startswith("data:"):
                    data += text[5:].strip()
                elif text == "":
                    if data:
                        self.events.put(StreamEvent(kind, json.loads(data)))
                    kind, data = "message", ""
        except Exception as exc:  # any break of the stream is a finding
            # Closing the connection under a blocked read raises whatever http.client
            # happens to hit (even AttributeError); after close() that is expected.
            if not self._closed.is_set():
                self.events.put(
                    exc if isinstance(exc, CanaryError) else CanaryError(f"stream broke: {exc!r}")
                )

    def close(self) -> None:
        self._closed.set()
        if self._connection is not None:
            sock = self._connection.sock
            if sock is not None:
                # Unblocks the reader thread's recv (close alone would leave the response's
                # file open until the next heartbeat).
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            self._connection.close()
        if self._thread is not None:
            self._thread.join(timeout=2)
