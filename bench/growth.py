"""How each table grows: rows per employee, per employee edit and per staffed event.

    .venv/bin/python bench/growth.py [--employees 60] [--events 10] [--ask 20] [--yes 12]

Scratch database: the embedded server in CREWCALL_DATA_DIR (default .data/bench-growth),
database bench_growth (CREWCALL_DATABASE_NAME); it refuses one holding employees it did
not create. DATABASE_URL is ignored.

Everything goes through the services, as the product does, in this process:

1. employees are created (`employee_create`), then each is edited once (`employee_update`);
2. per event: created with two work areas, set recruiting, `event_ask` for --ask people;
   every message is sent through the simulator provider (`deliver`) and reported
   delivered and read (`outbound_status_record`, what the status webhook calls); each
   person replies (`inbound_receive` with a Twilio-shaped request, then the apply job):
   --yes of them "ja", the rest "nein"; confirmations go out the same way; the accepted
   are placed, their hours recorded and approved, and the event completed. Every job the
   flow deferred is run through procrastinate's own SQL (fetched, then finished), so the
   queue's tables hold what a worker would leave.

Prints, per table, the rows added per employee, per edit and per event, and the bytes
per row (pg_total_relation_size / rows) at the end; docs/operations.md uses the figures.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from datetime import datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from scratch import use_scratch_database  # noqa: E402

use_scratch_database("bench-growth", "bench_growth")

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from crewcall.accounts.models import User  # noqa: E402
from crewcall.core.context import request_context  # noqa: E402
from crewcall.core.roles import as_owner  # noqa: E402
from crewcall.events.models import Event  # noqa: E402
from crewcall.events.services import assignment_create, event_create, event_transition, work_area_create  # noqa: E402
from crewcall.messaging.inbound import inbound_receive, outbound_status_record  # noqa: E402
from crewcall.messaging.models import OutboundMessage  # noqa: E402
from crewcall.messaging.tasks import apply_inbound, deliver  # noqa: E402
from crewcall.people.models import Employee, Role  # noqa: E402
from crewcall.people.services import employee_create, employee_update, role_create  # noqa: E402
from crewcall.staffing.asking import event_ask  # noqa: E402
from crewcall.staffing.models import Invitation  # noqa: E402
from crewcall.staffing.services import work_log_approve, work_log_create  # noqa: E402

PREFIX = "Growth person "


def tables() -> list[str]:
    with connection.cursor() as cur:
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
        return [name for (name,) in cur.fetchall()]


def counts() -> dict[str, int]:
    with connection.cursor() as cur:
        found = {}
        for table in tables():
            cur.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - names from the catalogue
            found[table] = int(cur.fetchone()[0])
        return found


def measure(step: Callable[[], None]) -> dict[str, int]:
    before = counts()
    step()
    after = counts()
    return {table: after[table] - before.get(table, 0) for table in after}


def run_deferred_jobs() -> None:
    """Take every waiting job and finish it as a worker would (started, then succeeded),
    through procrastinate's own functions: its triggers write the events."""
    with connection.cursor() as cur:
        cur.execute("SELECT worker_id FROM procrastinate_register_worker_v1()")
        worker = cur.fetchone()[0]
        while True:
            cur.execute("SELECT id FROM procrastinate_fetch_job_v2(NULL, %s)", [worker])
            row = cur.fetchone()
            if row is None or row[0] is None:
                break
            cur.execute("SELECT procrastinate_finish_job_v1(%s, 'succeeded', false)", [row[0]])
        cur.execute("SELECT procrastinate_unregister_worker_v1(%s)", [worker])


def send_all(dispatcher: User) -> None:
    for message in OutboundMessage.objects.filter(status="queued").order_by("pk"):
        deliver(message.pk)
        message.refresh_from_db()
        for status in ("delivered", "read"):
            outbound_status_record(provider_sid=str(message.provider_sid), status=status)


def twilio_request(phone: str, body: str, sid: str) -> dict[str, str]:
    return {
        "SmsMessageSid": sid, "NumMedia": "0", "ProfileName": "Growth Person", "MessageType": "text",
        "SmsSid": sid, "WaId": phone.lstrip("+"), "SmsStatus": "received", "Body": body,
        "To": "whatsapp:+4930123456", "NumSegments": "1", "ReferralNumMedia": "0", "MessageSid": sid,
        "AccountSid": "AC" + "0" * 32, "From": f"whatsapp:{phone}", "ApiVersion": "2010-04-01",
    }  # fmt: skip


