"""`crewcall migrate`: Django's migrate, as the owner, then the runtime role's grants.

Migrations create and alter objects, which only their owner may do; the application
itself connects as the runtime role (core/roles.py). After the last migration every
table, sequence and definer function gets exactly the runtime grants the rule gives it,
in one transaction. Test databases are made through this command too.
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands.migrate import Command as DjangoMigrate

from crewcall.core.roles import as_owner, grant_after_migrate


class Command(DjangoMigrate):
    help = "Apply migrations as the database owner, then grant the runtime role its share."

    def handle(self, *args: Any, **options: Any) -> None:
        database = options["database"]
        with as_owner(database):
            super().handle(*args, **options)
            if not options.get("plan") and not options.get("check_unapplied"):
                grant_after_migrate(database)
