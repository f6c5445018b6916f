"""The change stream from one web process: commit -> client latency, fan-out, idle memory.

    .venv/bin/python bench/changes_stream.py [--latency-changes 300] [--fanout-subscribers 200]
        [--fanout-changes 200] [--idle-subscribers 500] [--idle-minutes 10] [--only PHASE]

Scratch database: the embedded server in CREWCALL_DATA_DIR (default .data/bench-stream),
database bench_stream (CREWCALL_DATABASE_NAME); DATABASE_URL is ignored. It migrates,
makes one staff user and a session for it, and one event per writer. Then it starts
`python -m crewcall web` on a free port of 127.0.0.1 (log: <data dir>/web-bench.log)
and runs, with aiohttp clients in this process:

- latency: one subscriber; single-row updates of an event, one transaction each, at
  about 20/s; for each, the time from the writer's COMMIT returning to the subscriber
  parsing the event (p50/p95/p99/max);
- fanout: N subscribers; a burst of M single-row commits as fast as one writer goes;
  delivered events per second over all subscribers (N x M / time from the first commit
  to the last subscriber's last event), and how long the last subscriber lagged;
- idle: K idle subscribers plus one that opens the stream and never reads, for the
  given minutes, while a writer commits one change per second; the web process's RSS
  before, at the end (max seen) and after everyone disconnected.

Everything goes to 127.0.0.1 and every phase is bounded in time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import date
from datetime import time as clock
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scratch import ROOT, connect, use_scratch_database

use_scratch_database("bench-stream", "bench_stream")

import aiohttp  # noqa: E402
import psycopg  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from crewcall.accounts.models import User  # noqa: E402
from crewcall.events.models import Event  # noqa: E402
from crewcall.events.services import event_create  # noqa: E402

PHASE_BOUND_S = 120.0
CONTEXT = json.dumps(
    {"user": None, "username": "", "source": "cli", "request_id": "bench", "action": "bench"}
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare(writers: int) -> tuple[str, list[int]]:
    call_command("migrate", verbosity=0)
    user, _ = User.objects.get_or_create(username="bench", defaults={"is_staff": True, "role": "admin"})
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    events = list(Event.objects.filter(title__startswith="Stream bench").values_list("pk", flat=True))
    while len(events) < writers:
        event = event_create(
            actor=None, title=f"Stream bench {len(events) + 1}", event_date=date(2030, 1, 1),
            start_time=clock(18), end_time=clock(23), employees_needed=1, employees_to_ask=1,
            hourly_rate=Decimal("15.00"),
        )  # fmt: skip
        events.append(event.pk)
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}", events


def commit_update(conn: psycopg.Connection, event_id: int, n: int) -> int:
    """One committed update; returns the event's new version."""
    with conn.transaction():
        conn.execute("SELECT set_config('pghistory.context_metadata', %s, true)", [CONTEXT])
        row = conn.execute(
            "UPDATE events_event SET description = %s WHERE id = %s RETURNING version",
            [f"bench {n}", event_id],
        ).fetchone()
    if row is None:
        raise SystemExit(f"event {event_id} is gone")
    return int(row[0])


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Server:
    def __init__(self, processes: int = 1) -> None:
        self.port = free_port()
        log = Path(settings.DATA_DIR) / "web-bench.log"
        command = [
            sys.executable,
            "-m",
            "crewcall",
            "web",
            "--port",
            str(self.port),
            "--workers",
            str(processes),
        ]
        with log.open("ab") as out:
            self.process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
        began = time.monotonic()
        while time.monotonic() - began < 60:
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            time.sleep(0.2)
        raise SystemExit(f"the web server did not start; see {log}")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


