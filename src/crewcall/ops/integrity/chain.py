"""The audit trail's hash chains, verified (docs/integrity.md, "Tamper evidence";
sealing: ops/audit_seal.py).

The verifier trusts no function the owner could replace: it reads each row's canonical
text through pg_catalog's own functions and operators, schema-qualified
(`core.audit_chain.canonical_sql`), and recomputes every hash in Python. It streams each
table in chain order through a server-side cursor, so memory stays flat however long the
history is. What it reports, by table and key (pgh_id; `id` for pghistory_context):

- **altered**: a sealed row's content no longer has its hash, or a personal value neither
  matches its commitment nor is in its erased form;
- **deleted**: the chain breaks before a row (its predecessor is not the row it was
  sealed after);
- **inserted**: a sealed row the chain goes on without, or an unsealed row below sealed ones;
- with expected heads (an earlier `chain_heads()`): the chain no longer passes through the
  expected head, or its row is gone (a chain rewritten consistently is caught only so).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from crewcall.core.audit_chain import (
    CANONICAL_SETTINGS,
    CHAINED,
    CONTEXT_TABLE,
    ROW_HASH_BYTES,
    canonical_sql,
    chain_key,
    erased_value,
    personal_fields,
)
from crewcall.core.integrity import FINDINGS_CAP, Check, Finding, register

CHECK_ID = "audit.chain"
STREAM_BATCH = 5000


def _op(op: str) -> str:
    return f"OPERATOR(pg_catalog.{op})"


def _value_sql(name: str) -> str:
    column, _, key = name.partition(".")
    value = f"(x.j {_op('->')} '{column}')"
    if key:
        value = f"({value} {_op('->')} '{key}')"
    return f"{value}::text"


def verify_sql(table: str) -> str:
    """One table's rows in chain order: position, seal, canonical text, salts, commitments,
    personal values (jsonb text) and the object id their erased form names."""
    key = chain_key(table)
    values = ", ".join(_value_sql(name) for name in personal_fields(table))
    obj_id = "NULL::bigint" if table == CONTEXT_TABLE else "t.pgh_obj_id"
    canonical = canonical_sql(table, "x.j", f"x.j {_op('->')} 'pgh_commit'")
    return (
        f"SELECT t.pgh_xid::text, t.{key}::text, t.pgh_seal, {canonical},"  # noqa: S608 - registry names
        f" (x.j {_op('->')} 'pgh_salt')::text, (x.j {_op('->')} 'pgh_commit')::text,"
        f" ARRAY[{values}]::text[], {obj_id}"
        f" FROM public.{table} t, LATERAL (SELECT pg_catalog.to_jsonb(t) AS j) x"
        f" ORDER BY t.pgh_xid, t.{key}"
    )


def _position(table: str, xid: Any, key: Any) -> tuple[int, Any]:
    """Chain order in Python: pgh_xid, then the key (uuids compare as PostgreSQL does)."""
    return int(xid), uuid.UUID(str(key)) if table == CONTEXT_TABLE else int(key)


@dataclass
class _Chain:
    """What the walk along one table's chain has seen so far."""

    table: str
    expected: dict[str, Any] | None
    link: bytes = b""
    link_before: bytes = b""
    last_key: str | int | None = None
    unsealed: list[str | int] = field(default_factory=list)
    head_seen: bool = False
    rows: int = 0
    findings: list[Finding] = field(default_factory=list)

    def found(
        self, key: str | int, problem: str, expected: str | None = None, got: str | None = None
    ) -> None:
        self.findings.append(Finding(CHECK_ID, self.table, key, problem, expected, got))


def _personal(chain: _Chain, key: str | int, row: tuple[Any, ...]) -> None:
    salts = json.loads(row[4]) if row[4] not in (None, "null") else {}
    commits = json.loads(row[5]) if row[5] not in (None, "null") else {}
    for (name, erased), text in zip(personal_fields(chain.table).items(), row[6], strict=True):
        value = json.loads(text) if text is not None else None
        if value == erased_value(erased, row[7]):
            if name in salts:
                chain.found(key, f"{name}: erased, but its salt was kept", "no salt", "salt")
            continue
        if name in commits and name in salts:
            salted = bytes.fromhex(salts[name]) + text.encode()
            if hashlib.sha256(salted).hexdigest() == commits[name]:
                continue
        chain.found(key, f"altered: {name} does not match its commitment", "committed value", "other")


