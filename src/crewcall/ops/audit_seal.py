"""Sealing the audit trail into one hash chain per history table (docs/data-model.md,
"Tamper evidence"), and the chains' heads.

Rows are not chained when they are written (that would serialise every writing
transaction on a lock per table until it commits): they carry the writer's transaction id
(`pgh_xid`, a column default) and are sealed afterwards by the owner's definer function
`crewcall_audit_seal`, every minute and before every integrity run. It seals only rows of
transactions below the change feed's horizon (no transaction below it can still commit a
row), in (pgh_xid, key) order, so a row committed late can never land below a sealed one.

A row's seal is 64 bytes: its own hash, sha256 of its canonical text
(`core.audit_chain.canonical_sql`), then the chain hash, sha256(previous chain hash || own
hash). The personal values are not in the canonical text: commitments to them are,
sha256(salt || value) with a random salt per value; erasure destroys the salt with the value.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import connection

from crewcall.core.audit_chain import (
    CANONICAL_SETTINGS,
    CHAINED,
    CONTEXT_TABLE,
    ROW_HASH_BYTES,
    canonical_sql,
    chain_key,
    erased_jsonb_sql,
    personal_sql,
)
from crewcall.core.transactions import service

logger = logging.getLogger(__name__)

# Rows per table per call: one call stays a short transaction however far behind it is.
SEAL_BATCH = 10_000
# The algorithm, named in every heads document (a manifest read years later says how).
HEADS_FORMAT = "crewcall-audit-chain/sha256-v1"

COMMITMENTS = """
CREATE FUNCTION crewcall_audit_commitments(personal jsonb, erased jsonb, OUT salts jsonb, OUT commits jsonb)
LANGUAGE plpgsql VOLATILE SET search_path = public, pg_temp AS $$
-- A random salt and sha256(salt || value) for every personal value that is not already in
-- its erased form (an erased value needs no secret: the verifier checks its form).
DECLARE
    field text;
    value jsonb;
    salt bytea;
BEGIN
    salts := '{}'::jsonb;
    commits := '{}'::jsonb;
    FOR field, value IN SELECT p.key, p.value FROM jsonb_each(personal) p LOOP
        IF value IS NOT DISTINCT FROM erased->field THEN
            CONTINUE;
        END IF;
        salt := uuid_send(gen_random_uuid());
        salts := salts || jsonb_build_object(field, encode(salt, 'hex'));
        commits := commits || jsonb_build_object(
            field, encode(sha256(salt || convert_to(value::text, 'UTF8')), 'hex'));
    END LOOP;
END
$$;
"""


def _seal_block(table: str) -> str:
    key = chain_key(table)
    keys = "uuid_keys" if table == CONTEXT_TABLE else "int_keys"
    head = "head_uuid" if table == CONTEXT_TABLE else "head_int"
    canonical = canonical_sql(table, "s.j", "c.commits")
    commitments = (
        f"crewcall_audit_commitments({personal_sql(table, 's.j')}, {erased_jsonb_sql(table, 's.j')})"
    )
    return f"""
    -- {table}
    chain := NULL; head_xid := NULL; {head} := NULL;
    SELECT substring(h.pgh_seal FROM {ROW_HASH_BYTES + 1}), h.pgh_xid, h.{key} INTO chain, head_xid, {head}
    FROM {table} h WHERE h.pgh_seal IS NOT NULL ORDER BY h.pgh_xid DESC, h.{key} DESC LIMIT 1;
    {keys} := '{{}}'; seals := '{{}}'; salts := '{{}}'; commits := '{{}}';
    FOR r IN
        SELECT s.k, c.salts, c.commits, {canonical} AS canonical
        FROM (SELECT t.{key} AS k, t.pgh_xid AS x, to_jsonb(t) AS j FROM {table} t
              WHERE t.pgh_seal IS NULL AND t.pgh_xid < horizon
                AND (head_xid IS NULL OR (t.pgh_xid, t.{key}) > (head_xid, {head}))
              ORDER BY t.pgh_xid, t.{key} LIMIT max_rows FOR UPDATE) s,
             LATERAL {commitments} c
        ORDER BY s.x, s.k
    LOOP
        row_hash := sha256(convert_to(r.canonical, 'UTF8'));
        chain := sha256(coalesce(chain, ''::bytea) || row_hash);
        {keys} := {keys} || r.k;
        seals := seals || (row_hash || chain);
        salts := salts || r.salts;
        commits := commits || r.commits;
    END LOOP;
    UPDATE {table} t SET pgh_seal = u.seal, pgh_salt = u.salt, pgh_commit = u.cm
    FROM unnest({keys}, seals, salts, commits) u (k, seal, salt, cm) WHERE t.{key} = u.k;
    GET DIAGNOSTICS n = ROW_COUNT; affected := affected + n;"""  # noqa: S608 - names from the registry


def seal_function_sql() -> str:
    """`crewcall_audit_seal(max_rows)`: seal up to max_rows rows per chained table; returns
    how many it sealed. One caller at a time (an advisory lock)."""
    blocks = "\n".join(_seal_block(table) for table in CHAINED)
    settings = " ".join(f"SET {name} = {_q(value)}" for name, value in CANONICAL_SETTINGS)
    return f"""
