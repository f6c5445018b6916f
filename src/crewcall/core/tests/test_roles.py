"""The application's database role may not rewrite history (core/roles.py).

Every test here runs as the runtime role, the way the app runs; the controls do the same
thing as the owner and see it succeed, so a refusal is the role's doing and not a typo.
"""

from __future__ import annotations

import os
from typing import Any

import psycopg
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connection, transaction

from crewcall.core.models import PrivilegedCall
from crewcall.core.roles import APPEND_ONLY, history_tables, owner_settings, runtime_privileges
from crewcall.testing.owner import owner_connection

pytestmark = pytest.mark.skipif(
    owner_settings() is None,
    reason="one database role configured (DATABASE_URL without CREWCALL_MIGRATION_DATABASE_URL)",
)

PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")


def _sql(statement: str, params: Any = ()) -> list[tuple[Any, ...]]:
    with connection.cursor() as cur:
        cur.execute(statement, params)
        return cur.fetchall() if cur.description else []


def _refused(*statements: str) -> str:
    """Run the statements in one savepoint; the last must be refused. Its message."""
    with pytest.raises(DatabaseError) as info, transaction.atomic(), connection.cursor() as cur:
        for statement in statements:
            cur.execute(statement)
    return str(info.value)


def _triggers(table: str) -> list[str]:
    return [
        name
        for (name,) in _sql(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal", [table]
        )
    ]


@pytest.mark.django_db
def test_the_runtime_role_has_no_power_over_the_cluster_and_owns_nothing() -> None:
    [(role, superuser, createrole, createdb, replication, bypassrls)] = _sql(
        "SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls"
        " FROM pg_roles WHERE rolname = current_user"
    )
    print(f"runtime role {role}: superuser={superuser} createrole={createrole} createdb={createdb}")
    assert (superuser, createrole, createdb, replication, bypassrls) == (False,) * 5
    owned = _sql(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'public' AND c.relowner = current_user::regrole"
        " UNION ALL SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
        " WHERE n.nspname = 'public' AND p.proowner = current_user::regrole"
    )
    assert owned == []
    [(owner,)] = _sql("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()")
    assert owner != role


@pytest.mark.django_db
def test_history_and_the_change_log_refuse_every_rewrite_whatever_the_caller_sets() -> None:
    tables = [*history_tables(), *APPEND_ONLY]
    assert len(tables) >= 17, tables
    bypasses = {
        "none": [],
        "pgtrigger.ignore": None,  # filled per table: every trigger it has
        "crewcall.erasure": ["SELECT set_config('crewcall.erasure', 'on', true)"],
        "crewcall.retention": ["SELECT set_config('crewcall.retention', 'on', true)"],
    }
    refusals = 0
    for table in tables:
        ignore = "{" + ",".join(_triggers(table)) + "}"
        for name, setup in bypasses.items():
            steps = setup if setup is not None else [f"SET LOCAL pgtrigger.ignore = '{ignore}'"]
            for statement in (
                f"UPDATE {table} SET pgh_id = pgh_id"
                if table != "changes_change"
                else f"UPDATE {table} SET seq = seq",
                f"DELETE FROM {table}",
                f"TRUNCATE {table}",
            ):
                message = _refused(*steps, statement)
                assert "permission denied" in message, (table, name, statement, message)
                refusals += 1
        for statement in (
            f"ALTER TABLE {table} DISABLE TRIGGER ALL",
            f"ALTER TABLE {table} DISABLE TRIGGER USER",
            f"DROP TABLE {table}",
        ):
            assert "must be owner" in _refused(statement), (table, statement)
            refusals += 1
        for trigger in _triggers(table):
            assert "must be owner" in _refused(f'DROP TRIGGER "{trigger}" ON {table}')
            refusals += 1
    print(f"{len(tables)} tables, {refusals} rewrites refused")


@pytest.mark.django_db
def test_superuser_switches_and_server_programs_are_refused() -> None:
    assert "permission denied" in _refused("SET session_replication_role = replica")
    assert "permission denied" in _refused("SET LOCAL session_replication_role = replica")
    for statement in (
        "COPY (SELECT 1) TO PROGRAM 'id'",
        "CREATE TEMP TABLE probe (line text); COPY probe FROM PROGRAM 'id'",
        "SELECT pg_read_file('/etc/passwd')",
    ):
        message = _refused(*statement.split("; "))
        assert "permission denied" in message or "must be superuser" in message, (statement, message)
    assert "permission denied" in _refused("CREATE TABLE probe (id int)")
    assert "permission denied" in _refused("CREATE ROLE probe")


@pytest.mark.django_db(transaction=True)
def test_control_the_owner_can_do_what_the_runtime_role_cannot() -> None:
    """The refusals above come from the role: the owner's connection may (rolled back)."""
    with owner_connection() as conn, conn.transaction(force_rollback=True):
        conn.execute("DELETE FROM changes_change")
        conn.execute("TRUNCATE people_employeehistory")
        conn.execute("ALTER TABLE events_eventhistory DISABLE TRIGGER ALL")
    with pytest.raises(psycopg.errors.InsufficientPrivilege), owner_connection() as conn:
        conn.execute("COPY (SELECT 1) TO PROGRAM 'id'")  # the owner is no superuser either


