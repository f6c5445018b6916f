"""`crewcall token create --user NAME [--name LABEL]`: a new API token for scripts.

Only the secret goes to stdout, so `TOKEN=$(crewcall token create --user bob)` works;
everything else (what was made, errors) goes to stderr; a failure exits with status 1.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from crewcall.accounts import selectors
from crewcall.accounts.services import token_create
from crewcall.core.context import request_context
from crewcall.core.errors import CrewcallError


class Command(BaseCommand):
    help = "Make an API token for a user and print its secret (shown this once)."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="create")
        create = actions.add_parser("create", help="Make a token and print its secret.")
        create.add_argument("--user", required=True, help="The username the token acts as.")
        create.add_argument("--name", default="cli", help="A label to tell the token apart (default: cli).")

    def handle(self, *args: Any, **options: Any) -> None:
        username = options["user"]
        user = None if "\x00" in username else selectors.user_by_username(username=username)
        if user is None:
            raise CommandError(f"There is no user {options['user']!r}.")
        try:
            with request_context(source="cli"):
                made = token_create(actor=None, user_id=user.pk, name=options["name"])
        except CrewcallError as exc:
            raise CommandError(exc.message) from exc
        self.stderr.write(
            f"Token {made.token.prefix}… ({made.token.name}) for {user.username}; shown this once:"
        )
        self.stdout.write(made.secret)