CREATE FUNCTION crewcall_audit_seal(max_rows integer) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
{settings} AS $$
DECLARE
    horizon xid8;
    chain bytea;
    row_hash bytea;
    head_xid xid8;
    head_int bigint;
    head_uuid uuid;
    int_keys bigint[];
    uuid_keys uuid[];
    seals bytea[];
    salts jsonb[];
    commits jsonb[];
    r record;
    n bigint;
    affected bigint := 0;
BEGIN
    IF max_rows IS NULL OR max_rows < 1 THEN
        RAISE EXCEPTION 'max_rows must be at least 1';
    END IF;
    -- Two sealers would chain the same rows twice.
    PERFORM pg_advisory_xact_lock(hashtext('crewcall_audit_seal'));
    -- Every row of a lower transaction id is committed and visible now, or never will be.
    horizon := changes_horizon();
{blocks}

    -- Recorded when it sealed something: a call every minute that finds nothing new is
    -- no privileged write.
    IF affected > 0 THEN
        PERFORM crewcall_privileged_call_record('crewcall_audit_seal',
            jsonb_build_object('max_rows', max_rows), affected);
    END IF;
    RETURN affected;
END
$$;
REVOKE EXECUTE ON FUNCTION crewcall_audit_seal(integer) FROM PUBLIC;
"""


@service
def audit_seal_batch(*, actor: Any = None, max_rows: int = SEAL_BATCH) -> int:
    """Seal up to `max_rows` rows per chained table, in one transaction; how many."""
    with connection.cursor() as cur:
        cur.execute("SELECT crewcall_audit_seal(%s)", [max_rows])
        row = cur.fetchone()
    return int(row[0]) if row else 0


def audit_seal(*, max_rows: int = SEAL_BATCH, max_batches: int = 100) -> int:
    """Seal everything sealable, a batch per transaction, until a batch comes back short
    of a full table's worth (or `max_batches`); the total sealed."""
    total = 0
    for _ in range(max_batches):
        sealed = audit_seal_batch(max_rows=max_rows)
        total += sealed
        if sealed < max_rows:
            break
    return total


def _heads_sql() -> str:
    parts = [
        f"(SELECT {_q(table)}, h.pgh_xid::text, h.{chain_key(table)}::text,"  # noqa: S608 - registry names
        f" encode(substring(h.pgh_seal FROM {ROW_HASH_BYTES + 1}), 'hex')"
        f" FROM public.{table} h WHERE h.pgh_seal IS NOT NULL"
        f" ORDER BY h.pgh_xid DESC, h.{chain_key(table)} DESC LIMIT 1)"
        for table in CHAINED
    ]
    return "\nUNION ALL\n".join(parts)


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def chain_heads(conn_or_cursor: Any) -> dict[str, Any]:
    """The last sealed row of every chain: {"format", "tables": {table: {"pgh_xid", "key",
    "seal"} or None}}. `seal` is the chain hash (hex). Any DB-API connection or cursor
    (Django's or psycopg's): the backup manifest reads it on its own connection.
    An earlier document is what `crewcall integrity --expect-heads FILE` checks against."""
    owns = not hasattr(conn_or_cursor, "fetchall")  # a connection: a cursor of our own
    cur = conn_or_cursor.cursor() if owns else conn_or_cursor
    try:
        cur.execute(_heads_sql())
        rows = cur.fetchall()
    finally:
        if owns:
            cur.close()
    tables: dict[str, Any] = dict.fromkeys(CHAINED)
    for table, xid, key, seal in rows:
        tables[table] = {
            "pgh_xid": int(xid),
            "key": key if table == CONTEXT_TABLE else int(key),
            "seal": seal,
        }
    return {"format": HEADS_FORMAT, "tables": tables}


def log_chain_heads() -> dict[str, Any]:
    """One log line with every chain's head: a copy outside the database that a later
    `--expect-heads` can check against."""
    with connection.cursor() as cur:
        heads = chain_heads(cur)
    logger.info("audit chain heads", extra={"chain_heads": heads})
    return heads
