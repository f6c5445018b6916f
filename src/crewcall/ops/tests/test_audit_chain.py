"""The audit trail's hash chains (docs/data-model.md, "Tamper evidence"): sealed in chain
order below the horizon; the verifier names altered, deleted and inserted rows, whether the
owner (triggers disabled on its own tables) or a superuser (replica mode) did it; erasure
keeps the chains valid; a consistent rewrite is caught only against earlier heads."""

from __future__ import annotations

import importlib
import itertools
import json
import random
import threading
import time
from io import StringIO
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test import Client

from crewcall.core import audit_chain
from crewcall.ops import audit_seal as sealing
from crewcall.ops.audit_seal import audit_seal, chain_heads
from crewcall.ops.integrity.chain import verify_chain
from crewcall.people import services as people
from crewcall.testing.owner import empty_job_tables, owner_connection, superuser_connection

pytestmark = pytest.mark.django_db(transaction=True)

ROLES = "people_rolehistory"
SKILLS = "people_skillhistory"
MIGRATION = importlib.import_module("crewcall.ops.migrations.0003_audit_chain")


def problems(table: str, heads: dict[str, Any] | None = None) -> list[tuple[Any, str]]:
    with transaction.atomic():
        _rows, found = verify_chain(table, (heads or {}).get(table))
    return [(f.object_id, f.problem.split(":")[0]) for f in found]


def rows(table: str) -> list[tuple[int, int, bool]]:
    """(pgh_xid, pgh_id, sealed) in chain order."""
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT pgh_xid::text, pgh_id, pgh_seal IS NOT NULL FROM {table} ORDER BY pgh_xid, pgh_id"
        )
        return [(int(x), i, s) for x, i, s in cur.fetchall()]


def skills(n: int, prefix: str = "s") -> None:
    for i in range(n):
        people.skill_create(actor=None, key=f"{prefix}{i}", name=f"Skill {prefix}{i}")


def runtime_connection() -> psycopg.Connection[Any]:
    params = dict(connection.get_connection_params())
    for sync_only in ("cursor_factory", "context", "prepare_threshold", "pool"):
        params.pop(sync_only, None)
    return psycopg.connect(**params)


def test_the_migration_holds_what_the_registry_generates() -> None:
    assert MIGRATION.UPDATE_CHECK.strip() == audit_chain.update_check_sql().strip()
    assert MIGRATION.ERASE.strip() == audit_chain.erase_function_sql().strip()
    assert MIGRATION.CONTEXT_GUARD.strip() == audit_chain.context_guard_sql().strip()
    assert MIGRATION.COMMITMENTS.strip() == sealing.COMMITMENTS.strip()
    assert MIGRATION.SEAL.strip() == sealing.seal_function_sql().strip()
    assert MIGRATION.TABLES == audit_chain.CHAINED


def test_rows_are_sealed_in_chain_order_and_verify_clean(agency: Any) -> None:
    skills(5)
    assert all(not sealed for _x, _i, sealed in rows(SKILLS))
    # A transaction still open below them (another test's connection, say) holds them back
    # for a moment: rows are sealed only below the horizon.
    deadline = time.monotonic() + 30
    while not all(sealed for _x, _i, sealed in rows(SKILLS)):
        assert time.monotonic() < deadline, "never sealed"
        audit_seal()
        time.sleep(0.05)
    chain = rows(SKILLS)
    assert len(chain) == 5 and all(sealed for _x, _i, sealed in chain)
    assert problems(SKILLS) == [] and problems(ROLES) == []
    # Only the owner's function seals, and only its way; the runtime role may not.
    with pytest.raises(Exception), connection.cursor() as cur:  # noqa: B017
        cur.execute(f"UPDATE {SKILLS} SET pgh_seal = NULL")
    with owner_connection() as conn, pytest.raises(psycopg.Error):
        conn.execute(f"UPDATE {SKILLS} SET pgh_seal = NULL")
    # More rows extend the chain; the earlier head is still on it.
    heads = chain_heads(connection)
    skills(2, "t")
    audit_seal()
    assert problems(SKILLS, heads["tables"]) == []
    assert chain_heads(connection)["tables"][SKILLS]["key"] == rows(SKILLS)[-1][1]


def _columns(conn: psycopg.Connection[Any], table: str) -> str:
    names = [
        r[0]
        for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s"
            " AND column_name NOT IN ('pgh_id', 'pgh_seal', 'pgh_salt', 'pgh_commit') ORDER BY 1",
            [table],
        ).fetchall()
    ]
    return ", ".join(names)


