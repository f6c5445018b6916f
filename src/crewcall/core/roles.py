"""The two database roles (docs/data-model.md, "Who may do what").

- The **owner** runs migrations and owns every object: tables, sequences, functions,
  triggers. It is no superuser; it may create databases (test databases, a restore target).
- The **runtime** role is what the web, the worker and every other command connect as. It
  owns nothing, so it can neither alter nor drop a table or a trigger; it gets SELECT,
  INSERT, UPDATE and DELETE on domain tables, only SELECT and INSERT on history tables and
  the change log, and only SELECT on the tables that record the schema and privileged
  calls. What it must do beyond that (erasure, pruning append-only rows, the change feed's
  epoch after a restore) it asks of `SECURITY DEFINER` functions the owner owns; each does
  one narrow job and records its call in core_privilegedcall.

Which credentials are the owner's: embedded mode creates both roles itself
(core/embedded.py); with DATABASE_URL (the runtime) they come from
CREWCALL_MIGRATION_DATABASE_URL. Without that, DATABASE_URL's user is both (one role, as
before; `crewcall check` warns).

`as_owner()` switches this thread's default connection to the owner for a block (the
migrate and restore commands, test database set-up); `grant_runtime()` applies the rule
above to every object after a migration, so a new table is never left without grants or
with too many.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from django.db import connections, transaction
from psycopg import sql

logger = logging.getLogger(__name__)

# The names embedded mode creates, and the ones `crewcall db-roles` suggests.
OWNER = "crewcall_owner"
RUNTIME = "crewcall_app"

# Append-only for the runtime role besides the history tables: the change log.
APPEND_ONLY = ("changes_change",)
# Read-only for the runtime role: what migrations and definer functions write.
READ_ONLY = ("django_migrations", "core_privilegedcall", "changes_feed", "people_linkkey")
# pghistory upserts its context row (who, from where) within the writing transaction.
INSERT_UPDATE = ("pghistory_context",)

_CREDENTIALS = ("USER", "PASSWORD", "HOST", "PORT")


def owner_settings(alias: str = "default") -> dict[str, Any] | None:
    """The settings that make a connection the owner's, or None with one role."""
    owner = connections[alias].settings_dict.get("CREWCALL_OWNER")
    return dict(owner) if owner else None


def _owner_dict(settings_dict: dict[str, Any], owner: dict[str, Any]) -> dict[str, Any]:
    options = {k: v for k, v in settings_dict["OPTIONS"].items() if k != "pool"}
    options.update(owner.get("OPTIONS", {}))
    swapped = {**settings_dict, "OPTIONS": options}
    swapped.update({k: owner[k] for k in _CREDENTIALS if k in owner})
    return swapped


def is_owner(alias: str = "default") -> bool:
    return bool(getattr(connections[alias], "_crewcall_runtime_settings", None))


def become_owner(alias: str = "default") -> bool:
    """Switch this thread's connection to the owner; False when already (or one role)."""
    conn = connections[alias]
    owner = owner_settings(alias)
    if owner is None or is_owner(alias):
        return False
    if conn.in_atomic_block:
        raise RuntimeError("cannot change database role inside a transaction")
    conn.close()
    runtime = conn.settings_dict
    conn.settings_dict = _owner_dict(runtime, owner)
    conn._crewcall_runtime_settings = runtime  # type: ignore[attr-defined]
    return True


def become_runtime(alias: str = "default") -> None:
    """Back to the runtime role. The database name may have changed meanwhile (a test
    database was created): it is kept."""
    conn = connections[alias]
    runtime = getattr(conn, "_crewcall_runtime_settings", None)
    if runtime is None:
        return
    if conn.in_atomic_block:
        raise RuntimeError("cannot change database role inside a transaction")
    conn.close()
    runtime["NAME"] = conn.settings_dict["NAME"]
    for where in ("HOST", "PORT"):  # the embedded server's socket, found meanwhile
        if not runtime.get(where) and runtime.get("ENGINE") == "crewcall.core.db":
            runtime[where] = conn.settings_dict.get(where, "")
    conn.settings_dict = runtime
    conn._crewcall_runtime_settings = None  # type: ignore[attr-defined]


