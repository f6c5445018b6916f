"""What the backup tests share: scratch databases beside the test database, the real
command in a subprocess, a test key, and ways to take a backup file apart.

The backup is taken in-process from the test database; every restore runs the real
command (`python -m crewcall restore`) with DATABASE_URL pointing at a scratch database
created on the same server, so the test database is never the target.
"""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import psycopg

from crewcall.accounts.models import User
from crewcall.conftest import Agency
from crewcall.core.roles import owner_connection_params
from crewcall.ops.backup import archive
from crewcall.ops.backup.keys import BackupKey
from crewcall.ops.backup.manifest import measure
from crewcall.ops.backup.progress import Progress

QUIET = Progress.quiet(io.StringIO())
# Fixed test keys (never used outside tests): the one backups are made with, and another.
KEY = bytes(range(32))
KEY_TEXT = base64.urlsafe_b64encode(KEY).decode()
OTHER_KEY = bytes(range(100, 132))
OTHER_KEY_TEXT = base64.urlsafe_b64encode(OTHER_KEY).decode()
_UNSET = "unset"


def _params(dbname: str) -> dict[str, Any]:
    # The owner's credentials: it may create databases and restore into them (core/roles.py);
    # the subprocesses then run with one role, as a restore does.
    raw = owner_connection_params()
    keep = ("host", "port", "user", "password", "options")
    return {**{k: raw[k] for k in keep if raw.get(k)}, "dbname": dbname}


def connect(dbname: str, *, autocommit: bool = True) -> psycopg.Connection[Any]:
    return psycopg.connect(**_params(dbname), autocommit=autocommit)


def url_for(dbname: str) -> str:
    p = _params(dbname)
    query = {"host": p["host"], **({"port": str(p["port"])} if p.get("port") else {})}
    password = f":{quote(p['password'], safe='')}" if p.get("password") else ""
    return f"postgresql://{quote(p.get('user', ''), safe='')}{password}@/{dbname}?{urlencode(query)}"


def crewcall(
    tmp_path: Path, dbname: str, *args: str, key: str = KEY_TEXT, old_keys: str = ""
) -> subprocess.CompletedProcess[str]:
    """Run `python -m crewcall ARGS` against `dbname` (its own data folder, for the secret
    key), with `key` as CREWCALL_BACKUP_KEY (`_UNSET`: none) and `old_keys` as the old ones."""
    env = {
        **os.environ,
        "DATABASE_URL": url_for(dbname),
        "CREWCALL_DATA_DIR": str(tmp_path / "data"),
        "CREWCALL_LOG_LEVEL": "WARNING",
        "CREWCALL_DB_POOL_SIZE": "0",
        "CREWCALL_BACKUP_OLD_KEYS": old_keys,
    }
    env.pop("CREWCALL_BACKUP_KEY", None)
    env.pop("CREWCALL_MIGRATION_DATABASE_URL", None)  # one role: the owner (above)
    if key != _UNSET:
        env["CREWCALL_BACKUP_KEY"] = key
    return subprocess.run(
        [sys.executable, "-m", "crewcall", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def in_app(tmp_path: Path, dbname: str, code: str) -> dict[str, Any]:
    """Run Python inside Crewcall against `dbname`; `code` sets `result`, printed as JSON."""
    script = f"import json\n{code}\nprint('RESULT ' + json.dumps(result))"
    done = crewcall(tmp_path, dbname, "shell", "-c", script)
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


def tables_of(dbname: str) -> list[str]:
    with connect(dbname) as conn:
        rows = conn.execute(
            "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind = 'r'"
        ).fetchall()
    return [r[0] for r in rows]


def measured(dbname: str) -> dict[str, Any]:
    with connect(dbname, autocommit=False) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        return measure(conn)


def take_apart(path: Path, folder: Path) -> tuple[dict[str, Any], bytes]:
    """The manifest and the dump of a backup file (with the test key)."""
    backup = archive.open_backup(path)
    folder.mkdir(exist_ok=True)
    dump = backup.extract_dump(folder)
    body = dump.read_bytes()
    dump.unlink()
    return backup.manifest, body


def rewrite(path: Path, out: Path, *, manifest: Callable[[dict[str, Any]], None] | None = None,
            dump: Callable[[bytes], bytes] | None = None) -> None:  # fmt: skip
    """Copy a backup file, changing its manifest or its dump on the way and sealing it
    again with the test key: what a bug (not an attacker) could write."""
    doc, body = take_apart(path, out.parent / "apart")
    if manifest is not None:
        manifest(doc)
    if dump is not None:
        body = dump(body)
    plain = out.parent / "apart" / "changed.dump"
    plain.write_bytes(body)
    archive.write(out, doc, plain, BackupKey(KEY, source="test"))
    plain.unlink()


def write_legacy(path: Path, out: Path) -> None:
    """The backup as the previous Crewcall wrote it (format version 1): an unencrypted tar
    of manifest.json and database.dump, every table in the manifest, sessions included."""
    doc, body = take_apart(path, out.parent / "apart")
    doc["format_version"] = 1
    for name in doc.pop("left_out"):
        doc["tables"][name] = {"rows": 0, "md5": "d41d8cd98f00b204e9800998ecf8427e"}  # md5('')
    members = {"manifest.json": json.dumps(doc).encode(), "database.dump": body}
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tar:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))


def build(agency: Agency, alice: User) -> None:
    """Data in every kind of table: domain rows, their history, the change log, jobs."""
    from crewcall.accounts.services import token_create
    from crewcall.staffing.services import invitation_create

    staff = [agency.employee(name=f"Kim {i}") for i in range(5)]
    gala = agency.event("Gala")
    agency.event("Brunch", status="draft")
    agency.area(gala, "Bar")
    agency.accepted(gala, staff[0])
    agency.accepted(gala, staff[1])
    invitation_create(actor=agency.actor, event_id=gala.pk, employee_id=staff[2].pk)
    token_create(actor=alice, user_id=alice.pk, name="bi")


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777
