"""Writes owned by the core app: housekeeping of idempotency keys."""

from __future__ import annotations

from datetime import datetime

from django.db import connection

from crewcall.core.transactions import service

PRUNE_BATCH = 5000


@service
def idempotency_keys_prune_batch(*, actor: object = None, older_than: datetime) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM core_idempotencykey WHERE id IN ("
            " SELECT id FROM core_idempotencykey WHERE created_at < %s ORDER BY created_at LIMIT %s)",
            [older_than, PRUNE_BATCH],
        )
        return cursor.rowcount


def idempotency_keys_prune(*, actor: object = None, older_than: datetime) -> int:
    """Forget keys older than `older_than`, a batch per transaction (short locks)."""
    total = 0
    while True:
        removed = idempotency_keys_prune_batch(actor=actor, older_than=older_than)
        total += removed
        if removed < PRUNE_BATCH:
            return total
