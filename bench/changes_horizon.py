"""What the per-database horizon costs the hub's read (docs/changes.md, "What the horizon costs").

    .venv/bin/python bench/changes_horizon.py [--reads 3000] [--idle 40]

Scratch database: the embedded server in CREWCALL_DATA_DIR (default .data/bench-horizon),
database bench_horizon; DATABASE_URL is ignored. It migrates, then times the hub's read
(`changes_after` from the head, limit 500, nothing new: what every web process runs every
poll interval) with the server-wide horizon of before (`pg_snapshot_xmin`) and with
`changes_horizon()`, alternating in rounds, in two states:

- quiet: nothing runs below the snapshot's xmax (the new function skips the activity table);
- held: a transaction of another database holds an xid (so the snapshot has a running xid
  and the function reads the activity table), with `--idle` more idle connections open.

Prints the median and 95th percentile per read (µs, client wall time, one connection).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scratch import connect, use_scratch_database

use_scratch_database("bench-horizon", "bench_horizon")

from django.core.management import call_command  # noqa: E402

from crewcall.changes import selectors  # noqa: E402

OLD = (
    "LEAST(pg_snapshot_xmin(pg_current_snapshot()),"
    " COALESCE(pg_current_xact_id_if_assigned(), pg_snapshot_xmin(pg_current_snapshot())))"
)
NEW_STATE = selectors._STATE
OLD_STATE = NEW_STATE.replace(selectors.HORIZON, OLD)


def time_reads(state: str, reads: int) -> list[float]:
    selectors._STATE = state
    head = selectors.changes_after(cursor=selectors.current_cursor(), limit=500).cursor
    took = []
    for _ in range(reads):
        began = time.perf_counter()
        selectors.changes_after(cursor=head, limit=500)
        took.append((time.perf_counter() - began) * 1e6)
    return took


def report(label: str, samples: dict[str, list[float]]) -> None:
    for name, values in samples.items():
        values.sort()
        p95 = values[int(0.95 * (len(values) - 1))]
        median = statistics.median(values)
        print(f"{label:6} {name:8} median {median:7.1f} µs   p95 {p95:7.1f} µs   n={len(values)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reads", type=int, default=3000)
    parser.add_argument("--idle", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = 'bench_horizon_other'")
        if cur.fetchone() is None:
            cur.execute("CREATE DATABASE bench_horizon_other")
    for label in ("quiet", "held"):
        idle, holder = [], None
        if label == "held":
            idle = [connect() for _ in range(args.idle)]
            from psycopg.conninfo import conninfo_to_dict, make_conninfo

            holder = connect()
            params = conninfo_to_dict(holder.info.dsn)
            holder.close()
            import psycopg

            holder = psycopg.connect(make_conninfo(**{**params, "dbname": "bench_horizon_other"}))
            holder.execute("SELECT pg_current_xact_id()")
            with connect() as bump:  # a later xid completes: the holder is now in the snapshot
                bump.execute("SELECT pg_current_xact_id()")
        samples: dict[str, list[float]] = {"old": [], "new": []}
        for _ in range(args.rounds):
            samples["old"] += time_reads(OLD_STATE, args.reads)
            samples["new"] += time_reads(NEW_STATE, args.reads)
        report(label, samples)
        if holder is not None:
            holder.rollback()
            holder.close()
        for conn in idle:
            conn.close()
    selectors._STATE = NEW_STATE


if __name__ == "__main__":
    main()
