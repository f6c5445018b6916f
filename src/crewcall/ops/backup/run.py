"""`crewcall restore` as a function, and what backup and restore share (docs/backup.md).

Restore: into an empty database only. The manifest (authenticated with the key) and the
schema version are checked first, then every chunk of the dump is decrypted and
authenticated and its SHA-256 checked, then pg_restore runs in one transaction (all or
nothing), then every table is measured again and compared with the manifest. Finally the
change feed gets a new epoch, so every cursor handed out before the restore is answered
with `reset`, and so do employees' personal links, so none made before the restore works. Backup: create.py.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from django.conf import settings
from django.db import connection
from psycopg import sql

from crewcall.core.roles import grant_after_migrate
from crewcall.ops.backup import archive
from crewcall.ops.backup.errors import BackupError, VerificationFailed
from crewcall.ops.backup.keys import BackupKey
from crewcall.ops.backup.manifest import compare, measure
from crewcall.ops.backup.progress import Progress
from crewcall.ops.backup.tools import _VERSION, Target, Tool, find_tool, server_major

# pg_dump waits this long for a table's share lock (behind a migration, say), then fails.
LOCK_WAIT = "60s"

_RESTORING = re.compile(r"^pg_restore: (creating|processing|executing) (.*)")


@dataclass
class Timings:
    measure_s: float = 0.0
    dump_s: float = 0.0
    write_s: float = 0.0
    check_s: float = 0.0
    restore_s: float = 0.0
    verify_s: float = 0.0
    finish_s: float = 0.0
    total_s: float = 0.0


class _ManifestFigures:
    manifest: dict[str, Any]

    @property
    def tables(self) -> int:
        return len(self.manifest["tables"])

    @property
    def rows(self) -> int:
        return sum(t["rows"] for t in self.manifest["tables"].values())


@dataclass
class BackupResult(_ManifestFigures):
    path: Path
    manifest: dict[str, Any]
    bytes: int
    key: BackupKey
    timings: Timings = field(default_factory=Timings)


@dataclass
class RestoreResult(_ManifestFigures):
    manifest: dict[str, Any]
    migrated: list[str]
    epoch: str
    dropped_changes: int
    key: BackupKey | None  # None: an unencrypted backup of format version 1
    timings: Timings = field(default_factory=Timings)


def crewcall_version() -> str:
    try:
        return importlib.metadata.version("crewcall")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def megabytes(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB"


# ---------------------------------------------------------------------------- running tools


def run_tool(args: list[str], *, env: dict[str, str]) -> Iterator[str]:
    """Run a PostgreSQL tool, yielding its stderr lines (its --verbose progress); raise
    BackupError with its error lines when it fails."""
    tail: list[str] = []
    errors: list[str] = []
    with subprocess.Popen(  # noqa: S603 - our own tool path and arguments, no shell
        args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env
    ) as process:
        assert process.stderr is not None  # noqa: S101 - requested above
        finished = False
        try:
            for raw in process.stderr:
                line = raw.rstrip("\n")
                tail = [*tail[-9:], line]
                if "error:" in line or line.lstrip().startswith(("DETAIL:", "HINT:", "FATAL:")):
                    errors.append(line)
                yield line
            finished = True
        finally:
            if not finished and process.poll() is None:
                # Interrupted (Ctrl-C, or the caller gave up): do not leave the tool running.
                process.terminate()
    code = process.returncode
    if code != 0:
        said = "\n".join(errors[-10:] or tail)
        raise BackupError(f"{Path(args[0]).name} failed (exit {code}):\n{said}")


# --------------------------------------------------------------------------------- restore


def schema_difference(applied: dict[str, list[str]]) -> tuple[list[str], list[str]]:
    """(pending, unknown): this code's migrations missing from the backup, and the
    backup's migrations this code does not have."""
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(None, ignore_no_migrations=True)
    code = set(loader.disk_migrations)
    backup = {(app, name) for app, names in applied.items() for name in names}
    for key, migration in loader.disk_migrations.items():
        # A squashed migration counts as applied when everything it replaces is.
        if migration.replaces and all(tuple(r) in backup for r in migration.replaces):
            backup.add(key)
    pending = sorted(f"{app}.{name}" for app, name in code - backup)
    unknown = sorted(f"{app}.{name}" for app, name in backup - code)
    return pending, unknown


