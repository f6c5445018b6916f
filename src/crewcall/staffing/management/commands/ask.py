"""`crewcall ask EVENT_ID [--preview] [--count N] [--wave N]`: who would be asked, and why;
or ask them (the same service the pages and the API call)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from crewcall.core.context import request_context
from crewcall.core.errors import CrewcallError
from crewcall.events.models import Event
from crewcall.staffing.asking import event_ask
from crewcall.staffing.picker import pick_candidates


class Command(BaseCommand):
    help = "Preview or ask the next wave of employees for an event."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("event_id", type=int)
        parser.add_argument("--preview", action="store_true", help="Only show who would be asked and why.")
        parser.add_argument(
            "--count", type=int, default=None, help="How many (default: to reach employees_to_ask)."
        )
        parser.add_argument(
            "--wave", type=int, default=None, help="The wave to ask (a repeat changes nothing)."
        )

    def handle(
        self, *args: Any, event_id: int, preview: bool, count: int | None, wave: int | None, **options: Any
    ) -> None:
        if not Event.objects.filter(pk=event_id).exists():
            raise CommandError(f"There is no event {event_id}.")
        if preview:
            picks = pick_candidates(event_id=event_id, count=count)
            if not picks:
                self.stdout.write("Nobody to ask: the event has enough open invitations, or no one fits.")
            for pick in picks:
                self.stdout.write(f"{pick.rank:>3}. {pick.employee_name} ({pick.role_key}): {pick.reason}")
            return
        try:
            with request_context(source="cli"):
                result = event_ask(actor=None, event_id=event_id, wave=wave, count=count)
        except CrewcallError as exc:
            raise CommandError(exc.message) from exc
        verb = "Asked" if result.created else "Already asked in"
        self.stdout.write(f"{verb} wave {result.wave}: {len(result.invitations)} invitations.")
        for invitation in result.invitations:
            self.stdout.write(f"  {invitation.employee.name}: {invitation.pick_reason}")