def test_the_owner_altering_deleting_or_inserting_is_named(agency: Any) -> None:
    skills(6)
    audit_seal()
    ids = [i for _x, i, _s in rows(SKILLS)]
    with owner_connection() as conn:
        # The guard refuses the owner's plain writes; it would have to disable it first.
        with pytest.raises(psycopg.Error):
            conn.execute(f"UPDATE {SKILLS} SET name = 'Forged' WHERE pgh_id = %s", [ids[1]])
        conn.execute(f"ALTER TABLE {SKILLS} DISABLE TRIGGER USER")
        conn.execute(f"UPDATE {SKILLS} SET name = 'Forged' WHERE pgh_id = %s", [ids[1]])
        conn.execute(f"DELETE FROM {SKILLS} WHERE pgh_id = %s", [ids[3]])
        cols = _columns(conn, SKILLS)
        conn.execute(
            f"INSERT INTO {SKILLS} ({cols}) SELECT {cols} FROM {SKILLS} WHERE pgh_id = %s",
            [ids[4]],
        )
        conn.execute(f"ALTER TABLE {SKILLS} ENABLE TRIGGER USER")
    inserted = max(i for _x, i, _s in rows(SKILLS))
    audit_seal()  # a row below the head is never sealed: it stays an insert
    assert problems(SKILLS) == [(ids[1], "altered"), (ids[4], "deleted"), (inserted, "inserted")]


def test_a_superuser_with_triggers_off_is_named(agency: Any) -> None:
    skills(6)
    audit_seal()
    ids = [i for _x, i, _s in rows(SKILLS)]
    with superuser_connection() as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute(f"UPDATE {SKILLS} SET name = 'Forged' WHERE pgh_id = %s", [ids[1]])
        conn.execute(f"DELETE FROM {SKILLS} WHERE pgh_id = %s", [ids[3]])
        cols = _columns(conn, SKILLS) + ", pgh_seal, pgh_salt, pgh_commit"
        conn.execute(
            f"INSERT INTO {SKILLS} ({cols}) SELECT {cols} FROM {SKILLS} WHERE pgh_id = %s",
            [ids[4]],
        )
    copy = max(i for _x, i, _s in rows(SKILLS))
    found = problems(SKILLS)
    assert (ids[1], "altered") in found
    assert (ids[4], "deleted") in found
    assert (copy, "inserted") in found
    assert {key for key, _p in found} == {ids[1], ids[4], copy}


def test_erasure_keeps_the_chains_valid(agency: Any) -> None:
    sealed_before = agency.employee(name="Hilde Historia")
    people.employee_update(
        actor=agency.actor,
        employee_id=sealed_before.pk,
        expected_version=1,
        changes={"notes": "likes nights"},
    )
    audit_seal()
    with connection.cursor() as cur:
        cur.execute(
            "SELECT pgh_salt ? 'name', pgh_commit ? 'notes' FROM people_employeehistory WHERE pgh_obj_id = %s"
            " ORDER BY pgh_id DESC LIMIT 1",
            [sealed_before.pk],
        )
        assert cur.fetchone() == (True, True)
    erased_unsealed = agency.employee(name="Ulla Unsealed")  # erased before it is sealed
    for employee in (sealed_before, erased_unsealed):
        employee.refresh_from_db()
        people.employee_anonymise(
            actor=agency.actor, employee_id=employee.pk, expected_version=employee.version
        )
    audit_seal()
    for table in audit_chain.CHAINED:
        assert problems(table) == [], table
    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM people_employeehistory WHERE pgh_salt ?| ARRAY['name', 'notes', 'phone_number']"
            " AND pgh_obj_id IN (%s, %s)",
            [sealed_before.pk, erased_unsealed.pk],
        )
        assert cur.fetchone() == (0,)  # no salt left: the commitments cannot be brute-forced
    # A personal value changed behind the guard no longer matches its commitment.
    with superuser_connection() as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute(
            "UPDATE people_employeehistory SET name = 'Moritz' WHERE pgh_obj_id = %s", [sealed_before.pk]
        )
    assert {p for _k, p in problems("people_employeehistory")} == {"altered"}


def _naive_sealer() -> str:
    """The control: the same sealer, but sealing every committed row it can see (no horizon)."""
    sql = sealing.seal_function_sql().replace("crewcall_audit_seal(", "crewcall_audit_seal_naive(")
    return sql.replace("horizon := changes_horizon();", "horizon := pg_snapshot_xmax(pg_current_snapshot());")


