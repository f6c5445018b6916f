"""`crewcall import FILE`: employees from a CSV file, all or none (crewcall.people.imports).

Prints how many were imported; otherwise every problem as "line N, column: message" on
standard error, and exits with status 1 having written nothing.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from crewcall.core.context import request_context
from crewcall.core.errors import CrewcallError
from crewcall.people.imports import MAX_BYTES, ImportRejected, decode_csv, employees_import


class Command(BaseCommand):
    help = "Import employees from a CSV file (UTF-8, header row): every row or none."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The CSV file, or - for standard input.")

    def handle(self, *args: Any, file: str, **options: Any) -> None:
        try:
            if file == "-":
                data = sys.stdin.buffer.read(MAX_BYTES + 1)
            else:
                with open(file, "rb") as handle:
                    data = handle.read(MAX_BYTES + 1)  # one byte more tells it is too large
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror or exc}.") from exc
        try:
            with request_context(source="cli"):
                result = employees_import(actor=None, csv_text=decode_csv(data))
        except ImportRejected as exc:
            for problem in exc.problems:
                self.stderr.write(str(problem))
            raise CommandError(exc.message, returncode=1) from exc
        except CrewcallError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"Imported {result.created} employees.")
