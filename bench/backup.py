"""Time `crewcall backup` and `crewcall restore` on the demo agency plus 100,000 invitations.

    .venv/bin/python bench/backup.py [--invitations N] [--runs N] [--file-mb N]

A scratch embedded server in CREWCALL_DATA_DIR (default .data/bench-backup): the source
database `bench_backup` is loaded once (`crewcall demo`, then in SQL: 2,000 employees,
N/2,000 events and N invitations in state "asked", written with every trigger on, so each
invitation also has its history row and its change-log row) and reused on the next run
(remove the folder to load again).
Each run backs it up (in-process, timing the checksum and dump phases), then restores the
file into a fresh database `bench_backup_restored` with the real command
(`python -m crewcall restore`, DATABASE_URL pointing at it, the backup's key in
CREWCALL_BACKUP_KEY) and times that. Then the file phase alone, on a synthetic dump of
--file-mb MB of random bytes (as incompressible as pg_dump's compressed output): writing
the backup file (SHA-256, encryption, fsync) and reading it back (decryption,
authentication, SHA-256), in MB/s: what encryption costs where dumps are gigabytes.
Figures and their reading: docs/backup.md, "Figures".
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from scratch import ROOT, use_scratch_database

use_scratch_database("bench-backup", "bench_backup")

import psycopg  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from psycopg import sql  # noqa: E402

from crewcall.core.roles import as_owner  # noqa: E402
from crewcall.ops.backup import archive, create_backup  # noqa: E402
from crewcall.ops.backup.keys import BackupKey, current_key  # noqa: E402
from crewcall.ops.backup.progress import Progress  # noqa: E402

TARGET = "bench_backup_restored"
EMPLOYEES = 2000
PREFIX = "Bench backup employee "

EXTRA = """
INSERT INTO people_employee (name, phone_number, primary_role_id, employment_type, is_always_needed,
                             is_active, notes, preferred_language)
SELECT %(prefix)s || g, '+4917' || lpad(g::text, 9, '0'),
       (SELECT min(id) FROM people_role), 'part_time', false, true, '', 'de'
FROM generate_series(1, %(employees)s) g
WHERE NOT EXISTS (SELECT 1 FROM people_employee WHERE name LIKE %(like)s);

INSERT INTO events_event (title, location, event_date, start_time, end_time, ends_next_day, description,
                          specialties, hourly_rate, employees_needed, employees_to_ask, status, is_template)
SELECT 'Bench backup event ' || g, 'Hall ' || g, current_date + 30 + g, time '18:00', time '23:00',
       false, '', '', 16.50, 2000, 2000, 'draft', false
FROM generate_series(1, %(events)s) g;
UPDATE events_event SET status = 'recruiting' WHERE title LIKE 'Bench backup event %%';

INSERT INTO staffing_invitation (event_id, employee_id, status, asked_at, wave, pick_reason)
SELECT ev.id, em.id, 'asked', now(), 1, 'bench: everyone fits'
FROM events_event ev CROSS JOIN people_employee em
WHERE ev.title LIKE 'Bench backup event %%' AND em.name LIKE %(like)s
ORDER BY ev.id, em.id
LIMIT %(invitations)s;
"""


def params(dbname: str) -> dict[str, str]:
    """The owner's connection (core/roles.py): it may create databases and restore into them."""
    from crewcall.core.roles import owner_connection_params

    connection.ensure_connection()
    raw = owner_connection_params()
    return {"host": raw["host"], "user": raw.get("user", "postgres"), "dbname": dbname}


def load(invitations: int) -> None:
    with connection.cursor() as cur:
        cur.execute("SELECT to_regclass('people_employee') IS NOT NULL")
        migrated = cur.fetchone()[0]  # type: ignore[index]
        demo = loaded = 0
        if migrated:
            cur.execute("SELECT count(*) FROM accounts_user")
            demo = cur.fetchone()[0]  # type: ignore[index]
            cur.execute(
                "SELECT count(*) FROM staffing_invitation i JOIN events_event e ON e.id = i.event_id"
                " WHERE e.title LIKE 'Bench backup event %'"
            )
            loaded = cur.fetchone()[0]  # type: ignore[index]
    if loaded:
        if loaded < invitations:
            raise SystemExit(
                f"{loaded:,} invitations loaded, fewer than asked: remove .data/bench-backup to load again."
            )
        print(f"reusing the loaded data ({loaded:,} invitations)")
        return
    if not demo:
        t0 = time.monotonic()
        call_command("migrate", verbosity=0)
        call_command("demo", verbosity=0)
        print(f"demo agency loaded in {time.monotonic() - t0:.1f} s")
    t0 = time.monotonic()
    events = -(-invitations // EMPLOYEES)
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            EXTRA,
            {
                "prefix": PREFIX,
                "like": PREFIX + "%",
                "employees": EMPLOYEES,
                "events": events,
                "invitations": invitations,
            },
        )
    with as_owner(), connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE")
    took = time.monotonic() - t0
    print(f"{invitations:,} invitations (and {EMPLOYEES:,} employees, {events} events) in {took:.1f} s")


