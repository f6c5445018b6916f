"""`crewcall export [--output FILE]`: all domain data as one JSON document (core/exports.py)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from crewcall.core.exports import export_all
from crewcall.core.private_files import create_private


class Command(BaseCommand):
    help = "Export every domain table as one JSON document (a consistent snapshot; no secrets)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--output",
            "-o",
            default="-",
            help="File to write (default: standard output), readable by its owner only (mode 600); "
            "an existing file is replaced by a new one of mode 600, whatever its mode was.",
        )

    def handle(self, *args: Any, output: str, **options: Any) -> None:
        if output == "-":
            self.stdout.ending = ""  # the export writes its own line breaks
            counts = export_all(self.stdout)  # type: ignore[arg-type]
        else:
            counts = self._to_file(Path(output))
        total = sum(counts.values())
        # The summary goes to stderr: stdout may be the export itself.
        self.stderr.write(f"Exported {total} rows from {len(counts)} tables.")

    def _to_file(self, path: Path) -> dict[str, int]:
        # Written beside the target and renamed at the end: a failed export leaves no half file.
        # It holds everyone's personal data: mode 600 from its creation, and the rename puts this
        # new file in the place of an existing one, so an old file's wider mode goes with it.
        partial = path.with_name(f".{path.name}.partial")
        try:
            with os.fdopen(create_private(partial), "w", encoding="utf-8") as out:
                counts = export_all(out)
            os.replace(partial, path)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise CommandError(f"Cannot write {path}: {exc.strerror}.") from exc
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return counts
