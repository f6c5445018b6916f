"""Benchmark: how long a reply waits to be applied while a 1,000-person ask is being sent.

    .venv/bin/python bench/reply_latency.py [--ask 1000] [--replies 150] [--rate 5]
        [--rounds 1] [--layout lanes --layout single]

Same scratch database as bench/ask.py (embedded server in .data/bench-flow, database
bench_flow). Per run: fresh data (the asked employees plus --replies employees with one
open invitation each, on another event), then the real `crewcall web` and `crewcall worker`
start (simulator provider: each send also queues its "delivered" callback job, which posts
to the web server), and:

1. `event_ask` asks --ask people in one transaction: --ask messages and send jobs;
2. one second later, --replies signed WhatsApp webhooks ("ja" / "nein") arrive at --rate
   per second while the sends go out;
3. the run ends when every reply is applied and every invitation sent (bounded).

Latency of a reply: from its webhook being stored (`received_at`) to its application
committing (`updated_at` of the inbound row), both the database's clock. Printed per
layout: p50/p95/max latency, how long the 1,000 sends took, CPU seconds of the web and
worker processes and of PostgreSQL, and the load average. Layouts (the worker's
environment), run interleaved round by round:

- `lanes`: the default layout (replies lane on `inbound`, general lane on every queue);
- `single`: one lane on every queue with one slot, the worker before the lanes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

# replies.py sets up Django on the scratch database, a free port for the web server, and
# holds the webhook client.
import replies
from ask import ensure_employees, new_event
from django.db import connection, transaction

from crewcall.messaging.models import DeliveryStatus, InboundMessage, OutboundMessage
from crewcall.people.models import Employee
from crewcall.staffing.asking import event_ask
from crewcall.staffing.models import Invitation

ROOT = Path(__file__).resolve().parent.parent
LAYOUTS = {
    "lanes": {},  # the defaults
    "single": {"CREWCALL_WORKER_REPLIES_CONCURRENCY": "0", "CREWCALL_WORKER_CONCURRENCY": "1"},
}
RUN_BOUND_S = 600.0


def prepare(ask: int, replying: int) -> tuple[list[tuple[int, str]], int]:
    """Fresh data: repliers with one open invitation each; the rest to be asked."""
    ensure_employees(ask + replying, reload=True)
    people = list(Employee.objects.order_by("pk").values_list("pk", "phone_number"))
    repliers = people[:replying]
    event = new_event("Bench replies", needed=replying, to_ask=replying, days_ahead=30)
    Invitation.objects.bulk_create([Invitation(event=event, employee_id=pk, wave=1) for pk, _ in repliers])
    big = new_event("Bench big ask", needed=ask // 2, to_ask=ask, days_ahead=20)
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    return repliers, big.pk


def ask_everyone_else(event_id: int, repliers: list[tuple[int, str]], count: int) -> None:
    """The big ask: the repliers are left out (one open invitation each keeps a plain
    "ja" unambiguous)."""
    ids = [pk for pk, _ in repliers]
    with transaction.atomic():
        Employee.objects.filter(pk__in=ids).update(is_active=False)
    result = event_ask(actor=None, event_id=event_id, count=count)
    with transaction.atomic():
        Employee.objects.filter(pk__in=ids).update(is_active=True)
    if len(result.invitations) != count:
        raise SystemExit(f"asked {len(result.invitations)}, expected {count}")


def postgres_cpu_s() -> float:
    """CPU seconds of this machine's PostgreSQL server processes (whoever started them),
    with those of backends that have ended (counted to the postmaster, their parent)."""
    total = 0.0
    for process in psutil.process_iter(["name", "cpu_times"]):
        times = process.info["cpu_times"]
        if process.info["name"] in ("postgres", "postmaster") and times is not None:
            total += times.user + times.system + times.children_user + times.children_system
    return total


def children_cpu_s() -> float:
    times = os.times()
    return times.children_user + times.children_system


def wait_until(condition_sql: str, params: list[object], bound: float) -> float:
    began = time.monotonic()
    while time.monotonic() - began < bound:
        with connection.cursor() as cur:
            cur.execute(condition_sql, params)
            if cur.fetchone()[0]:
                connection.close()
                return time.monotonic() - began
        connection.close()
        time.sleep(0.2)
    return float("nan")


def run(layout: str, args: argparse.Namespace) -> dict[str, float]:
    repliers, big = prepare(args.ask, args.replies)
    requests = replies.build_requests(repliers, tag=f"{int(time.time() * 1000) % 10**9:09d}")
    log = ROOT / ".data" / "bench-flow" / "reply-latency.log"
    connection.close()
    cpu_children, cpu_pg = children_cpu_s(), postgres_cpu_s()
    server = replies.start_server({}, log)
    worker = replies.subprocess.Popen(
        [sys.executable, "-m", "crewcall", "worker"],
        cwd=ROOT,
        env={**os.environ, **LAYOUTS[layout]},
        stdout=log.open("ab"),
        stderr=replies.subprocess.STDOUT,
    )
    try:
        wait_until(
            "SELECT count(*) > 0 FROM procrastinate_workers WHERE last_heartbeat > now() - interval '5 s'",
            [],
            60,
        )
        began = time.monotonic()
        ask_everyone_else(big, repliers, args.ask)
        asked_in = time.monotonic() - began
        time.sleep(1.0)
        outcome = asyncio.run(replies.fire(requests, rate=args.rate, concurrency=8))
        applied_in = wait_until(
            "SELECT count(*) = %s FROM messaging_inboundmessage WHERE outcome <> 'pending'",
            [len(requests)],
            RUN_BOUND_S,
        )
        wait_until(
            "SELECT count(*) = 0 FROM messaging_outboundmessage WHERE status IN ('queued', 'sending')",
            [],
            RUN_BOUND_S,
        )
        sent_in = time.monotonic() - began
        load = os.getloadavg()
    finally:
        replies.stop_server(server)
        replies.stop_server(worker)
    cpu_children = children_cpu_s() - cpu_children
    cpu_pg = postgres_cpu_s() - cpu_pg
    latencies = [
        (m.updated_at - m.received_at).total_seconds()
        for m in InboundMessage.objects.exclude(outcome="pending").only("received_at", "updated_at")
    ]
    sent = OutboundMessage.objects.filter(status__in=[DeliveryStatus.SENT, DeliveryStatus.DELIVERED]).count()
    # The answer each reply got ("booked", "waitlisted" …) reaching the provider.
    with connection.cursor() as cur:
        cur.execute(ANSWER_SENT_SQL)
        answered = [float(row[0]) for row in cur.fetchall()]
    connection.close()
    figures = {
        "p50": replies.percentile(latencies, 0.5),
        "p95": replies.percentile(latencies, 0.95),
        "max": max(latencies),
        "mean": statistics.mean(latencies),
    }
    print(
        f"{layout:6}: {len(latencies)} replies at {args.rate:g}/s during an ask of {args.ask} "
        f"(asked in {asked_in:.1f} s; all sends done {sent_in:.0f} s after the ask, "
        f"{sent} sent or delivered)\n"
        f"        webhook stored -> reply applied: p50 {figures['p50'] * 1000:.0f} ms, "
        f"p95 {figures['p95'] * 1000:.0f} ms, max {figures['max'] * 1000:.0f} ms, mean "
        f"{figures['mean'] * 1000:.0f} ms; all applied {applied_in:.1f} s after the last webhook\n"
        f"        webhook stored -> answer sent: {answer_figures(answered)}\n"
        f"        webhook errors: {dict(outcome.errors) or 0}; CPU: web + worker {cpu_children:.1f} s, "
        f"PostgreSQL {cpu_pg:.1f} s; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
        flush=True,
    )
    return figures


ANSWER_SENT_SQL = """
    SELECT extract(epoch FROM o.sent_at - i.received_at)
    FROM messaging_outboundmessage o
    JOIN messaging_inboundmessage i ON o.intent_key = 'reply:' || i.id
    WHERE o.sent_at IS NOT NULL