def fresh_target() -> None:
    with psycopg.connect(**params("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(TARGET)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(TARGET)))


def restore(path: Path, key: BackupKey) -> tuple[float, str]:
    p = params(TARGET)
    env = {
        **os.environ,
        "DATABASE_URL": f"postgresql://{p['user']}@/{TARGET}?{urlencode({'host': p['host']})}",
        "CREWCALL_DATA_DIR": str(ROOT / ".data" / "bench-backup-restore"),
        "CREWCALL_BACKUP_KEY": base64.urlsafe_b64encode(key.secret).decode(),
    }
    t0 = time.monotonic()
    done = subprocess.run(  # noqa: S603 - our own command
        [sys.executable, "-m", "crewcall", "restore", "--quiet", str(path)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    took = time.monotonic() - t0
    if done.returncode != 0:
        raise SystemExit(f"restore failed:\n{done.stderr}")
    return took, done.stdout.strip().splitlines()[0]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--invitations", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument(
        "--file-mb", type=int, default=512, help="synthetic dump for the file phase (0: skip)"
    )
    args = parser.parse_args()

    load(args.invitations)
    with connection.cursor() as cur:
        cur.execute("SELECT pg_size_pretty(pg_database_size(current_database())), version()")
        size, version = cur.fetchone()  # type: ignore[misc]
        cur.execute("SELECT count(*) FROM staffing_invitation")
        total_invitations = cur.fetchone()[0]  # type: ignore[index]
    print(f"database: {size} on {version.split(' on ')[0]}; {total_invitations:,} invitations in all")
    connection.close()

    with tempfile.TemporaryDirectory(prefix="bench-backup-") as folder:
        for run in range(1, args.runs + 1):
            path = Path(folder) / "bench.crewcall"
            t0 = time.monotonic()
            result = create_backup(path, progress=Progress.quiet(io.StringIO()))
            wall = time.monotonic() - t0
            t = result.timings
            print(
                f"run {run}: backup {wall:.2f} s (checksums {t.measure_s:.2f} s, pg_dump {t.dump_s:.2f} s, "
                f"file {t.write_s:.2f} s): {result.tables} tables, {result.rows:,} rows, "
                f"{result.bytes / 1e6:.1f} MB"
            )
            fresh_target()
            took, said = restore(path, result.key)
            print(f"run {run}: restore {took:.2f} s, whole command (process start included)")
            print(f"        {said}")
        if args.file_mb:
            file_phase(Path(folder), args.file_mb, args.runs, result.manifest)


def file_phase(folder: Path, megabytes: int, runs: int, manifest: dict[str, Any]) -> None:
    """Write and read back a backup file around a synthetic dump (the real backup's manifest)."""
    key = current_key(create=True)
    dump = folder / "synthetic.dump"
    with dump.open("wb") as f:
        for _ in range(megabytes):
            f.write(os.urandom(1_000_000))
    out = folder / "out"
    out.mkdir()
    for run in range(1, runs + 1):
        path = folder / "synthetic.crewcall"
        t0 = time.monotonic()
        # What a backup does after pg_dump: hash the dump, then write the file.
        manifest = {**manifest, "dump": {"bytes": dump.stat().st_size, "sha256": archive.sha256_of(dump)}}
        archive.write(path, manifest, dump, key)
        write = time.monotonic() - t0
        t0 = time.monotonic()
        archive.open_backup(path).extract_dump(out)
        read = time.monotonic() - t0
        print(
            f"run {run}: file phase, {megabytes} MB dump: write {write:.2f} s "
            f"({megabytes / write:.0f} MB/s), read back {read:.2f} s ({megabytes / read:.0f} MB/s)"
        )


if __name__ == "__main__":
    main()
