"""`crewcall audit [--url URL] [--token TOKEN] [--json]`: the canary run (ops/canary/run.py).

Without --token (or CREWCALL_AUDIT_TOKEN) the command makes a token of its own for the
`canary` user in this installation's database, and revokes it when done; a remote
instance needs --token (a dispatcher's)."""

from __future__ import annotations

import json
import os
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from crewcall.core.context import request_context
from crewcall.ops.canary.run import Report, run_audit
from crewcall.ops.canary.services import canary_run_record, canary_token_issue, canary_token_revoke


class Command(BaseCommand):
    help = "Run the canary audit against a running Crewcall; exit 1 when a step fails."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default="", help="the instance (default: CREWCALL_PUBLIC_URL)")
        parser.add_argument("--token", default="", help="an API token with the dispatcher role")
        parser.add_argument(
            "--wait", type=float, default=10.0, help="seconds to wait for the stream and the worker"
        )
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args: Any, url: str, token: str, wait: float, **options: Any) -> None:
        url = url or settings.PUBLIC_URL
        token = token or os.environ.get("CREWCALL_AUDIT_TOKEN", "")
        issued = None
        if not token:
            try:
                with request_context(source="cli"):
                    issued = canary_token_issue()
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
            token = issued.secret
        try:
            report = run_audit(url=url, token=token, wait_s=wait)
        finally:
            if issued is not None:
                with request_context(source="cli"):
                    canary_token_revoke(token_id=issued.token.pk)
        with request_context(source="cli"):
            canary_run_record(report=report)  # the KPI page shows the last run
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
        else:
            self._print(report)
        if not report.ok:
            raise CommandError("the canary audit failed", returncode=1)

    def _print(self, report: Report) -> None:
        self.stdout.write(f"Canary audit of {report.url}")
        for step in report.steps:
            mark = "ok  " if step.ok else "FAIL"
            self.stdout.write(f"  {mark} {step.name:<10} {step.seconds * 1000:7.0f} ms  {step.detail}")
        self.stdout.write("passed" if report.ok else "FAILED")