def _listing(names: list[str], limit: int = 8) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def check_schema(manifest: dict[str, Any], *, migrate: bool) -> list[str]:
    """Refuse a backup whose schema this code cannot take; return the pending migrations."""
    pending, unknown = schema_difference(manifest["migrations"])
    made_by = manifest.get("crewcall_version", "unknown")
    if unknown:
        raise BackupError(
            f"This backup was made by a newer Crewcall (or another branch, version {made_by}): it holds "
            f"{len(unknown)} migration(s) this version does not know ({_listing(unknown)}). "
            f"Restore it with Crewcall {made_by} or newer."
        )
    if pending and not migrate:
        raise BackupError(
            f"This backup's schema is older than this Crewcall's: {len(pending)} migration(s) are not in it "
            f"({_listing(pending)}). Restore with --migrate to restore it as it was and then migrate it, "
            f"or restore it with the Crewcall version that made it ({made_by})."
        )
    return pending


_OBJECTS = """
SELECT n.nspname || '.' || c.relname, c.relkind
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
UNION ALL
SELECT n.nspname || '.' || p.proname || '()', 'function'
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
ORDER BY 1
"""


def how_to_empty(target: Target) -> str:
    if target.embedded_bin is not None:
        return (
            "To restore into the embedded server: stop Crewcall, move its PostgreSQL folder away "
            f"(mv {settings.DATA_DIR / 'pg'} {settings.DATA_DIR / 'pg.before-restore'}; keep "
            "secret_key and backup_key beside it) and run the restore again: it starts a fresh server "
            "with an empty database. Or restore into a new database: "
            "CREWCALL_DATABASE_NAME=crewcall_restored crewcall restore FILE. See docs/backup.md."
        )
    return (
        f"To restore into this server: stop Crewcall, then `dropdb {target.dbname}` and `createdb "
        f"{target.dbname}` (as the owner, e.g. with -O <user of DATABASE_URL>) and run the restore "
        "again; or point DATABASE_URL at a new, empty database. See docs/backup.md."
    )


def check_empty(conn: psycopg.Connection[Any], target: Target) -> None:
    """Refuse a database that holds anything: restore never overwrites."""
    objects = conn.execute(_OBJECTS).fetchall()
    if not objects:
        return
    tables = [name for name, kind in objects if kind == "r"]
    filled = []
    for name in tables:
        schema, table = name.split(".", 1)
        query = sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(sql.Identifier(schema, table))
        hit = conn.execute(query).fetchone()
        if hit and hit[0]:
            filled.append(name)
    migrated = 0
    if "public.django_migrations" in tables:
        got = conn.execute("SELECT count(*) FROM public.django_migrations").fetchone()
        migrated = int(got[0]) if got else 0
    what = [f"{len(objects)} objects ({len(tables)} tables)"]
    if migrated:
        what.append(f"{migrated} migrations applied")
    if filled:
        what.append(f"{len(filled)} tables with rows ({_listing(filled, 5)})")
    raise BackupError(
        f"The {target.describe()} is not empty: {'; '.join(what)}. Restore only goes into an empty "
        f"database, so that it can never overwrite data. {how_to_empty(target)}"
    )


def check_encrypted(backup: archive.Backup, *, allow_unencrypted: bool) -> None:
    """Refuse an unencrypted (version 1) backup unless asked: nothing in it is authenticated,
    so a file put in place of an encrypted one would otherwise restore unnoticed."""
    if backup.encrypted or allow_unencrypted:
        return
    raise BackupError(
        f"{backup.path} is an unencrypted backup of format version {backup.format_version}, made by "
        f"Crewcall {backup.manifest.get('crewcall_version', 'unknown')} before backups were encrypted. "
        "Nothing in it is authenticated: whoever could write where it was kept could have changed "
        "it. If you trust this copy, restore it with --allow-unencrypted (then make a new backup). "
        "Nothing was restored."
    )


