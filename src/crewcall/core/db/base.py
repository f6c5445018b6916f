"""Django's PostgreSQL backend, starting or attaching to the embedded server on first use.

Used only when DATABASE_URL is unset. Connecting is the first moment the server is
needed, so commands that never touch the database (ruff, mypy's settings import,
`makemigrations --check` planning) never start one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.db.backends.postgresql import base

from crewcall.core.embedded import embedded_for
from crewcall.core.roles import OWNER, RUNTIME


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self) -> dict[str, Any]:
        server = embedded_for(Path(self.settings_dict["OPTIONS"]["embedded_data_dir"]))
        conn_info = server.attach()
        # Test runs connect to "postgres" to create test databases; a named app database
        # is created on first start.
        dbname = self.settings_dict["NAME"] or "postgres"
        if dbname != "postgres":
            # Django's test runner creates test databases itself (as the owner); one kept
            # from before there were two roles is adopted all the same.
            server.ensure_database(dbname, create=not dbname.startswith("test_"))
        self.settings_dict["HOST"] = conn_info.host
        # The application is the runtime role; migrations and test databases the owner
        # (core/roles.py). The server's superuser only makes roles and databases.
        owner = self.settings_dict["OPTIONS"].get("embedded_role") == "owner"
        self.settings_dict["USER"] = OWNER if owner else RUNTIME
        if conn_info.port:
            self.settings_dict["PORT"] = conn_info.port
        params = super().get_connection_params()
        params.pop("embedded_data_dir", None)
        params.pop("embedded_role", None)
        return params