"""


def answer_figures(seconds: list[float]) -> str:
    if not seconds:
        return "none sent"
    return (
        f"p50 {replies.percentile(seconds, 0.5) * 1000:.0f} ms, p95 "
        f"{replies.percentile(seconds, 0.95) * 1000:.0f} ms, max {max(seconds) * 1000:.0f} ms "
        f"({len(seconds)} answers)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--ask", type=int, default=1000)
    parser.add_argument("--replies", type=int, default=150)
    parser.add_argument("--rate", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--layout", choices=sorted(LAYOUTS), action="append")
    args = parser.parse_args()
    layouts = args.layout or ["lanes", "single"]
    print(
        f"{os.cpu_count()} CPUs; web on {replies.settings.PUBLIC_URL}; layouts {', '.join(layouts)}",
        flush=True,
    )
    results: dict[str, list[dict[str, float]]] = {name: [] for name in layouts}
    for _ in range(args.rounds):
        for name in layouts:  # interleaved: a slow moment of the machine hits both
            results[name].append(run(name, args))
    if args.rounds > 1:
        for name, runs in results.items():
            print(
                f"{name:6}: median of {len(runs)} rounds: p50 "
                f"{statistics.median(r['p50'] for r in runs) * 1000:.0f} ms, p95 "
                f"{statistics.median(r['p95'] for r in runs) * 1000:.0f} ms"
            )


if __name__ == "__main__":
    main()
