"""A fake of the parts of Twilio's REST API the SDK uses for WhatsApp messages.

Runs in a thread on 127.0.0.1 (a free port), so the real `twilio` SDK makes real HTTP
requests against it. It records every request (thread-safe), keeps the messages it
"created", lists them the way the SDK pages them, and fails on script:

    fake.script(Fail(status=500), Fail(status=429), Fail(delay=2.0), Fail(status=400, code=21211))

A scripted 5xx or delay still *creates* the message first when `created=True`, as a real
provider can: the client cannot tell, which is what reconciliation is for.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import sys
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

_MESSAGES = re.compile(r"^/2010-04-01/Accounts/(?P<account>AC[0-9a-zA-Z]+)/Messages\.json$")


@dataclass(frozen=True)
class Fail:
    """One scripted answer to the next matching request."""

    status: int = 500  # below 400: no error, only the delay (answered too late = a timeout)
    code: int | None = None
    delay: float = 0.0  # sleep before answering
    created: bool = False  # with an error status: create the message anyway (maybe sent)
    methods: tuple[str, ...] = ("POST",)


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    authorization: str
    at: float = field(default_factory=time.monotonic)


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client killed mid-request (the crash test does it on purpose) is no error here.
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class FakeTwilio:
    def __init__(self, account_sid: str, auth_token: str, *, latency: float = 0.0) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.latency = latency  # per request, so a killed client dies mid-request
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        self.requests: list[Recorded] = []
        self.messages: list[dict[str, Any]] = []
        self._script: deque[Fail] = deque()
        self._server = _Server(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-twilio", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeTwilio:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def script(self, *answers: Fail) -> None:
        with self.lock:
            self._script.extend(answers)

    def wait_for_requests(self, count: int, timeout: float) -> bool:
        """Block until `count` requests have arrived in all (woken by each arrival)."""
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.requests) >= count, timeout=timeout)

    def posts(self) -> list[Recorded]:
        with self.lock:
            return [r for r in self.requests if r.method == "POST"]

    def posts_by_to(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in self.posts():
            counts[r.form.get("To", "")] = counts.get(r.form.get("To", ""), 0) + 1
        return counts

    def create(self, form: dict[str, str]) -> dict[str, Any]:
        """Store a message as Twilio would (also usable by tests to pre-seed one)."""
        now = format_datetime(datetime.now(UTC), usegmt=True)
        body = form.get("Body", "")
        if form.get("ContentSid"):
            variables = json.loads(form.get("ContentVariables") or "{}")
            body = f"[{form['ContentSid']}] " + " | ".join(str(v) for v in variables.values())
        sid = "SM" + uuid.uuid4().hex
        record: dict[str, Any] = {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": body,
            "date_created": now,
            "date_updated": now,
            "date_sent": None,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": form.get("From", ""),
            "messaging_service_sid": None,
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued",
            "subresource_uris": {},
            "to": form.get("To", ""),
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
        }
        with self.lock:
            self.messages.append(record)
        return record

    def _next_failure(self, method: str) -> Fail | None:
        with self.lock:
            if self._script and method in self._script[0].methods:
                return self._script.popleft()
        return None


def _handler(fake: FakeTwilio) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet

        def _reply(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        def _error(self, status: int, code: int | None, message: str) -> None:
            self._reply(status, {"code": code, "message": message, "more_info": "", "status": status})

        def _authorised(self) -> bool:
            expected = base64.b64encode(f"{fake.account_sid}:{fake.auth_token}".encode()).decode()
            return self.headers.get("Authorization", "") == f"Basic {expected}"

        def _record(self, form: dict[str, str]) -> Recorded:
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            rec = Recorded(self.command, parts.path, query, form, self.headers.get("Authorization", ""))
            with fake.arrived:
                fake.requests.append(rec)
                fake.arrived.notify_all()
            return rec

        def _route(self, form: dict[str, str]) -> None:
            rec = self._record(form)
            if fake.latency:
                time.sleep(fake.latency)
            match = _MESSAGES.match(rec.path)
            if match is None or match["account"] != fake.account_sid:
                return self._error(404, 20404, "The requested resource was not found")
            if not self._authorised():
                return self._error(401, 20003, "Authenticate")
            failure = fake._next_failure(self.command)
            if failure is not None:
                if failure.delay:
                    time.sleep(failure.delay)
                if failure.status >= 400:
                    if failure.created and self.command == "POST":
                        fake.create(form)
                    return self._error(failure.status, failure.code, f"scripted {failure.status}")
                # A pure delay: answer normally, too late for a client that timed out.
            if self.command == "POST":
                return self._create(form)
            return self._list(rec.query)

        def _create(self, form: dict[str, str]) -> None:
            if not form.get("To", "").startswith("whatsapp:+"):
                return self._error(400, 21211, "Invalid 'To' Phone Number")
            if not (form.get("Body") or form.get("ContentSid")):
                return self._error(400, 21619, "A text message body or media urls must be specified.")
            self._reply(201, fake.create(form))

        def _list(self, query: dict[str, str]) -> None:
            with fake.lock:
                found = [
                    m
                    for m in reversed(fake.messages)  # newest first, as Twilio lists them
                    if (not query.get("To") or m["to"] == query["To"])
                    and (not query.get("From") or m["from"] == query["From"])
                ]
            size = int(query.get("PageSize", "50"))
            page = int(query.get("Page", "0"))
            chunk = found[page * size : (page + 1) * size]
            base = urlsplit(self.path).path
            more = (page + 1) * size < len(found)
            next_uri = None
            if more:
                to = query.get("To", "").replace("+", "%2B").replace(":", "%3A")
                next_uri = f"{base}?To={to}&PageSize={size}&Page={page + 1}"
            self._reply(
                200,
                {
                    "messages": chunk,
                    "first_page_uri": f"{base}?PageSize={size}&Page=0",
                    "next_page_uri": next_uri,
                    "previous_page_uri": None,
                    "page": page,
                    "page_size": size,
                    "start": page * size,
                    "end": page * size + len(chunk),
                    "uri": self.path,
                },
            )

        def do_GET(self) -> None:
            self._route({})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode() if length else ""
            self._route({k: v[-1] for k, v in parse_qs(raw, keep_blank_values=True).items()})

    return Handler
