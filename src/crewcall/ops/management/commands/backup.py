"""`crewcall backup FILE`: a verified full backup of the database, encrypted (docs/backup.md)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from crewcall.ops.backup import BackupError, create_backup
from crewcall.ops.backup.progress import Progress
from crewcall.ops.backup.run import megabytes


class Command(BaseCommand):
    help = (
        "Back up the whole database into FILE: pg_dump's custom format plus a manifest of every "
        "table's row count and checksum, taken from one snapshot while Crewcall keeps running, "
        "encrypted with the backup key (CREWCALL_BACKUP_KEY, else the file backup_key in the data "
        "folder, made on the first backup)."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The backup file to write (replaced if it exists; mode 600).")
        parser.add_argument("--quiet", "-q", action="store_true", help="No progress bar.")
        parser.add_argument(
            "--pg-bin", type=Path, default=None, help="Folder holding pg_dump (default: found by version)."
        )

    def handle(self, *args: Any, file: str, quiet: bool, pg_bin: Path | None, **options: Any) -> None:
        # The raw stream: Django's wrapper would end every redraw with a line break.
        stream: Any = getattr(self.stderr, "_out", sys.stderr)
        progress = Progress(stream, enabled=False if quiet else None)
        try:
            result = create_backup(Path(file), progress=progress, pg_bin=pg_bin)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        t = result.timings
        self.stdout.write(
            f"Backup written to {result.path}: {result.tables} tables, {result.rows:,} rows, "
            f"{megabytes(result.bytes)}, schema of {len(result.manifest['schema'])} apps, "
            f"in {t.total_s:.1f} s (checksums {t.measure_s:.1f} s, dump {t.dump_s:.1f} s). "
            f"Encrypted with key {result.key.label} ({result.key.source}): restore needs that key."
        )
