"""`crewcall roles --owner NAME --runtime NAME`: make the two database roles.

Run once per database by an administrator (a superuser, or on a managed PostgreSQL the
provider's admin role with CREATEROLE), with DATABASE_URL pointing at the database as
that administrator. It creates both roles (without passwords: set them with
`ALTER ROLE … PASSWORD`), makes the owner own the database and everything in it (a
database one role made before is adopted), and grants the runtime role its share. Then
run Crewcall with DATABASE_URL as the runtime role and CREWCALL_MIGRATION_DATABASE_URL as
the owner (docs/operations.md, "Database roles"). Embedded mode does all this itself.
"""

from __future__ import annotations

from typing import Any

import psycopg
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from crewcall.core.roles import OWNER, RUNTIME, ensure_roles, plain_connection_params


class Command(BaseCommand):
    help = "Create the owner and runtime database roles and give each its rights (as an administrator)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--owner", default=OWNER, help=f"The owner role (default {OWNER}).")
        parser.add_argument("--runtime", default=RUNTIME, help=f"The runtime role (default {RUNTIME}).")

    def handle(self, *args: Any, owner: str, runtime: str, **options: Any) -> None:
        params = plain_connection_params(connection)
        database = str(connection.settings_dict["NAME"])
        try:
            with psycopg.connect(**params, autocommit=True) as conn:
                notes = ensure_roles(conn, owner=owner, runtime=runtime, database=database)
        except (psycopg.Error, ValueError) as exc:
            raise CommandError(f"Could not set up the roles in database {database}: {exc}") from exc
        for note in notes:
            self.stdout.write(note)
        self.stdout.write(
            f"Database {database}: {owner} owns it, {runtime} is the application's role. Connect the "
            f"application as {runtime} (DATABASE_URL) and migrate as {owner} "
            "(CREWCALL_MIGRATION_DATABASE_URL)."
        )