async def subscribe(
    session: aiohttp.ClientSession, url: str, on_event, ready: asyncio.Event | None = None
) -> None:  # type: ignore[no-untyped-def]
    """Reads whole chunks and splits them into events (line-by-line reading made the
    client, not the server, the bottleneck with 1,000 streams in one process)."""
    async with session.get(url) as response:
        response.raise_for_status()
        if ready is not None:
            ready.set()
        buffer = b""
        async for chunk in response.content.iter_any():
            buffer += chunk
            *frames, buffer = buffer.split(b"\n\n")
            for frame in frames:
                for line in frame.split(b"\n"):
                    if line.startswith(b"data: "):
                        on_event(json.loads(line[6:]))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def phase_latency(server: Server, cookie: str, event_id: int, count: int) -> None:
    committed: dict[int, float] = {}
    latencies: list[float] = []
    done = asyncio.Event()

    def on_event(change: dict[str, object]) -> None:
        if change.get("table") == "events_event" and change.get("id") == event_id:
            sent = committed.get(int(change["version"]))  # type: ignore[call-overload]
            if sent is not None:
                latencies.append(time.monotonic() - sent)
                if len(latencies) >= count:
                    done.set()

    def write() -> None:
        with connect() as conn:
            for n in range(count):
                began = time.monotonic()
                version = commit_update(conn, event_id, n)
                committed[version] = time.monotonic()
                time.sleep(max(0.0, 0.05 - (time.monotonic() - began)))

    async with aiohttp.ClientSession(headers={"Cookie": cookie}) as session:
        ready = asyncio.Event()
        task = asyncio.create_task(
            subscribe(session, f"http://127.0.0.1:{server.port}/api/v1/changes", on_event, ready)
        )
        await asyncio.wait_for(ready.wait(), 30)
        await asyncio.sleep(1.0)
        await asyncio.to_thread(write)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), PHASE_BOUND_S)
        task.cancel()
    ms = [x * 1000 for x in latencies]
    print(
        f"latency: {len(ms)}/{count} changes delivered; commit -> client p50 {pct(ms, 0.5):.0f} ms, "
        f"p95 {pct(ms, 0.95):.0f} ms, p99 {pct(ms, 0.99):.0f} ms, max {max(ms):.0f} ms "
        f"(poll interval {settings.CHANGES_POLL_S} s)",
        flush=True,
    )


async def phase_fanout(server: Server, cookie: str, event_id: int, subscribers: int, changes: int) -> None:
    got = [0] * subscribers
    last_at = [0.0] * subscribers
    done = asyncio.Event()
    finished = 0

    def handler(n: int):  # type: ignore[no-untyped-def]
        def on_event(change: dict[str, object]) -> None:
            nonlocal finished
            if change.get("id") == event_id and change.get("table") == "events_event":
                got[n] += 1
                last_at[n] = time.monotonic()
                if got[n] == changes:
                    finished += 1
                    if finished == subscribers:
                        done.set()

        return on_event

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(headers={"Cookie": cookie}, connector=connector) as session:
        readies = [asyncio.Event() for _ in range(subscribers)]
        url = f"http://127.0.0.1:{server.port}/api/v1/changes?event={event_id}"
        tasks = [
            asyncio.create_task(subscribe(session, url, handler(n), readies[n])) for n in range(subscribers)
        ]
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 60)
        await asyncio.sleep(1.0)
        began = time.monotonic()

        def write() -> float:
            with connect() as conn:
                for n in range(changes):
                    commit_update(conn, event_id, n)
            return time.monotonic()

        wrote = await asyncio.to_thread(write)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), PHASE_BOUND_S)
        for task in tasks:
            task.cancel()
    total = sum(got)
    span = max(last_at) - began
    print(
        f"fanout: {subscribers} subscribers x {changes} commits: {total}/{subscribers * changes} events "
        f"delivered in {span:.2f} s = {total / span:.0f} events/s; writing took {wrote - began:.2f} s, "
        f"the last subscriber finished {max(last_at) - wrote:.2f} s after the last commit",
        flush=True,
    )


async def phase_load(server: Server, cookie: str, event_id: int, subscribers: int, changes: int,
                     rate: float) -> None:  # fmt: skip
    """`subscribers` streams while one writer commits `changes` updates at `rate` per second:
    commit -> client latency over every (subscriber, change) pair, and messages per second."""
    committed: dict[int, float] = {}
    latencies: list[float] = []
    received = 0
    first_commit = last_receive = 0.0
    done = asyncio.Event()

    def on_event(change: dict[str, object]) -> None:
        nonlocal received, last_receive
        if change.get("table") == "events_event" and change.get("id") == event_id:
            now = time.monotonic()
            sent = committed.get(int(change["version"]))  # type: ignore[call-overload]
            if sent is not None:
                latencies.append(now - sent)
                received += 1
                last_receive = now
                if received >= subscribers * changes:
                    done.set()

    def write() -> None:
        nonlocal first_commit
        with connect() as conn:
            first_commit = time.monotonic()
            for n in range(changes):
                due = first_commit + n / rate
                time.sleep(max(0.0, due - time.monotonic()))
                version = commit_update(conn, event_id, n)
                committed[version] = time.monotonic()

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(headers={"Cookie": cookie}, connector=connector) as session:
        readies = [asyncio.Event() for _ in range(subscribers)]
        url = f"http://127.0.0.1:{server.port}/api/v1/changes"
        tasks = [
            asyncio.create_task(subscribe(session, url, on_event, readies[n])) for n in range(subscribers)
        ]
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 120)
        await asyncio.sleep(2.0)
        await asyncio.to_thread(write)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), PHASE_BOUND_S)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    ms = [x * 1000 for x in latencies]
    span = last_receive - first_commit
    print(
        f"load: {subscribers} subscribers, {changes} commits at {rate:g}/s: "
        f"{received}/{subscribers * changes} messages in {span:.1f} s = {received / span:.0f} messages/s; "
        f"commit -> client p50 {pct(ms, 0.5):.0f} ms, "
        f"p95 {pct(ms, 0.95):.0f} ms, p99 {pct(ms, 0.99):.0f} ms, max {max(ms):.0f} ms "
        f"(poll {settings.CHANGES_POLL_S} s)",
        flush=True,
    )