def _late_commit(seal: Any) -> None:
    """T1 writes first (lower xid) and commits after T2; `seal` runs in between."""
    with runtime_connection() as t1, runtime_connection() as t2:
        t1.execute("INSERT INTO people_skill (key, name, is_active) VALUES ('early', 'Early', true)")
        t2.execute("INSERT INTO people_skill (key, name, is_active) VALUES ('late', 'Late', true)")
        t2.commit()
        seal()
        t1.commit()
    seal()


def test_sealing_waits_for_the_horizon_and_the_control_shows_why(agency: Any) -> None:
    _late_commit(lambda: audit_seal())
    assert all(sealed for _x, _i, sealed in rows(SKILLS)) and problems(SKILLS) == []

    with owner_connection() as conn:
        conn.execute(_naive_sealer())
        conn.execute("DELETE FROM people_skill")  # only the live rows; their history stays
    try:
        naive = "SELECT crewcall_audit_seal_naive(10000)"
        with owner_connection() as conn:
            _late_commit(lambda: conn.execute(naive))
        early = [i for _x, i, sealed in rows(SKILLS) if not sealed]
        assert early, "the late-committing lower transaction's row was left behind"
        assert set(problems(SKILLS)) == {(i, "inserted") for i in early}
    finally:
        with owner_connection() as conn:
            conn.execute("DROP FUNCTION crewcall_audit_seal_naive(integer)")


def test_concurrent_writers_committing_out_of_order_are_sealed_in_order(agency: Any) -> None:
    commits: list[int] = []
    lock = threading.Lock()
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        rng = random.Random(n)
        try:
            with runtime_connection() as conn:
                for i in range(12):
                    conn.execute(
                        "INSERT INTO people_skill (key, name, is_active) VALUES (%s, 'W', true)",
                        [f"w{n}_{i}"],
                    )
                    xid = int(conn.execute("SELECT pg_current_xact_id()::text").fetchone()[0])  # type: ignore[index]
                    time.sleep(rng.uniform(0, 0.03))
                    conn.execute(
                        "INSERT INTO people_skill (key, name, is_active) VALUES (%s, 'W', true)",
                        [f"v{n}_{i}"],
                    )
                    conn.commit()
                    with lock:
                        commits.append(xid)
        except BaseException as exc:
            errors.append(exc)

    def sealer() -> None:
        try:
            while not stop.is_set():
                audit_seal(max_rows=7)  # small batches: many seals while writers commit
                time.sleep(0.005)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    seal_thread = threading.Thread(target=sealer)
    seal_thread.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    seal_thread.join()
    assert not errors, errors
    assert any(a > b for a, b in itertools.pairwise(commits)), "no commit out of xid order"
    audit_seal()
    chain = rows(SKILLS)
    assert len(chain) == 96 and all(sealed for _x, _i, sealed in chain)
    assert problems(SKILLS) == []


def test_expected_heads_catch_a_consistent_rewrite(agency: Any, tmp_path: Path) -> None:
    empty_job_tables()  # jobs earlier transactional tests left would be findings of their own
    skills(4)
    audit_seal()
    heads_file = tmp_path / "heads.json"
    out = StringIO()
    call_command("integrity", "--heads", stdout=out)
    heads_file.write_text(out.getvalue())
    skills(2, "later")
    call_command("integrity", "--expect-heads", str(heads_file), stdout=StringIO())  # still extends it
    first = rows(SKILLS)[0][1]
    with owner_connection() as conn:  # rewrite one row and re-seal the whole chain consistently
        conn.execute(f"ALTER TABLE {SKILLS} DISABLE TRIGGER USER")
        conn.execute(f"UPDATE {SKILLS} SET name = 'Rewritten' WHERE pgh_id = %s", [first])
        conn.execute(f"UPDATE {SKILLS} SET pgh_seal = NULL, pgh_salt = NULL, pgh_commit = NULL")
        conn.execute(f"ALTER TABLE {SKILLS} ENABLE TRIGGER USER")
        conn.execute("SELECT crewcall_audit_seal(10000)")
    assert problems(SKILLS) == []  # the chain alone cannot tell
    doc = json.loads(heads_file.read_text())
    assert [p for _k, p in problems(SKILLS, doc["tables"])] == ["expected head"]
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("integrity", "--json", "--expect-heads", str(heads_file), stdout=out)
    (finding,) = [f for f in json.loads(out.getvalue())["findings"] if f["id"] == "audit.chain"]
    assert finding["findings"][0]["kind"] == SKILLS


def test_the_kpi_page_shows_the_heads(alice: Any, agency: Any) -> None:
    skills(1)
    audit_seal()
    head = chain_heads(connection)["tables"][SKILLS]
    client = Client()
    client.force_login(alice)
    text = client.get("/operations/").content.decode()
    assert "Audit chain heads" in text and SKILLS in text and head["seal"] in text
