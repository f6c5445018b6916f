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


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self) -> dict[str, Any]:
        server = embedded_for(Path(self.settings_dict["OPTIONS"]["embedded_data_dir"]))
        conn_info = server.attach()
        # Test runs connect to "postgres" to create test databases; a named app database
        # is created on first start.
        dbname = self.settings_dict["NAME"] or "postgres"
        if dbname != "postgres" and not dbname.startswith("test_"):
            server.ensure_database(dbname)
        self.settings_dict["HOST"] = conn_info.host
        self.settings_dict["USER"] = conn_info.user
        if conn_info.port:
            self.settings_dict["PORT"] = conn_info.port
        params = super().get_connection_params()
        params.pop("embedded_data_dir", None)
        return params