@pytest.mark.django_db
def test_every_table_has_exactly_the_grants_the_rule_gives() -> None:
    history = set(history_tables())
    tables = [name for (name,) in _sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
    wrong = []
    for table in tables:
        want = set(runtime_privileges(table, history))
        have = {
            p
            for p in PRIVILEGES
            if _sql("SELECT has_table_privilege(current_user, %s, %s)", [table, p])[0][0]
        }
        if have != want:
            wrong.append((table, sorted(have), sorted(want)))
    assert wrong == []
    assert len(tables) > 50


@pytest.mark.django_db
def test_definer_functions_are_narrow_and_only_the_runtime_role_may_call_them() -> None:
    functions = _sql(
        "SELECT p.proname, p.proconfig, has_function_privilege('public', p.oid, 'EXECUTE'),"
        " has_function_privilege(current_user, p.oid, 'EXECUTE')"
        " FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
        " WHERE n.nspname = 'public' AND p.prosecdef ORDER BY 1"
    )
    names = [name for name, *_ in functions]
    assert {"crewcall_changes_prune", "crewcall_changes_new_epoch", "crewcall_inbound_raw_prune"} <= set(
        names
    )
    for name, config, public, runtime in functions:
        assert name.startswith("crewcall_"), name
        # A definer function with the caller's search_path could be tricked into the
        # caller's objects.
        assert config and "search_path=public, pg_temp" in config, (name, config)
        assert not public and runtime, (name, public, runtime)


@pytest.mark.django_db
def test_a_definer_call_is_recorded_with_the_role_that_made_it() -> None:
    from django.utils import timezone

    from crewcall.changes.services import changes_prune_batch

    changes_prune_batch(older_than=timezone.now(), batch_size=10)
    call = PrivilegedCall.objects.get(function="crewcall_changes_prune")
    assert call.arguments["batch"] == 10
    assert call.session_role == _sql("SELECT current_user")[0][0]
    assert "permission denied" in _refused("UPDATE core_privilegedcall SET function = 'x'")
    assert "permission denied" in _refused("DELETE FROM core_privilegedcall")


def test_the_migration_url_must_name_the_same_database_and_another_role(monkeypatch: Any) -> None:
    from crewcall import settings

    runtime = {"user": "app", "dbname": "crewcall", "host": "db"}
    monkeypatch.setenv("CREWCALL_MIGRATION_DATABASE_URL", "postgresql://owner@db/other")
    with pytest.raises(ImproperlyConfigured, match="same database"):
        settings._migration_owner(runtime)
    monkeypatch.setenv("CREWCALL_MIGRATION_DATABASE_URL", "postgresql://app@db/crewcall")
    with pytest.raises(ImproperlyConfigured, match="owner role"):
        settings._migration_owner(runtime)
    monkeypatch.setenv("CREWCALL_MIGRATION_DATABASE_URL", "postgresql://owner:pw@db:6432/crewcall")
    assert settings._migration_owner(runtime) == {
        "USER": "owner",
        "PASSWORD": "pw",
        "HOST": "db",
        "PORT": "6432",
    }


# Not transactional: everything here happens in a database of its own, on connections of
# its own, so the test database has nothing to flush afterwards.
@pytest.mark.django_db
def test_roles_adopts_a_database_another_role_made_and_grants_by_the_rule() -> None:
    """`crewcall roles` on a database a superuser filled before there were two roles: the
    owner takes every object, the runtime role gets its share (history: read and append)."""
    from crewcall.core.roles import ensure_roles, owner_role, runtime_role
    from crewcall.testing.owner import superuser_connection

    owner, runtime = owner_role(), runtime_role()
    assert owner is not None
    name = f"crewcall_adopt_{os.getpid()}"
    with superuser_connection() as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.execute(f"CREATE DATABASE {name}")
    try:
        with superuser_connection(name) as made:
            made.execute("CREATE TABLE people_role (id serial PRIMARY KEY, name text)")
            made.execute("CREATE TABLE people_rolehistory (pgh_id serial PRIMARY KEY, name text)")
            made.execute("CREATE SEQUENCE loose_numbers")
            made.execute("CREATE FUNCTION plain_f() RETURNS int LANGUAGE sql AS 'SELECT 1'")
            made.execute("CREATE TYPE pair AS (a int, b int)")
            notes = ensure_roles(made, owner=owner, runtime=runtime, database=name)
            assert any("now owns 5 objects" in note for note in notes), notes
            owners = made.execute(
                "SELECT DISTINCT pg_get_userbyid(c.relowner) FROM pg_class c"
                " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'"
                " UNION SELECT pg_get_userbyid(proowner) FROM pg_proc WHERE proname = 'plain_f'"
                " UNION SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"
            ).fetchall()
            assert owners == [(owner,)]

            def privileges(table: str) -> set[str]:
                return {
                    p
                    for p in PRIVILEGES
                    if made.execute("SELECT has_table_privilege(%s, %s, %s)", [runtime, table, p]).fetchone()
                    == (True,)
                }

            assert privileges("people_role") == {"SELECT", "INSERT", "UPDATE", "DELETE"}
            assert privileges("people_rolehistory") == {"SELECT", "INSERT"}
            # Run again: nothing left to adopt, the same grants.
            assert not any(
                "now owns" in note for note in ensure_roles(made, owner=owner, runtime=runtime, database=name)
            )
            assert privileges("people_rolehistory") == {"SELECT", "INSERT"}
    finally:
        with superuser_connection() as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_one_role_for_everything_is_warned_about() -> None:
    from crewcall.core.checks import one_database_role

    one_role = {"ENGINE": "django.db.backends.postgresql", "USER": "app", "CREWCALL_OWNER": None}
    assert [m.id for m in one_database_role(one_role)] == ["crewcall.W002"]
    assert one_database_role({**one_role, "CREWCALL_OWNER": {"USER": "crewcall_owner"}}) == []
    embedded = {"ENGINE": "crewcall.core.db", "CREWCALL_OWNER": {"OPTIONS": {"embedded_role": "owner"}}}
    assert one_database_role(embedded) == []
