"""`crewcall backup` and `crewcall restore` on real PostgreSQL (docs/backup.md).

The backup is taken in-process from the test database; every restore runs the real
command in a subprocess (backup_helpers.py). Encryption, keys, tampering, file modes and
what is left out: test_backup_protection.py.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.test import override_settings

from crewcall.accounts.models import User
from crewcall.changes.selectors import current_cursor
from crewcall.conftest import Agency
from crewcall.core.env import secret_key
from crewcall.ops.backup import BackupError, create_backup
from crewcall.ops.backup.archive import open_backup
from crewcall.ops.backup.manifest import compare
from crewcall.ops.backup.progress import Progress
from crewcall.ops.backup.run import check_schema
from crewcall.ops.backup.sealed import MAGIC
from crewcall.ops.tests.backup_helpers import (
    QUIET,
    build,
    connect,
    crewcall,
    in_app,
    measured,
    rewrite,
    tables_of,
)
from crewcall.people.links import employee_link
from crewcall.people.models import Employee
from crewcall.people.services import employee_link_rotate

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("backup_key"),
]


def latest_two(app: str) -> tuple[str, str]:
    """The names of an app's latest migration on disk and of the one before it."""
    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    (latest,) = [name for label, name in graph.leaf_nodes() if label == app]
    (previous,) = [name for label, name in graph.node_map[(app, latest)].parents if label == app]
    return latest, previous


# ------------------------------------------------------------------------------- tests


def test_backup_then_restore_gives_back_every_table_and_the_app_works(
    agency: Agency, alice: User, tmp_path: Path, scratch: Callable[[], str]
) -> None:
    build(agency, alice)
    before = current_cursor()
    employee = Employee.objects.order_by("pk").first()
    assert employee is not None
    # Made with the key the restored app will have (its own data folder's).
    (tmp_path / "data").mkdir(exist_ok=True)
    with override_settings(SECRET_KEY=secret_key(tmp_path / "data")):
        link_before = employee_link(employee_id=employee.pk).token
    path = tmp_path / "agency.crewcall"
    result = create_backup(path, progress=QUIET)

    # The file: a header in the clear, then the encrypted manifest and dump.
    assert path.read_bytes().startswith(MAGIC)
    manifest = open_backup(path).manifest
    assert manifest == result.manifest
    assert manifest["format"] == "crewcall-backup" and manifest["crewcall_version"] == "0.1.0"
    recorded = MigrationRecorder.Migration.objects.values_list("app", "name")
    assert manifest["schema"]["changes"] == max(n for a, n in recorded if a == "changes")
    assert sum(len(v) for v in manifest["migrations"].values()) == len(recorded)
    assert manifest["server"]["version_num"] == connection.pg_version  # type: ignore[attr-defined]
    tables = manifest["tables"]
    for name in ("public.people_employee", "public.people_employeehistory", "public.changes_change",
                 "public.changes_feed", "public.procrastinate_jobs", "public.django_migrations"):  # fmt: skip
        assert name in tables
    assert tables["public.people_employee"]["rows"] == 5
    assert tables["public.staffing_invitation"]["rows"] == 3
    assert tables["public.changes_change"]["rows"] >= 10
    assert tables["public.people_employeehistory"]["rows"] >= 5
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM procrastinate_jobs")
        jobs = cur.fetchone()[0]
    assert tables["public.procrastinate_jobs"]["rows"] == jobs
    # Sessions and sign-in lockouts are left out (test_backup_protection.py).
    left_out = manifest["left_out"]
    assert left_out == [
        "public.axes_accessattempt",
        "public.axes_accessattemptexpiration",
        "public.django_session",
    ]
    assert not set(left_out) & set(tables)
    # The same rows give the same checksums when measured again.
    assert compare(tables, measured(connection.settings_dict["NAME"]), skip=left_out) == []
    # Replaced after the backup: the restored row will not know.
    employee_link_rotate(actor=alice, employee_id=employee.pk, expected_version=employee.version)

    target = scratch()
    done = crewcall(tmp_path, target, "restore", str(path))
    assert done.returncode == 0, done.stderr
    assert "every row count and checksum verified" in done.stdout
    assert "new epoch" in done.stdout
    assert f"Decrypted with key {result.key.label} (CREWCALL_BACKUP_KEY)" in done.stdout
    assert done.stderr == ""  # not a terminal: no progress bar

    # Every table equal, but the feed's and the links' epochs, renewed on purpose (and the
    # record of those privileged calls, where the renewals go through definer functions).
    after = measured(target)
    renewal = {"public.changes_feed", "public.core_privilegedcall", "public.people_linkkey"}
    assert compare(tables, after, skip=renewal, empty=left_out) == []
    assert "public.changes_feed: same row count (1) but the checksum differs" in compare(
        tables, after, empty=left_out
    )
    with connect(target) as conn:
        epoch = conn.execute("SELECT epoch FROM changes_feed").fetchone()[0]  # type: ignore[index]
    assert epoch != before.epoch

    # A cursor from before the backup gets `reset`; a new one reads on; a service writes.
    answer = in_app(
        tmp_path,
        target,
        f"""
from crewcall.accounts.models import User
from crewcall.changes.cursor import Cursor
from crewcall.changes.selectors import changes_after, current_cursor
from crewcall.people.services import role_create
from crewcall.people.models import Employee
from crewcall.people.links import LinkInvalid, employee_link, link_claim
old = changes_after(cursor=Cursor.decode({before.encode()!r}), limit=10)
try:
    link_claim({link_before!r})
    old_link = "opens"
except LinkInvalid:
    old_link = "dead"
new_link = link_claim(employee_link(employee_id={employee.pk}).token).version
now = current_cursor()
fresh = changes_after(cursor=now, limit=10)
role = role_create(actor=User.objects.get(username="bob"), key="sommelier", name="Sommelier")
result = {{"old_reset": old.reset, "old_next": old.cursor.encode(), "fresh_reset": fresh.reset,
          "epoch": now.epoch, "role": role.pk, "employees": Employee.objects.count(),
          "old_link": old_link, "new_link": new_link}}
""",
    )
    assert answer["old_reset"] is True and answer["old_next"].startswith(epoch + ".")
    assert answer["fresh_reset"] is False and answer["epoch"] == epoch
    assert answer["employees"] == 5
    # The link made before the backup was replaced after it: the restore must not revive
    # it (all links from before the restore are dead); a link made now opens.
    assert answer["old_link"] == "dead" and answer["new_link"] == 1
    with connect(target) as conn:
        role = conn.execute("SELECT key, version FROM people_role WHERE id = %s", [answer["role"]]).fetchone()
        history = conn.execute(
            "SELECT count(*) FROM people_rolehistory WHERE pgh_obj_id = %s", [answer["role"]]
        ).fetchone()
        change = conn.execute(
            "SELECT count(*) FROM changes_change WHERE table_name = 'people_role' AND row_id = %s",
            [answer["role"]],
        ).fetchone()
    assert role == ("sommelier", 1)
    assert history == (1,) and change == (1,)