def _walk(chain: _Chain, row: tuple[Any, ...]) -> None:
    xid, seal, canonical = row[0], row[2], row[3]
    key: str | int = row[1] if chain.table == CONTEXT_TABLE else int(row[1])
    chain.rows += 1
    position = _position(chain.table, xid, key)
    expected = chain.expected
    if (
        expected
        and not chain.head_seen
        and position >= _position(chain.table, expected["pgh_xid"], expected["key"])
    ):
        chain.head_seen = True
        if position != _position(chain.table, expected["pgh_xid"], expected["key"]):
            chain.found(expected["key"], "expected head: its row is gone", expected["seal"][:16], None)
        elif seal is None or bytes(seal)[ROW_HASH_BYTES:].hex() != expected["seal"]:
            got = bytes(seal)[ROW_HASH_BYTES:].hex()[:16] if seal is not None else "unsealed"
            chain.found(
                key, "expected head: the chain no longer passes through it", expected["seal"][:16], got
            )
    if seal is None:
        chain.unsealed.append(key)
        return
    for inserted in chain.unsealed:
        chain.found(inserted, "inserted: an unsealed row below sealed rows (or its seal was removed)")
    chain.unsealed.clear()
    seal = bytes(seal)
    row_hash, link = seal[:ROW_HASH_BYTES], seal[ROW_HASH_BYTES:]
    computed = hashlib.sha256(canonical.encode()).digest()
    if computed != row_hash:
        chain.found(key, "altered: the row no longer has the hash it was sealed with", row_hash.hex()[:16],
                    computed.hex()[:16])  # fmt: skip
    _personal(chain, key, row)
    if link == chain.link and chain.last_key is not None:
        chain.found(key, "inserted: a copy of the sealed row before it")
        return
    if hashlib.sha256(chain.link + row_hash).digest() != link:
        if chain.last_key is not None and hashlib.sha256(chain.link_before + row_hash).digest() == link:
            chain.found(chain.last_key, "inserted: the chain goes on without this sealed row")
            chain.link = chain.link_before
        else:
            after = f"after {chain.last_key}" if chain.last_key is not None else "first row"
            chain.found(key, "deleted: the chain breaks before this row (a row deleted, or this row "
                        "rewritten with its hash)", after, "link broken")  # fmt: skip
    chain.link_before, chain.link, chain.last_key = chain.link, link, key


def _rows(table: str) -> Iterator[tuple[Any, ...]]:
    """The table's rows in chain order, streamed (a server-side cursor inside the caller's
    transaction: the integrity run's snapshot)."""
    raw = connection.connection
    with raw.cursor() as settings:
        for name, value in CANONICAL_SETTINGS:  # as the sealer had them (local to the snapshot)
            settings.execute("SELECT set_config(%s, %s, true)", [name, value])
    with raw.cursor(name=f"crewcall_chain_{table}") as cur:
        cur.itersize = STREAM_BATCH
        cur.execute(verify_sql(table))
        yield from cur


def verify_chain(table: str, expected: dict[str, Any] | None = None) -> tuple[int, list[Finding]]:
    """Walk one table's chain; (rows read, findings)."""
    chain = _Chain(table=table, expected=expected)
    for row in _rows(table):
        _walk(chain, row)
    if expected and not chain.head_seen:
        chain.found(expected["key"], "expected head: its row is gone", expected["seal"][:16], None)
    return chain.rows, chain.findings


def expected_heads(document: dict[str, Any]) -> dict[str, Any]:
    """The heads in a document: what chain_heads() returned, or anything holding it under
    `chain_heads` (a backup manifest, the hourly log line)."""
    while "tables" not in document and isinstance(document.get("chain_heads"), dict):
        document = document["chain_heads"]
    tables = document.get("tables")
    if not isinstance(tables, dict):
        raise ValueError("no chain heads in this document (expected what chain_heads() returns)")
    return {t: head for t, head in tables.items() if head}


def scan_chains(params: dict[str, Any]) -> tuple[int, list[Finding]]:
    """The integrity check: every chain, against the expected heads if given."""
    heads = params.get("expect_heads") or {}
    findings: list[Finding] = []
    total = 0
    for table in CHAINED:
        _rows_read, found = verify_chain(table, heads.get(table))
        total += len(found)
        findings.extend(found[: max(0, FINDINGS_CAP - len(findings))])
    for table in sorted(set(heads) - set(CHAINED)):
        total += 1
        findings.append(Finding(CHECK_ID, table, 0, "expected head of a table that is not chained"))
    return total, findings


register(
    Check(
        id=CHECK_ID,
        severity="error",
        description="Every history row still has the hash it was sealed with, in an unbroken "
        "chain per table (and the chains pass through the expected heads, if given).",
        scan=scan_chains,
        left_because="History is never rewritten by a repair: someone with the owner's or a "
        "superuser's powers changed it, and has to be found.",
    )
)
