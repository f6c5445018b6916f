"""`crewcall integrity [--json] [--repair]`: check every invariant that is not a
constraint; exit 0 when clean, 1 with findings (after --repair: 1 if anything is left)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from crewcall.core.context import request_context
from crewcall.ops.integrity.runner import integrity_run, render_table


class Command(BaseCommand):
    help = "Check the data's invariants that no constraint holds; --repair fixes the safe ones."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print a machine-readable document.")
        parser.add_argument(
            "--repair", action="store_true", help="Fix what is safely fixable, then check again."
        )
        parser.add_argument(
            "--stuck-minutes", type=int, default=15, help="Messages and replies waiting longer are stuck."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        with request_context(source="cli"):
            outcome = integrity_run(
                repair=options["repair"], params={"stuck_minutes": options["stuck_minutes"]}
            )
        if options["json"]:
            self.stdout.write(json.dumps(outcome.summary, indent=2, default=str))
        else:
            self.stdout.write(render_table(outcome.summary))
        if outcome.exit_code:  # clean: return normally (so call_command callers go on)
            raise CommandError("integrity: findings (see above)", returncode=outcome.exit_code)