def test_a_damaged_dump_is_refused_before_anything_is_restored(
    backup_file: Path, tmp_path: Path, scratch: Callable[[], str]
) -> None:
    damaged = tmp_path / "damaged.crewcall"

    def flip(body: bytes) -> bytes:
        middle = len(body) // 2
        return body[:middle] + bytes([body[middle] ^ 0xFF]) + body[middle + 1 :]

    rewrite(backup_file, damaged, dump=flip)
    target = scratch()
    done = crewcall(tmp_path, target, "restore", str(damaged))
    assert done.returncode == 1
    assert "database.dump is damaged" in done.stderr and "Nothing was restored" in done.stderr
    assert tables_of(target) == []

    cut = tmp_path / "cut.crewcall"
    cut.write_bytes(backup_file.read_bytes()[:4096])
    done = crewcall(tmp_path, target, "restore", str(cut))
    assert done.returncode == 1 and tables_of(target) == []

    garbage = tmp_path / "garbage.crewcall"
    rewrite(backup_file, garbage, manifest=lambda m: m.pop("tables"))
    done = crewcall(tmp_path, target, "restore", str(garbage))
    assert done.returncode == 1 and "manifest.json is damaged" in done.stderr
    assert tables_of(target) == []


def test_a_manifest_that_does_not_match_fails_naming_each_table(
    backup_file: Path, tmp_path: Path, scratch: Callable[[], str]
) -> None:
    def tamper(m: dict[str, Any]) -> None:
        m["tables"]["public.people_employee"]["rows"] += 1
        m["tables"]["public.events_event"]["md5"] = "0" * 32

    tampered = tmp_path / "tampered.crewcall"
    rewrite(backup_file, tampered, manifest=tamper)
    done = crewcall(tmp_path, scratch(), "restore", str(tampered))
    assert done.returncode == 2, done.stderr
    assert "does not match the backup in 2 table(s)" in done.stderr
    assert "public.people_employee: 6 rows in the backup, 5 restored" in done.stderr
    assert "public.events_event: same row count (2) but the checksum differs" in done.stderr
    assert "public.people_role" not in done.stderr


def test_a_database_that_is_not_empty_is_refused(
    backup_file: Path, tmp_path: Path, scratch: Callable[[], str]
) -> None:
    target = scratch()
    with connect(target) as conn:
        conn.execute("CREATE TABLE notes (id int PRIMARY KEY, body text)")
        conn.execute("INSERT INTO notes VALUES (1, 'keep me')")
    done = crewcall(tmp_path, target, "restore", str(backup_file))
    assert done.returncode == 1
    assert "is not empty" in done.stderr and "public.notes" in done.stderr
    assert "dropdb" in done.stderr  # says how to get an empty database
    assert tables_of(target) == ["notes"]

    # A restored (so migrated) database is refused just the same: restore never overwrites.
    second = scratch()
    assert crewcall(tmp_path, second, "restore", "--quiet", str(backup_file)).returncode == 0
    done = crewcall(tmp_path, second, "restore", str(backup_file))
    assert done.returncode == 1 and "migrations applied" in done.stderr