def restore_backup(
    path: Path,
    *,
    progress: Progress,
    migrate: bool = False,
    allow_unencrypted: bool = False,
    pg_bin: Path | None = None,
) -> RestoreResult:
    """Restore `path` into the default database, which must be empty; verify it."""
    started = time.monotonic()
    timings = Timings()
    backup = archive.open_backup(Path(path))
    check_encrypted(backup, allow_unencrypted=allow_unencrypted)
    manifest = backup.manifest
    pending = check_schema(manifest, migrate=migrate)

    target = Target.for_alias("default")
    with target.connect(autocommit=True) as conn:
        major = server_major(conn)
        check_empty(conn, target)
    made_on = manifest["server"]["version_num"] // 10000
    if major < made_on:
        raise BackupError(
            f"This backup comes from PostgreSQL {made_on}; the {target.describe()} runs PostgreSQL {major}. "
            f"Restore it into PostgreSQL {made_on} or newer."
        )
    tool_match = _VERSION.search(str(manifest.get("dump_tool", "")))
    dump_major = int(tool_match[1]) if tool_match else made_on
    tool = find_tool("pg_restore", at_least=max(major, dump_major), target=target, pg_bin=pg_bin)

    with archive.private_folder() as folder:
        t0 = time.monotonic()
        progress.start("decrypt" if backup.encrypted else "check", manifest["dump"]["bytes"], in_bytes=True)
        dump = backup.extract_dump(Path(folder), on_bytes=progress.update)
        progress.finish("every chunk authentic, SHA-256 matches" if backup.encrypted else "SHA-256 matches")
        timings.check_s = time.monotonic() - t0

        t0 = time.monotonic()
        _restore(tool, target, dump, progress=progress)
        # The owner restored every object; the application's role gets its share.
        grant_after_migrate()
        timings.restore_s = time.monotonic() - t0

    t0 = time.monotonic()
    with target.connect() as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        progress.start("verify", 0)
        sums = measure(conn, on_table=lambda done, total, name: _verify_step(progress, done, total, name))
        conn.rollback()
    mismatches = compare(manifest["tables"], sums, empty=manifest.get("left_out", []))
    progress.finish(f"{len(mismatches)} mismatches" if mismatches else "every table matches")
    timings.verify_s = time.monotonic() - t0

    t0 = time.monotonic()
    migrated: list[str] = []
    if pending and not mismatches:
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)
        migrated = pending
    epoch, dropped = renew_after_restore()
    timings.finish_s = time.monotonic() - t0
    timings.total_s = time.monotonic() - started
    if mismatches:
        raise VerificationFailed(mismatches)
    return RestoreResult(
        manifest=manifest,
        migrated=migrated,
        epoch=epoch,
        dropped_changes=dropped,
        key=backup.key,
        timings=timings,
    )


def extract_dump(
    path: Path, out: Path, *, progress: Progress, allow_unencrypted: bool = False
) -> archive.Backup:
    """Write the backup's pg_dump file to `out` (mode 600), decrypted and checked like a
    restore checks it, for `pg_restore` by hand; no database is touched."""
    out = Path(out)
    if out.is_dir() or not out.parent.is_dir():
        raise BackupError(f"{out}: name a file to write, in a folder that exists.")
    backup = archive.open_backup(Path(path))
    check_encrypted(backup, allow_unencrypted=allow_unencrypted)
    # Beside its final name, so the rename is atomic; a private folder, as for a restore.
    with tempfile.TemporaryDirectory(prefix=f".{out.name}.", dir=out.parent) as folder:
        progress.start(
            "decrypt" if backup.encrypted else "check", backup.manifest["dump"]["bytes"], in_bytes=True
        )
        dump = backup.extract_dump(Path(folder), on_bytes=progress.update)
        progress.finish("SHA-256 matches")
        os.replace(dump, out)
    return backup


def _verify_step(progress: Progress, done: int, total: int, name: str) -> None:
    if progress.enabled and done == 0:
        progress.start("verify", total)
    progress.update(done, name)


def _restore(tool: Tool, target: Target, dump: Path, *, progress: Progress) -> None:
    listing = subprocess.run(  # noqa: S603 - our own tool path and arguments
        [str(tool.path), "--list", str(dump)], capture_output=True, text=True, check=False
    )
    if listing.returncode != 0:
        raise BackupError(f"pg_restore cannot read the dump: {listing.stderr.strip()}")
    items = sum(1 for line in listing.stdout.splitlines() if line.strip() and not line.startswith(";"))
    args = [
        str(tool.path),
        "--verbose",
        "--single-transaction",  # all or nothing: a failed restore leaves the database empty
        "--exit-on-error",
        "--no-owner",  # objects belong to the user restoring, whoever owned them before
        "--no-privileges",
        "--no-password",
        f"--dbname={target.conninfo()}",
        str(dump),
    ]
    progress.start("restore", items)
    done = 0
    for line in run_tool(args, env=target.tool_env()):
        match = _RESTORING.match(line)
        if match:
            done += 1
            progress.update(done, match[2][:60])
    progress.finish(f"{items} items")


def renew_after_restore() -> tuple[str, int]:
    """A new epoch for the change feed and no restored change ahead of this cluster
    (changes_after_restore); a new epoch for employees' personal links, so no link the
    restored rows would take for current (replaced after the backup) opens a page.
    Returns the feed's (epoch, dropped)."""
    from crewcall.changes.services import changes_after_restore
    from crewcall.people.services import employee_links_renew_all

    result = changes_after_restore()
    employee_links_renew_all(actor=None)
    connection.close()
    return result
