"""What the change-feed trigger costs the write path.

    .venv/bin/python bench/changes_write.py [--updates 5000] [--threads 4] [--rounds 3]

Scratch database: the embedded server in CREWCALL_DATA_DIR (default .data/bench-changes),
database bench_changes (CREWCALL_DATABASE_NAME); DATABASE_URL is ignored. It migrates,
then creates one draft event per thread.

Workload: `--updates` single-row UPDATEs of events_event (description), each in its own
transaction with the history context set as a service sets it, spread over `--threads`
connections (psycopg, autocommit off, one event row per thread so no lock waits). Every
update runs everything the table has: version trigger, rule guards, pghistory's history
row, and (when enabled) the change row. Variants, alternated for `--rounds` rounds:

- with the change trigger (as installed);
- without it (`ALTER TABLE events_event DISABLE TRIGGER changes_record`);
- bare: without the change trigger and without pghistory's triggers (reference);
- with the change trigger and the NOTIFY hint (`changes_notify`, disabled as installed).

Prints commits/s (median of the rounds), the per-commit cost the trigger and NOTIFY add,
and the size of the change log per row (heap + indexes). The triggers are left as
installed at the end (change trigger on, NOTIFY off).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from datetime import date
from datetime import time as clock
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scratch import connect, use_scratch_database

use_scratch_database("bench-changes", "bench_changes")

from django.core.management import call_command  # noqa: E402

from crewcall.events.services import event_create  # noqa: E402

CONTEXT = json.dumps({"user": 1, "username": "b", "source": "cli", "request_id": "bench", "action": "bench"})
UPDATE = "UPDATE events_event SET description = %s WHERE id = %s"




def set_triggers(*, changes: bool, history: bool, notify: bool = False) -> None:
    with connect() as conn:
        conn.execute(f"ALTER TABLE events_event {'ENABLE' if changes else 'DISABLE'} TRIGGER changes_record")
        conn.execute(f"ALTER TABLE changes_change {'ENABLE' if notify else 'DISABLE'} TRIGGER changes_notify")
        history_triggers = conn.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'events_event'::regclass"
            " AND tgname ~ '^pgtrigger_(insert|update|delete)_'"
        ).fetchall()
        for (name,) in history_triggers:
            conn.execute(f"ALTER TABLE events_event {'ENABLE' if history else 'DISABLE'} TRIGGER {name}")


def run_updates(event_ids: list[int], updates: int) -> float:
    per_thread = updates // len(event_ids)
    errors: list[BaseException] = []
    start = threading.Barrier(len(event_ids) + 1)

    def work(event_id: int) -> None:
        try:
            with connect() as conn:
                start.wait()
                for i in range(per_thread):
                    with conn.transaction():
                        conn.execute("SELECT set_config('pghistory.context_metadata', %s, true)", [CONTEXT])
                        conn.execute(UPDATE, [f"d{i}", event_id])
        except BaseException as exc:
            errors.append(exc)

    connect().close()  # resolve the parameters here, before the threads
    threads = [threading.Thread(target=work, args=(e,)) for e in event_ids]
    for t in threads:
        t.start()
    start.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    if errors:
        raise errors[0]
    return per_thread * len(event_ids) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--updates", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    event_ids = [
        event_create(
            actor=None, title=f"Bench {i}", event_date=date(2031, 1, 1), start_time=clock(18),
            hourly_rate=Decimal("15"), employees_needed=1,
        ).pk
        for i in range(args.threads)
    ]  # fmt: skip
    variants = {
        "with change trigger and NOTIFY": {"changes": True, "history": True, "notify": True},
        "with change trigger": {"changes": True, "history": True, "notify": False},
        "without change trigger": {"changes": False, "history": True},
        "bare (no change, no history triggers)": {"changes": False, "history": False},
    }
    results: dict[str, list[float]] = {name: [] for name in variants}
    try:
        run_updates(event_ids, min(args.updates, 1000))  # warm-up
        for _ in range(args.rounds):
            for name, flags in variants.items():
                set_triggers(**flags)
                results[name].append(run_updates(event_ids, args.updates))
    finally:
        set_triggers(changes=True, history=True)

    print(f"{args.updates} single-row UPDATEs of events_event per run, {args.threads} threads, "
          f"{args.rounds} rounds, {os.cpu_count()} CPUs")  # fmt: skip
    for name, rates in results.items():
        runs = ", ".join(f"{r:.0f}" for r in rates)
        print(f"  {name:40s} {statistics.median(rates):8.0f} commits/s  (runs: {runs})")
    with_t = statistics.median(results["with change trigger"])
    without_t = statistics.median(results["without change trigger"])
    print(f"  change trigger: {100 * (1 - with_t / without_t):.1f} % fewer commits/s, "
          f"{1e6 * (1 / with_t - 1 / without_t):.0f} µs more per commit (wall, all threads)")  # fmt: skip
    notify_t = statistics.median(results["with change trigger and NOTIFY"])
    print(f"  NOTIFY on top: {100 * (1 - notify_t / with_t):.1f} % fewer commits/s, "
          f"{1e6 * (1 / notify_t - 1 / with_t):.0f} µs more per commit (wall, all threads)")  # fmt: skip
    with connect() as conn:
        rows, heap, total = conn.execute(
            "SELECT count(*), pg_relation_size('changes_change'), pg_total_relation_size('changes_change')"
            " FROM changes_change"
        ).fetchone()
    if rows:
        print(f"  change log: {rows} rows, {heap / rows:.0f} bytes/row heap,"
              f" {total / rows:.0f} bytes/row with indexes")  # fmt: skip


if __name__ == "__main__":
    main()
