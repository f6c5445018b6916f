"""Fixtures of the backup tests (helpers: backup_helpers.py)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from psycopg import sql

from crewcall.accounts.models import User
from crewcall.conftest import Agency
from crewcall.ops.tests.backup_helpers import KEY, QUIET, build, connect
from crewcall.testing.owner import superuser_connection


@pytest.fixture
def backup_key(settings: Any) -> bytes:
    """Backups made in the test process use the test key, never a file in the data folder."""
    settings.BACKUP_KEY = KEY
    settings.BACKUP_OLD_KEYS = []
    return KEY


@pytest.fixture
def scratch() -> Iterator[Callable[[], str]]:
    """`scratch()` creates an empty database on the test server; all are dropped after."""
    made: list[str] = []

    def make() -> str:
        name = f"scratch_backup_{uuid.uuid4().hex[:12]}"
        with connect("postgres") as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        made.append(name)
        return name

    yield make
    # As a superuser: a session of another role (the runtime role's, still closing after a
    # restore's checks) is one the owner may not end, and FORCE would fail on it.
    with superuser_connection("postgres") as conn:
        for name in made:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def backup_file(agency: Agency, alice: User, tmp_path: Path, backup_key: bytes) -> Path:
    from crewcall.ops.backup import create_backup

    build(agency, alice)
    path = tmp_path / "agency.crewcall"
    create_backup(path, progress=QUIET)
    return path