def test_an_older_schema_needs_migrate_and_feed_positions_from_another_cluster_are_dropped(
    backup_file: Path, tmp_path: Path, scratch: Callable[[], str]
) -> None:
    # A database one migration behind: the latest migration of `changes` taken back by
    # Django itself, with a change-log row and a retention watermark beyond this cluster's
    # transaction ids, as a backup from a busier server would bring.
    latest, previous = latest_two("changes")
    older = scratch()
    assert crewcall(tmp_path, older, "restore", str(backup_file)).returncode == 0
    back = crewcall(tmp_path, older, "migrate", "changes", previous, "-v", "0")
    assert back.returncode == 0, back.stderr
    with connect(older) as conn:
        far = conn.execute("SELECT pg_current_xact_id()::text::bigint + 1000000000").fetchone()[0]  # type: ignore[index]
        conn.execute(
            "INSERT INTO changes_change (xid, table_name, op, row_id) VALUES (%s::text::xid8, 'people_role', 'I', 1)",
            [far],
        )
        conn.execute("UPDATE changes_feed SET pruned_xid = %s::text::xid8, pruned_seq = 1", [far - 1])
        kept = conn.execute("SELECT count(*) FROM changes_change").fetchone()[0] - 1  # type: ignore[index]
    old_file = tmp_path / "older.crewcall"
    made = crewcall(tmp_path, older, "backup", str(old_file))
    assert made.returncode == 0, made.stderr
    assert open_backup(old_file).manifest["schema"]["changes"] == previous

    target = scratch()
    done = crewcall(tmp_path, target, "restore", str(old_file))
    assert done.returncode == 1
    assert "schema is older" in done.stderr and f"changes.{latest}" in done.stderr
    assert "--migrate" in done.stderr
    assert tables_of(target) == []

    done = crewcall(tmp_path, target, "restore", "--migrate", str(old_file))
    assert done.returncode == 0, done.stderr
    # The latest of `changes`, and any later one that builds on it.
    migrated = next(line for line in done.stdout.splitlines() if line.startswith("Migrated: "))
    assert f"changes.{latest}" in migrated.removeprefix("Migrated: ").rstrip(".").split(", "), migrated
    assert "1 restored changes lay beyond" in done.stdout
    with connect(target) as conn:
        # What the latest migration made is there again.
        assert conn.execute("SELECT count(*) FROM pg_proc WHERE proname = 'changes_horizon'").fetchone() == (
            1,
        )
        assert conn.execute("SELECT count(*) FROM changes_change").fetchone() == (kept,)
        assert conn.execute("SELECT pruned_xid, pruned_seq FROM changes_feed").fetchone() == (None, None)
        assert conn.execute(
            "SELECT count(*) FROM changes_change WHERE xid >= pg_current_xact_id()"
        ).fetchone() == (0,)


def test_schema_versions_this_code_does_not_know_are_refused_even_with_migrate(backup_file: Path) -> None:
    manifest = open_backup(backup_file).manifest
    assert check_schema(manifest, migrate=False) == []

    behind = json.loads(json.dumps(manifest))
    behind["migrations"]["people"].remove("0003_personal_history_erasure")
    with pytest.raises(BackupError, match=r"older than this Crewcall's: 1 migration\(s\) .*people.0003"):
        check_schema(behind, migrate=False)
    assert check_schema(behind, migrate=True) == ["people.0003_personal_history_erasure"]

    ahead = json.loads(json.dumps(manifest))
    ahead["migrations"]["people"].append("0099_from_the_future")
    with pytest.raises(BackupError, match=r"newer Crewcall .*people.0099_from_the_future"):
        check_schema(ahead, migrate=True)


def test_dump_tools_older_than_the_server_are_refused(db: Any, tmp_path: Path) -> None:
    old = tmp_path / "pg9" / "bin"
    old.mkdir(parents=True)
    tool = old / "pg_dump"
    tool.write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n")
    tool.chmod(0o755)
    path = tmp_path / "never.crewcall"
    major = connection.pg_version // 10000  # type: ignore[attr-defined]
    with pytest.raises(BackupError, match=rf"pg_dump must be PostgreSQL {major} or newer .*\(9\)"):
        create_backup(path, progress=QUIET, pg_bin=old)
    with pytest.raises(BackupError, match="No pg_dump found"):
        create_backup(path, progress=QUIET, pg_bin=tmp_path)
    assert list(tmp_path.glob("*never*")) == []


def test_the_progress_bar_shows_on_a_terminal_only() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    bar = Progress(screen)
    bar.start("dump", 4)
    bar.update(2, "public.people_employee", force=True)
    bar.finish("done")
    assert "\rdump       [############------------]  50% 2/4 public.people_employee" in screen.getvalue()
    assert screen.getvalue().endswith("\n")
    assert screen.getvalue().rstrip().endswith("\rdump       [########################] 100% 4/4 done")

    pipe = io.StringIO()
    bar = Progress(pipe)
    bar.start("dump", 4)
    bar.update(2, "x", force=True)
    bar.finish("done")
    assert pipe.getvalue() == ""
    assert Progress(Terminal(), enabled=False).enabled is False
