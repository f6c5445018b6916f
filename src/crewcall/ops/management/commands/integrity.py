"""`crewcall integrity [--json] [--repair] [--expect-heads FILE] [--heads]`: check every
invariant that is not a constraint; exit 0 when clean, 1 with findings (after --repair: 1 if
anything is left). --expect-heads: the audit chains must still pass through the heads an
earlier `chain_heads()` returned (docs/integrity.md, "Tamper evidence")."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from crewcall.core.context import request_context
from crewcall.ops.audit_seal import audit_seal, chain_heads
from crewcall.ops.integrity.chain import expected_heads
from crewcall.ops.integrity.runner import integrity_run, render_table


class Command(BaseCommand):
    help = "Check the data's invariants that no constraint holds; --repair fixes the safe ones."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print a machine-readable document.")
        parser.add_argument(
            "--repair", action="store_true", help="Fix what is safely fixable, then check again."
        )
        parser.add_argument(
            "--expect-heads",
            metavar="FILE",
            help="JSON of earlier audit chain heads (chain_heads(), a backup manifest or the hourly "
            "log line): the chains must still pass through them.",
        )
        parser.add_argument(
            "--heads", action="store_true", help="Seal, then print the audit chains' heads as JSON and exit."
        )
        parser.add_argument(
            "--stuck-minutes", type=int, default=15, help="Messages and replies waiting longer are stuck."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        params: dict[str, Any] = {"stuck_minutes": options["stuck_minutes"]}
        if options["heads"]:
            with request_context(source="cli"):
                audit_seal()
            with connection.cursor() as cur:
                self.stdout.write(json.dumps(chain_heads(cur), indent=2))
            return
        if options["expect_heads"]:
            try:
                params["expect_heads"] = expected_heads(json.loads(Path(options["expect_heads"]).read_text()))
            except (OSError, ValueError) as exc:
                raise CommandError(f"--expect-heads: {exc}", returncode=2) from exc
        with request_context(source="cli"):
            outcome = integrity_run(repair=options["repair"], params=params)
        if options["json"]:
            self.stdout.write(json.dumps(outcome.summary, indent=2, default=str))
        else:
            self.stdout.write(render_table(outcome.summary))
        if outcome.exit_code:  # clean: return normally (so call_command callers go on)
            raise CommandError("integrity: findings (see above)", returncode=outcome.exit_code)
