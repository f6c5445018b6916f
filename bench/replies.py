"""Benchmark inbound WhatsApp replies against the real web server (target: 300/s).

    .venv/bin/python bench/replies.py [--rate 300] [--concurrency 32] [--events 20]
        [--duplicates 200] [--conn-max-age 0] [--web-processes 1] [--apply-concurrency 2]
        [--apply-after]

Same scratch database as bench/ask.py (embedded server in .data/bench-flow, database
bench_flow). For each scenario the data is regenerated: 2,000 employees, each with one
open invitation (so a plain "ja" resolves), then the real server is started
(`python -m crewcall web` on a free port of 127.0.0.1, CREWCALL_PUBLIC_URL pointing at it),
one signed webhook POST per employee is fired ("ja" / "nein" / "👍", a unique MessageSid
each) from an asyncio + aiohttp client pool (keep-alive connections, at most
--concurrency in flight, paced at --rate per second). The webhook only keeps each
message and queues its application; the apply worker (`python -m crewcall worker
--queue inbound --concurrency N`) runs alongside, or with --apply-after only once the
burst is over (to measure receiving alone). The run ends when every message is applied.

Scenarios:

- spread: the invitations over --events events (100 each for 20), so few replies wait
  for the same event row lock;
- one event: all 2,000 invitations on one event: every reply takes the same lock;
- duplicates: like "spread", plus --duplicates requests re-sent with the same MessageSid
  (half right after the original, half at the end): they must change nothing.

Prints achieved requests/s, latency percentiles (service time: from sending the request;
and from its scheduled time, which includes waiting for a free client slot), how long
until all were applied (replies/s end to end), errors, and
checks afterwards that every reply was applied exactly once: one InboundMessage per
MessageSid, outcome `applied`, every invitation answered, acceptances within
employees_needed and equal to min(needed, yes replies) per event, one reply message
queued per inbound message.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


PORT = _free_port()
os.environ["CREWCALL_PUBLIC_URL"] = f"http://127.0.0.1:{PORT}"
sys.path.insert(0, str(Path(__file__).resolve().parent))

# bench/ask.py sets up Django on the same scratch database and holds the data helpers.
import aiohttp  # noqa: E402
from ask import ensure_employees, new_event  # noqa: E402
from scratch import stop_process  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count, Q  # noqa: E402
from twilio.request_validator import RequestValidator  # noqa: E402

from crewcall.events.models import Event  # noqa: E402
from crewcall.messaging.models import InboundMessage, OutboundMessage  # noqa: E402
from crewcall.people.models import Employee  # noqa: E402
from crewcall.staffing.models import Invitation  # noqa: E402

PATH = "/webhooks/twilio/whatsapp"
BODIES = ("ja", "ja", "nein", "👍")  # half "ja", a quarter "nein", a quarter "👍"
YES = {"ja", "👍"}
SERVER_START_BOUND_S = 60.0
RUN_BOUND_S = 300.0


@dataclass
class Request:
    sid: str
    employee_id: int
    body: str
    params: dict[str, str]
    signature: str


@dataclass
class Outcome:
    latencies: list[float] = field(default_factory=list)  # from send
    waits: list[float] = field(default_factory=list)  # from scheduled time
    errors: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0


def prepare(employees: int, events: int, needed_per_event: int) -> list[tuple[int, str]]:
    """Fresh data: `employees` employees, each with one open invitation, over `events` events."""
    ensure_employees(employees, reload=True)
    people = list(Employee.objects.order_by("pk").values_list("pk", "phone_number"))
    per_event = -(-len(people) // events)
    for n in range(events):
        event = new_event(f"Bench replies {n + 1}", needed=needed_per_event, to_ask=per_event, days_ahead=20)
        Invitation.objects.bulk_create(
            [
                Invitation(event=event, employee_id=pk, wave=1)
                for pk, _ in people[n * per_event : (n + 1) * per_event]
            ]
        )
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    return people


def build_requests(people: list[tuple[int, str]], tag: str) -> list[Request]:
    validator = RequestValidator(settings.WEBHOOK_AUTH_TOKEN)
    url = settings.PUBLIC_URL + PATH
    requests = []
    for n, (pk, phone) in enumerate(people):
        sid = f"SM{tag}{n:030d}"
        body = BODIES[n % len(BODIES)]
        params = {"MessageSid": sid, "From": f"whatsapp:{phone}", "To": "whatsapp:+4930123456",
                  "Body": body, "NumMedia": "0"}  # fmt: skip
        requests.append(Request(sid, pk, body, params, validator.compute_signature(url, params)))
    return requests


def start_server(env_extra: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, **env_extra}
    command = [sys.executable, "-m", "crewcall", "web", "--host", "127.0.0.1", "--port", str(PORT)]
    with log.open("ab") as out:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
    began = time.monotonic()
    while time.monotonic() - began < SERVER_START_BOUND_S:
        if server.poll() is not None:
            raise SystemExit(f"the web server exited with {server.returncode}; see {log}")
        try:
            with socket.create_connection(("127.0.0.1", PORT), timeout=0.5):
                return server
        except OSError:
            time.sleep(0.2)
    stop_server(server)
    raise SystemExit(f"the web server did not listen within {SERVER_START_BOUND_S:.0f} s; see {log}")


def start_worker(concurrency: int, log: Path) -> subprocess.Popen[bytes]:
    """The apply side: `crewcall worker --queue inbound`."""
    command = [sys.executable, "-m", "crewcall", "worker", "--queue", "inbound"]
    command += ["--concurrency", str(concurrency)]
    with log.open("ab") as out:
        return subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603


def wait_applied(expected: int, began: float) -> float:
    """Seconds from `began` until every inbound message is applied (bounded)."""
    while time.monotonic() - began < RUN_BOUND_S:
        if InboundMessage.objects.filter(outcome="pending").count() == 0 and (
            InboundMessage.objects.count() >= expected
        ):
            connection.close()
            return time.monotonic() - began
        connection.close()
        time.sleep(0.2)
    return float("nan")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    stop_process(server)


async def fire(requests: list[Request], *, rate: float, concurrency: int) -> Outcome:
    """Send each request at its scheduled time (i / rate), at most `concurrency` in flight."""
    outcome = Outcome()
    slots = asyncio.Semaphore(concurrency)
    url = settings.PUBLIC_URL + PATH
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    timeout = aiohttp.ClientTimeout(total=30)

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        began = time.perf_counter()

        async def one(n: int, request: Request) -> None:
            scheduled = began + n / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            async with slots:
                sent = time.perf_counter()
                try:
                    async with session.post(
                        url, data=request.params, headers={"X-Twilio-Signature": request.signature}
                    ) as response:
                        await response.read()
                        if response.status != 200:
                            outcome.errors[f"HTTP {response.status}"] += 1
                except (aiohttp.ClientError, TimeoutError) as exc:
                    outcome.errors[type(exc).__name__] += 1
                done = time.perf_counter()
                outcome.latencies.append(done - sent)
                outcome.waits.append(done - scheduled)

        await asyncio.wait_for(
            asyncio.gather(*(one(n, r) for n, r in enumerate(requests))), timeout=RUN_BOUND_S
        )
        outcome.seconds = time.perf_counter() - began
    return outcome


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def verify(requests: list[Request], sent: int) -> list[str]:
    """Every reply applied exactly once; returns the problems found (empty: all good)."""
    problems = []
    sids = {r.sid for r in requests}
    inbound = InboundMessage.objects.count()
    if inbound != len(sids):
        problems.append(f"{inbound} inbound rows for {len(sids)} MessageSids ({sent} requests)")
    outcomes = dict(
        InboundMessage.objects.values_list("outcome").annotate(n=Count("id")).values_list("outcome", "n")
    )
    if outcomes != {"applied": len(sids)}:
        problems.append(f"outcomes {outcomes}")
    replies = OutboundMessage.objects.filter(intent_key__startswith="reply:").count()
    if replies != len(sids):
        problems.append(f"{replies} reply messages queued for {len(sids)} inbound")
    asked = Invitation.objects.filter(status="asked").count()
    if asked:
        problems.append(f"{asked} invitations still unanswered")
    body_of = {r.employee_id: r.body for r in requests}
    expected_no = sum(1 for b in body_of.values() if b not in YES)
    declined = Invitation.objects.filter(status="declined").count()
    if declined != expected_no:
        problems.append(f"{declined} declined, expected {expected_no}")
    yes_by_event: Counter[int] = Counter()
    for event_id, employee_id in Invitation.objects.values_list("event_id", "employee_id"):
        if body_of.get(employee_id) in YES:
            yes_by_event[event_id] += 1
    per_event = Event.objects.annotate(
        accepted=Count("invitations", filter=Q(invitations__status="accepted")),
        waitlisted=Count("invitations", filter=Q(invitations__status="waitlisted")),
    )
    for event in per_event:
        yes = yes_by_event[event.pk]
        if event.accepted != min(event.employees_needed, yes) or event.accepted + event.waitlisted != yes:
            problems.append(
                f"{event.title}: {event.accepted} accepted + {event.waitlisted} waitlisted "
                f"for {yes} yes and {event.employees_needed} places"
            )
    return problems


def scenario(name: str, args: argparse.Namespace, *, events: int, duplicates: int) -> None:
    # The same places in total whatever the spread: --needed per event of --events.
    people = prepare(args.employees, events, args.needed * args.events // events)
    requests = build_requests(people, tag=f"{int(time.time()) % 100000:05d}")
    traffic = list(requests)
    if duplicates:
        half = duplicates // 2
        early = requests[: duplicates - half]
        for n, request in enumerate(early):  # right after the original
            traffic.insert(2 * n + 1, request)
        traffic.extend(requests[-half:] if half else [])  # long after the original
    log = ROOT / ".data" / "bench-flow" / "web-bench.log"
    connection.close()  # no idle connection of ours during the run
    env = {
        "CREWCALL_CONN_MAX_AGE": str(args.conn_max_age),
        "CREWCALL_WEB_PROCESSES": str(args.web_processes),
    }
    if args.conn_max_age:
        env["CREWCALL_DB_POOL_SIZE"] = "0"  # persistent connections instead of the pool
    server = start_server(env, log)
    worker = None if args.apply_after else start_worker(args.apply_concurrency, log)
    try:
        began = time.monotonic()
        outcome = asyncio.run(fire(traffic, rate=args.rate, concurrency=args.concurrency))
        if worker is None:  # the burst only kept the messages; now apply them
            began = time.monotonic()
            worker = start_worker(args.apply_concurrency, log)
        applied_after = wait_applied(len(requests), began)
    finally:
        stop_server(server)
        if worker is not None:
            stop_server(worker)
    problems = verify(requests, len(traffic))
    lat = outcome.latencies
    print(
        f"{name}: {len(traffic)} requests ({len(traffic) - len(requests)} duplicates) over {events} event(s) "
        f"in {outcome.seconds:.1f} s = {len(traffic) / outcome.seconds:.0f} requests/s "
        f"(target {args.rate:.0f}/s, {args.concurrency} in flight max)\n"
        f"  latency from send: p50 {percentile(lat, 0.5) * 1000:.0f} ms, "
        f"p95 {percentile(lat, 0.95) * 1000:.0f} ms, "
        f"p99 {percentile(lat, 0.99) * 1000:.0f} ms, mean {statistics.mean(lat) * 1000:.0f} ms; "
        f"from schedule: p50 {percentile(outcome.waits, 0.5) * 1000:.0f} ms, "
        f"p99 {percentile(outcome.waits, 0.99) * 1000:.0f} ms\n"
        f"  applied (worker, concurrency {args.apply_concurrency}): all {len(requests)} within "
        f"{applied_after:.1f} s of the {'worker start' if args.apply_after else 'first request'} = "
        f"{len(requests) / applied_after:.0f} replies/s end to end\n"
        f"  errors: {dict(outcome.errors) or 0}; "
        f"check: {'; '.join(problems) or 'every reply applied exactly once'}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--employees", type=int, default=2000)
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--needed", type=int, default=60, help="places per event (spread scenarios)")
    parser.add_argument("--rate", type=float, default=300.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duplicates", type=int, default=200)
    parser.add_argument("--conn-max-age", type=int, default=0, help="the server's CREWCALL_CONN_MAX_AGE")
    parser.add_argument("--web-processes", type=int, default=1, help="`crewcall web --workers`")
    parser.add_argument(
        "--apply-after", action="store_true", help="start the apply worker after the burst (receiving alone)"
    )
    parser.add_argument("--apply-concurrency", type=int, default=2, help="the apply worker's --concurrency")
    parser.add_argument("--only", choices=("spread", "one", "duplicates"), action="append")
    args = parser.parse_args()
    chosen = args.only or ["spread", "one", "duplicates"]
    print(
        f"{os.cpu_count()} CPUs; server on {settings.PUBLIC_URL} ({args.web_processes} process(es)); "
        f"CONN_MAX_AGE {args.conn_max_age}",
        flush=True,
    )
    if "spread" in chosen:
        scenario("spread", args, events=args.events, duplicates=0)
    if "one" in chosen:
        scenario("one event", args, events=1, duplicates=0)
    if "duplicates" in chosen:
        scenario("duplicates", args, events=args.events, duplicates=args.duplicates)


if __name__ == "__main__":
    main()