@contextlib.contextmanager
def as_owner(alias: str = "default") -> Iterator[None]:
    """This thread's default connection is the owner's inside the block."""
    switched = become_owner(alias)
    try:
        yield
    finally:
        if switched:
            become_runtime(alias)


def plain_connection_params(conn: Any) -> dict[str, Any]:
    """psycopg.connect() keyword arguments for a connection of its own, like `conn`'s."""
    params = dict(conn.get_connection_params())
    for sync_only in ("cursor_factory", "context", "prepare_threshold", "pool"):
        params.pop(sync_only, None)
    return params


def owner_connection_params(alias: str = "default") -> dict[str, Any]:
    """psycopg.connect() keyword arguments for a connection of its own as the owner."""
    conn = connections[alias]
    owner = owner_settings(alias)
    if owner is None or is_owner(alias):
        return plain_connection_params(conn)
    runtime = conn.settings_dict
    conn.settings_dict = _owner_dict(runtime, owner)
    try:
        return plain_connection_params(conn)
    finally:
        conn.settings_dict = runtime


def owner_role(alias: str = "default") -> str | None:
    """The owner role's name, or None with one role."""
    owner = owner_settings(alias)
    if owner is None:
        return None
    return OWNER if "OPTIONS" in owner else str(owner.get("USER") or "")


def runtime_role(alias: str = "default") -> str:
    """The role the application connects as."""
    conn = connections[alias]
    settings_dict = getattr(conn, "_crewcall_runtime_settings", None) or conn.settings_dict
    if settings_dict.get("ENGINE") == "crewcall.core.db":
        return RUNTIME
    return str(settings_dict.get("USER") or "")


# ------------------------------------------------------------------------------ the grants

_TABLES = """
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm')
ORDER BY c.relname
"""

_DEFINERS = """
SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'public' AND p.prosecdef
ORDER BY 1
"""


def history_tables() -> list[str]:
    """The tables django-pghistory writes history rows into."""
    import pghistory.models
    from django.apps import apps

    return sorted(
        m._meta.db_table
        for m in apps.get_models()
        if issubclass(m, pghistory.models.Event) and not m._meta.proxy and m._meta.managed
    )


def runtime_privileges(table: str, history: set[str]) -> tuple[str, ...]:
    """What the runtime role may do to `table`: the rule in one place."""
    if table in READ_ONLY:
        return ("SELECT",)
    if table in history or table in APPEND_ONLY:
        return ("SELECT", "INSERT")
    if table in INSERT_UPDATE:
        return ("SELECT", "INSERT", "UPDATE")
    return ("SELECT", "INSERT", "UPDATE", "DELETE")


def grant_runtime(cursor: Any, runtime: str) -> int:
    """Give `runtime` exactly what the rule says on every table, sequence and definer
    function of schema public, nothing more (run as the owner, after every migration; one
    transaction, so a running app never sees a table without its grants). Returns the
    number of tables."""
    role = sql.Identifier(runtime)
    cursor.execute(_TABLES)
    tables = [row[0] for row in cursor.fetchall()]
    history = set(history_tables())
    cursor.execute(sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {}").format(role))
    for table in tables:
        grants = sql.SQL(", ").join(sql.SQL(p) for p in runtime_privileges(table, history))
        cursor.execute(sql.SQL("GRANT {} ON {} TO {}").format(grants, sql.Identifier(table), role))
    cursor.execute(sql.SQL("REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {}").format(role))
    cursor.execute(sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(role))
    cursor.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(role))
    # Nothing of its own: no tables in public, no temporary tables, no schemas.
    cursor.execute(sql.SQL("REVOKE CREATE ON SCHEMA public FROM PUBLIC, {}").format(role))
    cursor.execute("SELECT current_database()")
    database = sql.Identifier(cursor.fetchone()[0])
    cursor.execute(sql.SQL("REVOKE CREATE, TEMPORARY ON DATABASE {} FROM PUBLIC, {}").format(database, role))
    cursor.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(database, role))
    cursor.execute(_DEFINERS)
    for (function,) in cursor.fetchall():
        # regprocedure text is a quoted, schema-resolved signature: safe to splice.
        cursor.execute(sql.SQL("REVOKE EXECUTE ON FUNCTION {} FROM PUBLIC").format(sql.SQL(function)))
        cursor.execute(sql.SQL("GRANT EXECUTE ON FUNCTION {} TO {}").format(sql.SQL(function), role))
    return len(tables)


