"""Benchmark asking 1,000 people at once and sending their 1,000 WhatsApp messages.

    .venv/bin/python bench/ask.py [--runs 3] [--count 1000] [--no-worker] [--reload]

Uses a scratch database: the embedded server in CREWCALL_DATA_DIR (default
.data/bench-flow) and a database named bench_flow (CREWCALL_DATABASE_NAME). It refuses a
database holding employees it did not generate. DATABASE_URL is ignored (unset here).

Loads (once) 1,200 active employees with roles and unique +49151… numbers. Then, per run,
a fresh event in recruiting (needed 500, to ask 1,000, one work area without role
requirements) and times:

- `event_ask(actor=None, event_id, count=1000)`: picker, 1,000 invitations, 1,000
  outbound messages and 1,000 deferred send jobs in one transaction;
- sending those 1,000 messages through the simulator provider by calling
  `crewcall.messaging.tasks.deliver(message_id)` in a loop (in this process).

Then, unless --no-worker, one more ask whose messages are sent by the real worker
(`python -m crewcall worker --queue messages`, a subprocess) until all are sent or 120 s
have passed; the worker is stopped either way. Prints the median of each figure.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from datetime import time as clock
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.pop("DATABASE_URL", None)
os.environ.setdefault("CREWCALL_DATA_DIR", str(ROOT / ".data" / "bench-flow"))
os.environ.setdefault("CREWCALL_DATABASE_NAME", "bench_flow")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crewcall.settings")
os.environ.setdefault("CREWCALL_LOG_LEVEL", "WARNING")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# The simulator's "delivered" callbacks (jobs the worker runs) go to PUBLIC_URL: point it
# at a closed port on this machine, never at a server someone else runs on :8000.
os.environ.setdefault("CREWCALL_PUBLIC_URL", f"http://127.0.0.1:{_free_port()}")
sys.path.insert(0, str(ROOT / "src"))

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from crewcall.core.roles import as_owner  # noqa: E402
from crewcall.events.models import Event, EventStatus, WorkArea  # noqa: E402
from crewcall.messaging.models import DeliveryStatus, OutboundMessage  # noqa: E402
from crewcall.messaging.tasks import deliver  # noqa: E402
from crewcall.people.models import Employee, Role  # noqa: E402
from crewcall.staffing.asking import event_ask  # noqa: E402

NAME_PREFIX = "Flow employee "
ROLES = ("waiter", "bartender", "cook", "runner", "host")
# people_linkkey keeps its one row (a trigger refuses emptying it; people 0006).
KEEP_TABLES = {"django_migrations", "django_content_type", "auth_permission", "people_linkkey"}
WORKER_BOUND_S = 120.0


def reset_tables() -> None:
    """Empty every application table of this scratch database (schema stays)."""
    with as_owner(), connection.cursor() as cur:  # emptying tables is the owner's right
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        tables = sorted(name for (name,) in cur.fetchall() if name not in KEEP_TABLES)
        cur.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")


def ensure_employees(employees: int, *, reload: bool = False) -> None:
    """Migrate, refuse foreign data, and (re)load exactly `employees` bench employees."""
    call_command("migrate", verbosity=0)
    if Employee.objects.exclude(name__startswith=NAME_PREFIX).exists():
        raise SystemExit("This database holds employees that are not benchmark data; use a scratch database.")
    if not reload and Employee.objects.filter(is_active=True).count() == employees:
        return
    began = time.perf_counter()
    reset_tables()
    with transaction.atomic():
        roles = Role.objects.bulk_create([Role(key=key, name=key.title()) for key in ROLES])
        Employee.objects.bulk_create(
            [
                Employee(
                    name=f"{NAME_PREFIX}{n}",
                    phone_number=f"+49151{n:08d}",
                    primary_role=roles[n % len(roles)],
                    employment_type="freelance",
                    is_active=True,
                )
                for n in range(1, employees + 1)
            ],
            batch_size=1000,
        )
    with as_owner(), connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE")
    print(f"Loaded {employees:,} employees in {time.perf_counter() - began:.1f} s", flush=True)


def new_event(title: str, *, needed: int, to_ask: int, days_ahead: int = 20) -> Event:
    with transaction.atomic():
        event = Event.objects.create(
            title=title,
            event_date=timezone.localdate() + timedelta(days=days_ahead),
            start_time=clock(18, 0),
            end_time=clock(23, 0),
            hourly_rate=15,
            employees_needed=needed,
            employees_to_ask=to_ask,
            status=EventStatus.DRAFT,  # a new event starts as a draft (database rule)
        )
        Event.objects.filter(pk=event.pk).update(status=EventStatus.RECRUITING)
        WorkArea.objects.create(event=event, name="Floor", max_capacity=needed, role_requirements={})
    return event


def time_ask(event: Event, count: int) -> tuple[float, list[int]]:
    began = time.perf_counter()
    result = event_ask(actor=None, event_id=event.pk, count=count)
    seconds = time.perf_counter() - began
    ids = list(
        OutboundMessage.objects.filter(invitation__event_id=event.pk)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if len(result.invitations) != count or len(ids) != count:
        raise SystemExit(f"asked {len(result.invitations)}, {len(ids)} messages; expected {count}")
    return seconds, ids


def time_deliver_loop(ids: list[int]) -> float:
    began = time.perf_counter()
    outcomes = [deliver(pk) for pk in ids]
    seconds = time.perf_counter() - began
    sent = OutboundMessage.objects.filter(pk__in=ids, status=DeliveryStatus.SENT).count()
    if sent != len(ids) or set(outcomes) != {"sent"}:
        raise SystemExit(f"deliver loop: {sent} of {len(ids)} sent, outcomes {sorted(set(outcomes))}")
    return seconds


def time_worker(ids: list[int]) -> tuple[float, int]:
    """Run the real worker until every message is sent (bounded); returns (seconds, sent)."""
    # Only this ask's send jobs are due: the loop's jobs (their messages already sent) and
    # the simulator's callback jobs of earlier runs are dropped, so the worker's time is
    # spent on these 1,000 sends.
    with connection.cursor() as cur:
        cur.execute(
            "DELETE FROM procrastinate_jobs WHERE status = 'todo'"
            " AND NOT (task_name = 'messaging.send_message' AND (args->>'message_id')::bigint = ANY(%s))",
            [ids],
        )
    connection.close()  # the worker takes its own connections
    command = [sys.executable, "-m", "crewcall", "worker", "--queue", "messages"]
    began = time.perf_counter()
    worker = subprocess.Popen(command, cwd=ROOT, env=os.environ.copy(), stdout=subprocess.DEVNULL)  # noqa: S603
    sent = 0
    try:
        while time.perf_counter() - began < WORKER_BOUND_S:
            sent = OutboundMessage.objects.filter(pk__in=ids, status=DeliveryStatus.SENT).count()
            if sent == len(ids) or worker.poll() is not None:
                break
            time.sleep(0.2)
        seconds = time.perf_counter() - began
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=5)
    return seconds, sent


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--employees", type=int, default=1200)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-worker", action="store_true", help="skip the real worker run")
    parser.add_argument("--reload", action="store_true", help="drop and regenerate the data")
    args = parser.parse_args()
    ensure_employees(args.employees, reload=args.reload)
    with connection.cursor() as cur:
        cur.execute("SELECT version()")
        print(f"Server: {cur.fetchone()[0].split(' on ')[0]}; {os.cpu_count()} CPUs")
    # Events of earlier runs would make the picker see everyone as busy that day.
    Event.objects.filter(status=EventStatus.RECRUITING).update(status=EventStatus.CANCELLED)
    asks, sends = [], []
    for run in range(1, args.runs + 1):
        event = new_event(f"Bench ask {run} {time.time():.0f}", needed=500, to_ask=1000, days_ahead=20 + run)
        ask_s, ids = time_ask(event, args.count)
        send_s = time_deliver_loop(ids)
        asks.append(ask_s)
        sends.append(len(ids) / send_s)
        print(
            f"run {run}: ask {args.count} in {ask_s:.2f} s; "
            f"deliver() loop {send_s:.2f} s = {len(ids) / send_s:.0f} messages/s",
            flush=True,
        )
    print(
        f"median over {args.runs} runs: ask {statistics.median(asks):.2f} s "
        f"({args.count / statistics.median(asks):.0f} invitations/s); "
        f"deliver() loop {statistics.median(sends):.0f} messages/s"
    )
    if not args.no_worker:
        event = new_event(f"Bench ask worker {time.time():.0f}", needed=500, to_ask=1000, days_ahead=30)
        ask_s, ids = time_ask(event, args.count)
        seconds, sent = time_worker(ids)
        state = "all sent" if sent == len(ids) else f"only {sent} sent (bound {WORKER_BOUND_S:.0f} s)"
        print(
            f"worker (concurrency 1, incl. start-up): {sent} messages in {seconds:.1f} s = "
            f"{sent / seconds:.0f} messages/s; {state}"
        )


if __name__ == "__main__":
    main()