async def phase_idle(server: Server, cookie: str, event_id: int, subscribers: int, minutes: float) -> None:
    pid = server.process.pid
    before = rss_kib(pid)
    seen = before
    stop = threading.Event()

    def trickle() -> None:
        with connect() as conn:
            n = 0
            while not stop.wait(1.0):
                commit_update(conn, event_id, n)
                n += 1

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(headers={"Cookie": cookie}, connector=connector) as session:
        readies = [asyncio.Event() for _ in range(subscribers)]
        url = f"http://127.0.0.1:{server.port}/api/v1/changes"
        tasks = [
            asyncio.create_task(subscribe(session, url, lambda c: None, readies[n]))
            for n in range(subscribers)
        ]
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 120)
        # The one that never reads: a raw socket that sends the request and nothing more.
        stuck = socket.create_connection(("127.0.0.1", server.port))
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stuck.sendall(f"GET /api/v1/changes HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n\r\n".encode())
        writer = threading.Thread(target=trickle)
        writer.start()
        connected = rss_kib(pid)
        ends = time.monotonic() + minutes * 60
        while time.monotonic() < ends:
            await asyncio.sleep(5)
            seen = max(seen, rss_kib(pid))
        stop.set()
        writer.join()
        end_rss = rss_kib(pid)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        stuck.close()
    await asyncio.sleep(5)
    after = rss_kib(pid)
    print(
        f"idle: {subscribers} subscribers + 1 that never reads, {minutes:g} min, one commit a second: "
        f"RSS before {before / 1024:.1f} MiB, all connected {connected / 1024:.1f} MiB, "
        f"at the end {end_rss / 1024:.1f} MiB (max seen {seen / 1024:.1f} MiB), "
        f"5 s after all disconnected {after / 1024:.1f} MiB",
        flush=True,
    )


def run(coroutine) -> None:  # type: ignore[no-untyped-def]
    """The clients' event loop: uvloop when installed (as for the server)."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(coroutine)
    else:
        uvloop.run(coroutine)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--latency-changes", type=int, default=300)
    parser.add_argument("--fanout-subscribers", type=int, default=200)
    parser.add_argument("--fanout-changes", type=int, default=200)
    parser.add_argument("--web-processes", type=int, default=1, help="`crewcall web --workers`")
    parser.add_argument("--load-subscribers", type=int, default=1000)
    parser.add_argument("--load-changes", type=int, default=100)
    parser.add_argument("--load-rate", type=float, default=10.0, help="commits per second")
    parser.add_argument("--idle-subscribers", type=int, default=500)
    parser.add_argument("--idle-minutes", type=float, default=10.0)
    parser.add_argument(
        "--idle-rounds", type=int, default=1, help="connect, idle, disconnect this often (a leak would grow)"
    )
    parser.add_argument("--only", choices=("latency", "fanout", "load", "idle"), action="append")
    args = parser.parse_args()
    phases = args.only or ["latency", "fanout", "load", "idle"]
    cookie, events = prepare(writers=1)
    connection.close()
    server = Server(args.web_processes)
    print(
        f"{os.cpu_count()} CPUs; web on 127.0.0.1:{server.port}; poll {settings.CHANGES_POLL_S} s", flush=True
    )
    try:
        if "latency" in phases:
            run(phase_latency(server, cookie, events[0], args.latency_changes))
        if "fanout" in phases:
            run(phase_fanout(server, cookie, events[0], args.fanout_subscribers, args.fanout_changes))
        if "load" in phases:
            run(
                phase_load(
                    server, cookie, events[0], args.load_subscribers, args.load_changes, args.load_rate
                )
            )
        if "idle" in phases:
            for _ in range(args.idle_rounds):
                run(phase_idle(server, cookie, events[0], args.idle_subscribers, args.idle_minutes))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
