"""Integrity checks about users (docs/integrity.md), and their repairs, registered for
`crewcall integrity`."""

from __future__ import annotations

from typing import Any

from django.db import connection

from crewcall.core.integrity import Check, register, repair_of_row
from crewcall.core.transactions import service


@service
def repair_idempotency_key_forget(*, actor: Any = None, key_id: int) -> str:
    with connection.cursor() as cur:
        cur.execute("DELETE FROM core_idempotencykey WHERE id = %s", [key_id])
    return "forgot the key (its caller is gone, nobody can retry with it)"


register(
    Check(
        id="idempotency.keys_point_at_nothing",
        severity="warning",
        description="An idempotency key belongs to a user that no longer exists.",
        sql="""
        SELECT 'idempotency_key', k.id, 'caller ' || k.scope || ' does not exist', 'an existing user', 'none'
        FROM core_idempotencykey k
        WHERE k.scope ~ '^user:[0-9]+$'
          AND NOT EXISTS (SELECT 1 FROM accounts_user u WHERE u.id = substr(k.scope, 6)::bigint)
        """,
        repair=repair_of_row(repair_idempotency_key_forget, "key_id"),
    )
)
