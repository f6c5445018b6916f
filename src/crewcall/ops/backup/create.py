"""`crewcall backup` as a function (docs/backup.md).

One REPEATABLE READ transaction exports its snapshot; in it, every table is counted and
checksummed, and pg_dump (custom format) runs with `--snapshot`, so the dump and the
manifest describe exactly the same rows, while the app keeps writing. Both are then
encrypted into the backup file with the backup key (archive.py, sealed.py). The tables of
manifest.LEFT_OUT keep their definitions but not their rows.
"""

from __future__ import annotations

import os
import re
import time
from datetime import UTC
from pathlib import Path
from typing import Any

import psycopg

from crewcall.core.private_files import create_private
from crewcall.ops.audit_seal import chain_heads
from crewcall.ops.backup import archive
from crewcall.ops.backup.errors import BackupError
from crewcall.ops.backup.keys import BackupKey, current_key
from crewcall.ops.backup.manifest import (
    CHECKSUM_ALGORITHM,
    FORMAT,
    FORMAT_SETTINGS,
    FORMAT_VERSION,
    LEFT_OUT,
    applied_migrations,
    last_names,
    list_tables,
    measure,
)
from crewcall.ops.backup.progress import Progress
from crewcall.ops.backup.run import (
    LOCK_WAIT,
    BackupResult,
    Timings,
    crewcall_version,
    megabytes,
    run_tool,
)
from crewcall.ops.backup.tools import Target, Tool, find_tool, server_major

_DUMPING = re.compile(r'^pg_dump: dumping contents of table "(.+)"')


def create_backup(path: Path, *, progress: Progress, pg_bin: Path | None = None) -> BackupResult:
    """Write an encrypted backup of the default database to `path` (docs/backup.md)."""
    started = time.monotonic()
    timings = Timings()
    path = Path(path)
    if path.is_dir():
        raise BackupError(f"{path} is a folder: name the backup file to write.")
    if not path.parent.is_dir():
        raise BackupError(f"{path.parent} does not exist: create the folder first.")
    key = current_key(create=True)
    target = Target.for_alias("default")
    with archive.private_folder() as folder:
        dump = Path(folder) / archive.DUMP
        os.close(create_private(dump))  # pg_dump truncates it and keeps its mode, 600
        manifest = _dump_and_write(path, dump, key, target, progress=progress, pg_bin=pg_bin, timings=timings)
    timings.total_s = time.monotonic() - started
    return BackupResult(path=path, manifest=manifest, bytes=path.stat().st_size, key=key, timings=timings)


def _dump_and_write(
    path: Path,
    dump: Path,
    key: BackupKey,
    target: Target,
    *,
    progress: Progress,
    pg_bin: Path | None,
    timings: Timings,
) -> dict[str, Any]:
    with target.connect() as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        major = server_major(conn)
        tool = find_tool("pg_dump", at_least=major, target=target, pg_bin=pg_bin)
        # The first statement fixes the transaction's snapshot: export it for pg_dump.
        row = conn.execute(
            "SELECT pg_export_snapshot(), now(), current_setting('server_version'),"
            " current_setting('server_version_num')::int, current_database()"
        ).fetchone()
        assert row is not None  # noqa: S101 - one row, always
        snapshot, taken_at, server_version, server_version_num, dbname = row
        applied = applied_migrations(conn)
        if not applied:
            raise BackupError(
                f"The {target.describe()} holds no Crewcall schema (no migrations applied): "
                "nothing to back up."
            )

        t0 = time.monotonic()
        left_out = sorted(set(LEFT_OUT) & {f"{schema}.{table}" for schema, table, _ in list_tables(conn)})
        progress.start("checksums", 0)
        sums = measure(
            conn,
            on_table=lambda done, total, name: _table_step(progress, done, total, name),
            skip=left_out,
        )
        rows = sum(s.rows for s in sums.values())
        progress.finish(f"{len(sums)} tables, {rows:,} rows")
        timings.measure_s = time.monotonic() - t0
        # The audit trail's chain heads in the same snapshot: a copy kept outside the
        # database, which `crewcall integrity --expect-heads` can check a later chain against.
        heads = chain_heads(conn) if "0003_audit_chain" in applied.get("ops", []) else None

        t0 = time.monotonic()
        _dump(tool, target, snapshot, dump, tables=len(sums), left_out=left_out, progress=progress)
        timings.dump_s = time.monotonic() - t0
        conn.rollback()  # the snapshot may go now

    t0 = time.monotonic()
    size = dump.stat().st_size
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "crewcall_version": crewcall_version(),
        "created_at": taken_at.astimezone(UTC).isoformat(),
        "database": dbname,
        "server": {"version": server_version, "version_num": server_version_num},
        "dump_tool": tool.version,
        "schema": last_names(applied),
        "migrations": applied,
        "checksum": {"algorithm": CHECKSUM_ALGORITHM, "settings": FORMAT_SETTINGS},
        "totals": {"tables": len(sums), "rows": rows},
        "tables": {name: s.as_json() for name, s in sums.items()},
        "left_out": left_out,
        "audit_chain_heads": heads,
        "dump": {
            "file": archive.DUMP,
            "format": "custom",
            "bytes": size,
            "sha256": archive.sha256_of(dump),
        },
    }
    progress.start("encrypt", size, in_bytes=True)
    archive.write(path, manifest, dump, key, on_bytes=progress.update)
    progress.finish(f"key {key.label}")
    timings.write_s = time.monotonic() - t0
    return manifest


def _table_step(progress: Progress, done: int, total: int, name: str) -> None:
    if progress.enabled and done == 0:
        progress.start("checksums", total)
    progress.update(done, name)


def _dump(
    tool: Tool,
    target: Target,
    snapshot: str,
    out: Path,
    *,
    tables: int,
    left_out: list[str],
    progress: Progress,
) -> None:
    args = [
        str(tool.path),
        "--format=custom",
        "--verbose",
        "--no-password",
        f"--snapshot={snapshot}",
        f"--lock-wait-timeout={LOCK_WAIT}",
        f"--file={out}",
        f"--dbname={target.conninfo()}",
        *(f"--exclude-table-data={_exact(name)}" for name in left_out),
    ]
    progress.start("dump", tables)
    done = 0
    for line in run_tool(args, env=target.tool_env()):
        match = _DUMPING.match(line)
        if match:
            size = out.stat().st_size if out.exists() else 0
            progress.update(done, f"{match[1]} ({megabytes(size)})")
            done += 1
    progress.finish(f"{megabytes(out.stat().st_size)} written")


def _exact(name: str) -> str:
    """A pg_dump pattern for exactly the table `schema.table` (quoted: `*`, `?` and `.` are
    wildcards or separators otherwise)."""
    schema, table = name.split(".", 1)
    return f'"{schema}"."{table}"'
