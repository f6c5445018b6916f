"""The canary audit against real processes on the test database: a `crewcall web` and a
`crewcall worker`. It passes when both run; it fails, naming the part, when the worker
is down or the change stream cannot be reached; and it leaves nothing behind either way."""

from __future__ import annotations

import contextlib
import http.client
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from crewcall.accounts.models import ApiToken
from crewcall.accounts.services import token_create
from crewcall.events.models import Event, WorkArea
from crewcall.ops.canary.run import SANDBOX_TITLE, run_audit
from crewcall.testing.processes import worker_process
from crewcall.testing.sse import web_processes

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.concurrency, pytest.mark.feed]

WAIT_S = 8.0


@contextlib.contextmanager
def proxy_without_stream(port: int) -> Iterator[int]:
    """A forwarding proxy to the web process that answers 503 for the change stream, as a
    broken load balancer or a stream process that is down would."""

    class Forward(BaseHTTPRequestHandler):
        def _forward(self) -> None:
            if self.path.startswith("/api/v1/changes"):
                self.send_error(503, "stream unavailable")
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            upstream = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
            upstream.request(self.command, self.path, body=body, headers=headers)
            answer = upstream.getresponse()
            data = answer.read()
            self.send_response(answer.status)
            for name, value in answer.getheaders():
                if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            upstream.close()

        do_GET = do_POST = do_PATCH = do_DELETE = _forward

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Forward)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def token(bob: Any) -> str:
    return token_create(actor=None, user_id=bob.pk, name="canary test").secret


def nothing_left() -> None:
    assert not Event.objects.filter(title__startswith=SANDBOX_TITLE).exists()
    assert not WorkArea.objects.filter(name="Canary").exists()


def test_the_audit_passes_against_a_running_web_and_worker(tmp_path: Path, token: str) -> None:
    with web_processes(tmp_path) as (web,), worker_process(tmp_path / "worker.log"):
        report = run_audit(url=f"http://127.0.0.1:{web.port}", token=token, wait_s=WAIT_S)
    assert report.ok, [step for step in report.steps if not step.ok]
    assert [s.name for s in report.steps] == [
        "api", "stream", "create", "read back", "update", "work area", "changes", "history", "worker", "clean up",
    ]  # fmt: skip
    nothing_left()


def test_the_command_makes_and_revokes_its_own_token_and_fails_without_a_worker(
    tmp_path: Path, db: Any
) -> None:
    out = StringIO()
    with web_processes(tmp_path) as (web,):
        started = time.monotonic()
        with pytest.raises(CommandError, match="canary audit failed"):
            call_command("audit", url=f"http://127.0.0.1:{web.port}", wait=3.0, stdout=out)
    text = out.getvalue()
    assert "FAIL worker" in text and "is `crewcall worker` running?" in text, text
    assert "ok   changes" in text and "ok   clean up" in text, text
    assert time.monotonic() - started < 60  # stops by itself
    # Its token was revoked; its account cannot sign in to the pages.
    tokens = ApiToken.objects.filter(user__username="canary")
    assert tokens.count() == 1 and tokens.get().revoked_at is not None
    assert not tokens.get().user.has_usable_password()
    nothing_left()


def test_the_audit_fails_clearly_when_the_stream_is_unreachable(tmp_path: Path, token: str) -> None:
    with web_processes(tmp_path) as (web,), proxy_without_stream(web.port) as port:
        report = run_audit(url=f"http://127.0.0.1:{port}", token=token, wait_s=WAIT_S)
    assert not report.ok
    failed = [s for s in report.steps if not s.ok]
    assert [s.name for s in failed] == ["stream"], report.as_dict()
    assert "503" in failed[0].detail
    nothing_left()


def test_a_refused_token_fails_the_first_step(tmp_path: Path, db: Any) -> None:
    with web_processes(tmp_path) as (web,):
        report = run_audit(url=f"http://127.0.0.1:{web.port}", token="cc_not-a-token", wait_s=1.0)
    assert [(s.name, s.ok) for s in report.steps] == [("api", False)]
    assert "token was refused (401)" in report.steps[0].detail
