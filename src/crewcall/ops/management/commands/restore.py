"""`crewcall restore FILE`: restore a backup into an empty database and verify it (docs/backup.md)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from crewcall.ops.backup import BackupError, VerificationFailed, restore_backup
from crewcall.ops.backup.progress import Progress
from crewcall.ops.backup.run import extract_dump as write_dump

# Exit codes: 0 restored and verified; 1 refused or failed (nothing restored, or the
# restore rolled back); 2 restored, but the data does not match the manifest.
EXIT_MISMATCH = 2


class Command(BaseCommand):
    help = (
        "Restore FILE (made by `crewcall backup`) into an empty database, then verify every "
        "table's row count and checksum against the backup's manifest."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The backup file to restore.")
        parser.add_argument(
            "--migrate",
            action="store_true",
            help="Accept a backup with an older schema: restore it as it was, verify it, then migrate it.",
        )
        parser.add_argument(
            "--allow-unencrypted",
            action="store_true",
            help="Accept an unencrypted backup (format version 1, made before backups were encrypted): "
            "nothing in it can be authenticated.",
        )
        parser.add_argument(
            "--extract-dump",
            metavar="OUT",
            default=None,
            help="Restore nothing: write the backup's pg_dump file to OUT (decrypted, checked, mode 600), "
            "for pg_restore by hand.",
        )
        parser.add_argument("--quiet", "-q", action="store_true", help="No progress bar.")
        parser.add_argument(
            "--pg-bin", type=Path, default=None, help="Folder holding pg_restore (default: found by version)."
        )

    def handle(
        self,
        *args: Any,
        file: str,
        migrate: bool,
        allow_unencrypted: bool,
        extract_dump: str | None,
        quiet: bool,
        pg_bin: Path | None,
        **options: Any,
    ) -> None:
        # The raw stream: Django's wrapper would end every redraw with a line break.
        stream: Any = getattr(self.stderr, "_out", sys.stderr)
        progress = Progress(stream, enabled=False if quiet else None)
        if extract_dump is not None:
            self._extract(file, Path(extract_dump), progress, allow_unencrypted=allow_unencrypted)
            return
        try:
            result = restore_backup(
                Path(file),
                progress=progress,
                migrate=migrate,
                allow_unencrypted=allow_unencrypted,
                pg_bin=pg_bin,
            )
        except VerificationFailed as exc:
            raise CommandError(str(exc), returncode=EXIT_MISMATCH) from None
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        m = result.manifest
        t = result.timings
        self.stdout.write(
            f"Restored {file}: backup of {m['created_at']} (Crewcall {m['crewcall_version']}, "
            f"PostgreSQL {m['server']['version']}); {result.tables} tables, {result.rows:,} rows, "
            f"every row count and checksum verified, in {t.total_s:.1f} s "
            f"(restore {t.restore_s:.1f} s, verify {t.verify_s:.1f} s)."
        )
        if result.key is None:
            self.stdout.write(
                "Notice: this backup was not encrypted (format version 1), so nothing proved it unchanged "
                "but its checksums. Make a new, encrypted backup now and delete the unencrypted copies."
            )
        else:
            self.stdout.write(f"Decrypted with key {result.key.label} ({result.key.source}).")
        if result.migrated:
            self.stdout.write(f"Migrated: {', '.join(result.migrated)}.")
        note = f"Change feed: new epoch {result.epoch}; clients resuming with an older cursor get `reset`."
        if result.dropped_changes:
            note += (
                f" {result.dropped_changes} restored changes lay beyond this server's transaction ids"
                " and were dropped."
            )
        self.stdout.write(note)
        self.stdout.write(
            "Personal links: renewed; links made before the restore no longer open (employees get"
            " their current one from the employee's page)."
        )

    def _extract(self, file: str, out: Path, progress: Progress, *, allow_unencrypted: bool) -> None:
        try:
            backup = write_dump(Path(file), out, progress=progress, allow_unencrypted=allow_unencrypted)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"Wrote the dump of {file} to {out} ({backup.manifest['dump']['bytes']:,} bytes, SHA-256 "
            f"checked): readable by you only; delete it when done. `pg_restore --list {out}` lists it."
        )