def staff_event(n: int, *, dispatcher: User, role: Role, ask: int, yes: int) -> None:
    today = timezone.localdate()
    event = event_create(
        actor=dispatcher, title=f"Growth event {n}", event_date=today, start_time=time(6, 0),
        end_time=time(10, 0), hourly_rate=Decimal("15.50"), employees_needed=yes, employees_to_ask=ask,
    )  # fmt: skip
    areas = [
        work_area_create(actor=dispatcher, event_id=event.pk, name=name, max_capacity=yes)
        for name in ("Bar", "Floor")
    ]
    event = event_transition(
        actor=dispatcher, event_id=event.pk, expected_version=event.version, to_status="recruiting"
    )
    event_ask(actor=dispatcher, event_id=event.pk, count=ask)
    run_deferred_jobs()
    send_all(dispatcher)
    invitations = list(Invitation.objects.filter(event=event).select_related("employee").order_by("pk"))
    for k, invitation in enumerate(invitations):
        phone = str(invitation.employee.phone_number)
        sid = f"SMgrowth{n:04d}{k:06d}{os.getpid():08d}"
        inbound_receive(
            provider_sid=sid, from_number=f"whatsapp:{phone}", body="ja" if k < yes else "nein",
            raw=twilio_request(phone, "ja" if k < yes else "nein", sid),
        )  # fmt: skip
    apply_inbound()
    run_deferred_jobs()
    send_all(dispatcher)
    accepted = Invitation.objects.filter(event=event, status="accepted").order_by("pk")
    for k, invitation in enumerate(accepted):
        assignment_create(
            actor=dispatcher, work_area_id=areas[k % 2].pk, role_id=role.pk, invitation_id=invitation.pk
        )
    start = timezone.make_aware(datetime.combine(today, time(6, 0)))
    for invitation in accepted:
        log = work_log_create(
            actor=dispatcher, event_id=event.pk, employee_id=invitation.employee_id,
            started_at=start, ended_at=start + timedelta(hours=4), break_minutes=15,
        )  # fmt: skip
        work_log_approve(actor=dispatcher, work_log_id=log.pk, expected_version=log.version)
    event = Event.objects.get(pk=event.pk)
    event_transition(
        actor=dispatcher, event_id=event.pk, expected_version=event.version, to_status="completed"
    )
    run_deferred_jobs()


def sizes() -> dict[str, tuple[int, int]]:
    with as_owner(), connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE")
        found = {}
        for table in tables():
            cur.execute(f"SELECT count(*), pg_total_relation_size('{table}') FROM {table}")  # noqa: S608
            rows, size = cur.fetchone()
            found[table] = (int(rows), int(size))
        return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--employees", type=int, default=60)
    parser.add_argument("--events", type=int, default=10)
    parser.add_argument("--ask", type=int, default=20)
    parser.add_argument("--yes", type=int, default=12)
    args = parser.parse_args()
    if args.ask > args.employees or args.yes > args.ask:
        raise SystemExit("--yes ≤ --ask ≤ --employees")
    call_command("migrate", verbosity=0)
    if Employee.objects.exclude(name__startswith=PREFIX).exists() or Employee.objects.exists():
        raise SystemExit("Use an empty scratch database (remove .data/bench-growth or name another).")
    dispatcher = User.objects.create_user("growth-dispatcher", role="dispatcher")
    with request_context(source="cli"):
        role = role_create(actor=dispatcher, key="waiter", name="Waiter")
        people: list[Employee] = []
        per_employee = measure(lambda: people.extend(
            employee_create(actor=dispatcher, name=f"{PREFIX}{k}", phone_number=f"+49152{k:08d}",
                            primary_role=role, employment_type="part_time")
            for k in range(args.employees)
        ))  # fmt: skip
        per_edit = measure(lambda: [
            employee_update(actor=dispatcher, employee_id=p.pk, expected_version=p.version,
                            changes={"notes": "Prefers evening shifts."})
            for p in people
        ])  # fmt: skip
        per_event = measure(lambda: [
            staff_event(n, dispatcher=dispatcher, role=role, ask=args.ask, yes=args.yes)
            for n in range(args.events)
        ])  # fmt: skip
    final = sizes()
    print(
        f"{args.employees} employees, each edited once; {args.events} events: ask {args.ask}, {args.yes} yes,"
        f" {args.ask - args.yes} no, placed, hours recorded and approved, completed"
    )
    print(f"{'table':36} {'/employee':>10} {'/edit':>8} {'/event':>8} {'rows':>7} {'bytes/row':>10}")
    for table in sorted(final):
        rows, size = final[table]
        print(
            f"{table:36} {per_employee[table] / args.employees:10.2f} {per_edit[table] / args.employees:8.2f}"
            f" {per_event[table] / args.events:8.2f} {rows:7d} {size // rows if rows else 0:10d}"
        )


if __name__ == "__main__":
    main()