def grant_after_migrate(alias: str = "default") -> None:
    """After `migrate`: the runtime role's grants, when there are two roles."""
    if owner_settings(alias) is None:
        return
    runtime = runtime_role(alias)
    with as_owner(alias), transaction.atomic(using=alias), connections[alias].cursor() as cursor:
        cursor.execute("SELECT current_user")
        row = cursor.fetchone()
        if row and row[0] == runtime:
            return  # owner and runtime are one role: nothing to grant
        grant_runtime(cursor, runtime)


# ------------------------------------------------------------- creating roles (an admin's job)

_FOREIGN_OBJECTS = """
SELECT kind, name FROM (
    SELECT CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
                          WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'f' THEN 'FOREIGN TABLE'
                          WHEN 'c' THEN 'TYPE' ELSE 'TABLE' END AS kind,
           quote_ident(c.relname) AS name, c.relowner AS owner, c.oid AS oid, 'pg_class'::regclass AS cls
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S', 'c')
      -- a sequence owned by a column follows its table
      AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
               AND d.objid = c.oid AND d.deptype IN ('a', 'i')))
    UNION ALL
    SELECT CASE p.prokind WHEN 'p' THEN 'PROCEDURE' WHEN 'a' THEN 'AGGREGATE' ELSE 'FUNCTION' END,
           p.oid::regprocedure::text, p.proowner, p.oid, 'pg_proc'::regclass
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'
    UNION ALL
    SELECT 'TYPE', t.oid::regtype::text, t.typowner, t.oid, 'pg_type'::regclass
    FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd', 'r', 'm')
) o
WHERE o.owner <> %(owner)s::regrole
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = o.cls AND d.objid = o.oid AND d.deptype = 'e')
ORDER BY 1, 2
"""


def ensure_role(cur: Any, name: str, *, owner: bool) -> bool:
    """Create the role if missing, and give it exactly the attributes of its kind (no
    superuser, no create-role, no replication, no bypassing row security; the owner may
    create databases). True when it was created."""
    cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [name])
    created = cur.fetchone() is None
    attributes = "LOGIN NOSUPERUSER NOCREATEROLE NOREPLICATION NOBYPASSRLS " + (
        "CREATEDB" if owner else "NOCREATEDB"
    )
    verb = "CREATE" if created else "ALTER"
    cur.execute(sql.SQL(f"{verb} ROLE {{}} {attributes}").format(sql.Identifier(name)))
    return created


def ensure_roles(conn: Any, *, owner: str, runtime: str, database: str) -> list[str]:
    """As an administrator (a superuser, or a role with CREATEROLE that may grant the
    predefined roles): create both roles, make the owner own the database, its schema
    public and every object in it (a database made by one role before is adopted), and
    give the runtime role its grants. Idempotent. Returns notes for the operator."""
    notes: list[str] = []
    if owner == runtime:
        raise ValueError("the owner and the runtime role must be two roles")
    with conn.cursor() as cur:
        for name, is_owner_role in ((owner, True), (runtime, False)):
            if ensure_role(cur, name, owner=is_owner_role):
                notes.append(f"created role {name}")
        cur.execute(
            sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(database), sql.Identifier(owner))
        )
        cur.execute("SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'public'")
        row = cur.fetchone()
        if row and row[0] not in ("pg_database_owner", owner):
            cur.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(sql.Identifier(owner)))
        cur.execute(_FOREIGN_OBJECTS, {"owner": owner})
        adopted = cur.fetchall()
        for kind, name in adopted:
            cur.execute(
                sql.SQL("ALTER {} {} OWNER TO {}").format(sql.SQL(kind), sql.SQL(name), sql.Identifier(owner))
            )
        if adopted:
            notes.append(f"{owner} now owns {len(adopted)} objects made by other roles")
        grant_runtime(cur, runtime)
    return notes
